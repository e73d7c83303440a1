//! Extended Events captures read to XML: the `event_data` of
//! `sys.fn_xe_file_target_read_file` (or a ring buffer target), one
//! `<event name=".." timestamp="..">` per event with `<data name="..">` and
//! `<action name="..">` fields whose `<value>` holds the value; a bare
//! sequence of events or one root element around them.
//!
//! Counted as executions: `sql_batch_completed`, `rpc_completed`,
//! `sql_statement_completed`, `sp_statement_completed` and `module_end`;
//! `*_starting` and other events are skipped (counting both the start and
//! the end of one execution would count it twice). Statement text is the
//! `batch_text` or `statement` field, else the `sql_text` action.
//! `cpu_time` and `duration` are in microseconds.

use super::CaptureFormat;
use super::xml::{Dialect, Role};

pub(crate) const DIALECT: Dialect = Dialect {
    format: CaptureFormat::ExtendedEvents,
    record: "event",
    fields: &["data", "action"],
    value_child: Some("value"),
    timestamp_attr: Some("timestamp"),
    role,
    counts,
};

fn role(name: &str) -> Option<Role> {
    Some(match name {
        "batch_text" | "statement" => Role::Text { rank: 0 },
        "sql_text" => Role::Text { rank: 1 },
        "cpu_time" => Role::Cpu { micros: 1 },
        "duration" => Role::Duration { micros: 1 },
        _ => return None,
    })
}

fn counts(event: &str) -> bool {
    matches!(
        event,
        "sql_batch_completed"
            | "rpc_completed"
            | "sql_statement_completed"
            | "sp_statement_completed"
            | "module_end"
    )
}
