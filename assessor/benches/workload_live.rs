//! The live workload through one `assessor run`: a server whose Query Store
//! and plan cache hold 10,000 and then 100,000 distinct statements (half
//! each), collected over verified TLS from a TDS peer, normalised, sealed
//! into the session's real PostgreSQL, read back, analysed, rendered in the
//! four formats and delivered to moto_server's S3. Prints wall time, time
//! per 10k statements and the assessor's peak resident memory (VmHWM), for
//! the README.
//!
//! `cargo bench -p assessor --features testing-endpoint --bench workload_live`
//!
//! Target (issue 20): 100,000 statements with a peak RSS of at most 200 MB.
//! The peer is one Python process answering from a JSON fixture, so the
//! wall time includes its serving; the RSS is the assessor's alone. A plain
//! binary: it prints the numbers.
// A measuring harness: a failure is reported with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testbed::appliance::{ApplianceOptions, LocalAppliance};
use testbed::catalog_fixture::{CatalogFixture, FixtureDatabase};
use testbed::workload_fixture::FixtureWorkload;

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!(
        "| distinct statements | wall time | per 10k statements | assessor peak RSS | stages | findings | outcome |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in [10_000u64, 100_000] {
        let mut fixture = CatalogFixture::with_databases(vec![FixtureDatabase {
            name: "Sales".into(),
            ..FixtureDatabase::default()
        }])
        .with_major_version(16);
        fixture.workload = Some(FixtureWorkload::bench(n));
        let app: LocalAppliance = runtime
            .block_on(LocalAppliance::start(ApplianceOptions::healthy(
                fixture,
                "bench-password",
            )))
            .unwrap();
        let (wall, peak, out) = app
            .run_measured(
                std::path::Path::new(env!("CARGO_BIN_EXE_assessor")),
                &app.config_path,
            )
            .unwrap();
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let stages: Vec<String> = summary["stages"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| {
                        format!(
                            "{} {:.1} s",
                            s["stage"].as_str().unwrap_or("?"),
                            s["seconds"].as_f64().unwrap_or(0.0)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "| {n} | {:.1} s | {:.2} s | {:.0} MiB | {} | {} | {} |",
            wall.as_secs_f64(),
            wall.as_secs_f64() * 10_000.0 / n as f64,
            peak as f64 / 1024.0,
            stages.join(", "),
            summary["findings"],
            summary["outcome"].as_str().unwrap_or("?"),
        );
    }
}
