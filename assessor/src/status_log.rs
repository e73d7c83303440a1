//! Status lines for the operator: the run's stages and how it ended, in the
//! stack's CloudWatch Logs group (`report.log_group`), one stream per run,
//! so `aws logs tail` follows a run without a console.
//!
//! Guarantees:
//! - A line can only be made from a [`StatusLine`], whose fields are stage
//!   and outcome words fixed in the code, numbers, and the run id this tool
//!   made. No target name, host, database, object, code, secret or error
//!   text fits in one (errors are in the run summary, in the bucket).
//! - Sending is best effort and bounded ([`SEND_TIMEOUT`]): a failure is a
//!   warning on the console and never fails or delays the run further.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::pipeline::RunSummary;

/// The longest a batch of lines may take to send.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// One status line (serialised as one JSON object).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StatusLine {
    Started {
        run_id: String,
        version: &'static str,
    },
    /// Whether Landlock confines the run (`status` is `full`, `partial` or
    /// `none`; the reason stays in the run summary).
    Confinement {
        enforced: bool,
        status: &'static str,
        landlock_abi: i32,
    },
    Stage {
        stage: &'static str,
        ok: bool,
        seconds: f64,
    },
    /// One target, by its position in the config (names stay out).
    Target {
        index: usize,
        ok: bool,
        databases: usize,
        modules: usize,
        skipped_steps: usize,
    },
    Finished {
        outcome: &'static str,
        exit_code: u8,
        seconds: f64,
        findings: usize,
        not_supported: usize,
        delivered: bool,
        wiped: bool,
    },
}

impl StatusLine {
    /// The line that says how the run is confined.
    pub fn of_confinement(outcome: &crate::confinement::Outcome) -> StatusLine {
        StatusLine::Confinement {
            enforced: outcome.enforced,
            status: outcome.status,
            landlock_abi: outcome.landlock_abi,
        }
    }

    /// The lines that tell how a run went, from its final summary.
    pub fn of_summary(summary: &RunSummary) -> Vec<StatusLine> {
        let stages = summary.stages.iter().map(|s| StatusLine::Stage {
            stage: s.stage,
            ok: s.ok,
            seconds: round(s.seconds),
        });
        let targets = summary
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| StatusLine::Target {
                index: i + 1,
                ok: t.ok,
                databases: t.databases,
                modules: t.modules,
                skipped_steps: t.skipped_steps,
            });
        let finished = StatusLine::Finished {
            outcome: summary.outcome,
            exit_code: summary.exit_code,
            seconds: round(summary.seconds),
            findings: summary.findings,
            not_supported: summary
                .findings_by_status
                .get("not_supported")
                .copied()
                .unwrap_or(0),
            delivered: summary.delivered_to.is_some(),
            wiped: summary.wiped,
        };
        stages.chain(targets).chain([finished]).collect()
    }

    fn to_json(&self) -> String {
        // Plain data into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn round(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}

/// Where status lines go: a stream named after the run in the job's group.
#[derive(Debug, Clone)]
pub struct StatusLog {
    client: aws_sdk_cloudwatchlogs::Client,
    group: String,
    stream: String,
}

impl StatusLog {
    pub fn new(client: aws_sdk_cloudwatchlogs::Client, group: &str, run_id: &str) -> StatusLog {
        StatusLog {
            client,
            group: group.to_owned(),
            stream: run_id.to_owned(),
        }
    }

    /// Sends `lines` (best effort, see the module docs).
    pub async fn send(&self, lines: &[StatusLine]) {
        match tokio::time::timeout(SEND_TIMEOUT, self.try_send(lines)).await {
            Ok(Ok(())) => {}
            Ok(Err(detail)) => {
                tracing::warn!(%detail, "status lines could not be sent to CloudWatch Logs")
            }
            Err(_) => tracing::warn!("sending status lines to CloudWatch Logs timed out"),
        }
    }

    async fn try_send(&self, lines: &[StatusLine]) -> Result<(), String> {
        use aws_sdk_cloudwatchlogs::error::DisplayErrorContext;
        use aws_sdk_cloudwatchlogs::types::InputLogEvent;
        // The stream exists after the first batch; creating it again fails
        // with ResourceAlreadyExists, which is fine.
        if let Err(e) = self
            .client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .send()
            .await
            && !e
                .as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception())
        {
            return Err(DisplayErrorContext(&e).to_string());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let events = lines
            .iter()
            .map(|line| {
                InputLogEvent::builder()
                    .timestamp(now)
                    .message(line.to_json())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .set_log_events(Some(events))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_json_object_each_with_their_event() {
        let line = StatusLine::Stage {
            stage: "collect",
            ok: true,
            seconds: 1.25,
        };
        assert_eq!(
            line.to_json(),
            r#"{"event":"stage","stage":"collect","ok":true,"seconds":1.25}"#
        );
        assert_eq!(round(1.26), 1.3);
    }
}
