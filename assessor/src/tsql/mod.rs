//! T-SQL: lexer, batch splitter (sqlcmd-aware) and error-tolerant parser.
//!
//! Guarantees: linear time in the input, never panics, never loops; code it
//! cannot parse becomes an [`observation::ObservationKind::Unparsed`]
//! observation and parsing resumes at the next statement.

pub mod observation;
