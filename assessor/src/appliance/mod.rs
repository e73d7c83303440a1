//! The appliance's boot-time steps around `assessor run`, run by systemd's
//! `assessor.service` (see `image-builder/files/overlay/.../assessor.service`):
//!
//! 1. [`user_data`] (as the unprivileged `assessor` user, the only one the
//!    firewall lets reach the instance metadata service): the job config from
//!    the instance's user data over IMDSv2, validated, written to the unit's
//!    runtime directory with inline CA bundles turned into files;
//! 2. [`firewall`] (root): the SQL Server addresses and ports the config
//!    names are added to the nftables set that is the only way out to them;
//! 3. [`session_volume`] (root): the session partition opened with dm-crypt
//!    under a per-boot random key, formatted and mounted for the assessor;
//! 4. `assessor run` itself (unprivileged, sandboxed);
//! 5. `finish` (root): the session volume closed (its key destroyed), then
//!    [`power`] off when the config asks for it.
//!
//! On the break-glass image only, sshd runs `authorized-keys` at each login
//! for the operator's keys from the user data ([`break_glass`]).
//!
//! Each step is a subcommand (`assessor appliance ...`), so the unit file
//! holds no logic.

pub mod break_glass;
pub mod firewall;
pub mod power;
pub mod session_volume;
pub mod user_data;

/// Runs a system tool with arguments (never through a shell); on failure,
/// what it said on stderr (or why it could not start).
fn run_tool<S: AsRef<std::ffi::OsStr>>(program: &str, args: &[S]) -> Result<(), String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(if said.is_empty() {
            format!("{program} exited with {}", out.status)
        } else {
            said
        })
    }
}
