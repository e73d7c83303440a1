//! Logging: human-readable on a terminal, JSON lines otherwise (the appliance
//! ships its journal to CloudWatch). Filter with `RUST_LOG`.
//!
//! Log lines never carry secrets or customer code: the types that hold them
//! do not implement `Display`, and their `Debug` is redacted.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.with_target(false).init();
    } else {
        builder.json().with_current_span(false).init();
    }
}
