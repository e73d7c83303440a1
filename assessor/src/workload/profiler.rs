//! SQL Server Profiler traces saved as XML (File > Save As > Trace XML
//! File): `<TraceData><Events><Event name="..">` with one
//! `<Column name="..">value</Column>` per trace column.
//!
//! Counted as executions: `SQL:BatchCompleted`, `RPC:Completed`,
//! `SP:StmtCompleted` and `SQL:StmtCompleted`; other events (the
//! `*Starting` ones, logins, ...) are skipped. Statement text is the
//! `TextData` column; `CPU` is in milliseconds, `Duration` in microseconds
//! (as Profiler saves it since SQL Server 2005); `StartTime` dates the event.

use super::CaptureFormat;
use super::xml::{Dialect, Role};

pub(crate) const DIALECT: Dialect = Dialect {
    format: CaptureFormat::Profiler,
    record: "Event",
    fields: &["Column"],
    value_child: None,
    timestamp_attr: None,
    role,
    counts,
};

fn role(name: &str) -> Option<Role> {
    Some(match name {
        "TextData" => Role::Text { rank: 0 },
        "CPU" => Role::Cpu { micros: 1000 },
        "Duration" => Role::Duration { micros: 1 },
        "StartTime" => Role::Timestamp,
        _ => return None,
    })
}

fn counts(event: &str) -> bool {
    matches!(
        event,
        "SQL:BatchCompleted" | "RPC:Completed" | "SP:StmtCompleted" | "SQL:StmtCompleted"
    )
}
