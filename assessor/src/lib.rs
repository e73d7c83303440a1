//! The assessor: how much of a SQL Server's T-SQL code and configuration
//! runs on Babelfish for Aurora PostgreSQL.
//!
//! Two ways in, one engine:
//! - offline, [`analyze`] reads exported scripts (`assessor analyze`);
//! - on the appliance (feature `appliance`), the job collects code from a live
//!   server over verified TLS and feeds the same engine.
//!
//! The offline path flows one way:
//! [`source`] (files, encodings) -> [`tsql`] (lexer, batches, parser ->
//! observations) -> [`rules`] (catalog: observation -> feature + status) ->
//! [`analyze`] (findings) -> [`report`] (HTML, JSON, CSV, SARIF).
//! A captured workload ([`workload`]) enters at [`analyze`]: its events are
//! normalised (literals replaced) and de-duplicated first, and its findings
//! carry executions and CPU.
//!
//! See ARCHITECTURE.md for the whole house and SECURITY.md for what each
//! module guarantees about customer data.

pub mod analyze;
pub mod bundle;
// The job config: plain data, parsed without the appliance's dependencies
// (so the offline build can fuzz it).
pub mod config;
pub mod display_safe;
pub mod findings;
pub mod parallel;
pub mod report;
pub mod rewrite;
pub mod rules;
pub mod source;
pub mod tsql;
// Captured workloads (Extended Events, Profiler XML), weighted by use.
pub mod workload;

// The appliance job. Behind a feature so the analyzer alone builds without
// the AWS SDK (fuzzing, quick checks).
#[cfg(feature = "appliance")]
pub mod appliance;
#[cfg(feature = "appliance")]
pub mod athena;
#[cfg(feature = "appliance")]
pub mod check;
#[cfg(feature = "appliance")]
pub mod collect;
// Landlock confinement of `assessor run`, applied by the binary to itself.
#[cfg(feature = "appliance")]
pub mod confinement;
#[cfg(feature = "appliance")]
pub mod deliver;
#[cfg(feature = "appliance")]
pub mod envelope;
#[cfg(feature = "appliance")]
pub mod estate;
#[cfg(feature = "appliance")]
pub mod pipeline;
#[cfg(feature = "appliance")]
pub mod secrets;
#[cfg(feature = "appliance")]
pub mod status_log;
#[cfg(feature = "appliance")]
pub mod store;
// Bundle files streamed to S3 as they render, never held whole.
#[cfg(feature = "appliance")]
pub mod streamed_body;
#[cfg(feature = "appliance")]
pub mod wipe;
