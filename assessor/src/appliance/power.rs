//! Powering the appliance off once the job has ended, when the config asks
//! for it (`job.power_off_when_done`; the stack's AutoTerminate). With the
//! instance's shutdown behaviour set to terminate, EC2 then deletes the
//! instance and its volumes, so the role never needs ec2:TerminateInstances.

use crate::config::JobConfig;

#[derive(Debug, thiserror::Error)]
#[error("cannot ask systemd to power off: {detail}")]
pub struct PowerError {
    detail: String,
}

/// Asks systemd to power off (without waiting) when the config says so;
/// returns whether it did.
pub fn power_off_if_configured(config: &JobConfig) -> Result<bool, PowerError> {
    if !config.job.power_off_when_done {
        return Ok(false);
    }
    super::run_tool("systemctl", &["--no-block", "poweroff"])
        .map_err(|detail| PowerError { detail })?;
    Ok(true)
}
