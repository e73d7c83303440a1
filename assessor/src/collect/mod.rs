//! The collector: reads what an assessment needs from a live SQL Server,
//! over verified TLS, with a least-privilege login, changing nothing.
//!
//! - [`tls`]: the transport-security policy (encryption always required;
//!   certificate and host-name checks unless explicitly and loudly waived).
//! - [`connect`]: connecting with timeouts, bounded retries on transient
//!   faults only, and errors that say which check failed.
//! - [`queries`]: every statement the collector may send (read-only
//!   `SELECT`s on catalog views) and the allow-list that proves it;
//!   [`sql`] quotes untrusted names.
//! - [`catalog`]: the collection that runs them, producing an
//!   [`inventory::Inventory`].
//! - [`workload`]: the opt-in workload sources (Query Store, plan cache),
//!   every statement normalised before it is kept.
//! - [`permissions`]: what the login may read, asked without collecting
//!   (the preflight behind `assessor check`).

pub mod catalog;
pub mod connect;
pub mod inventory;
pub mod permissions;
pub mod queries;
pub mod sql;
pub mod tls;
pub mod tls_probe;
pub mod workload;
