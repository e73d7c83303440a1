//! An estate through one `assessor run`: 10, 50 and 200 targets, each a
//! full WideWorldImporters-sized server, against real peers on loopback (a
//! TDS peer over verified TLS, moto_server for Secrets Manager, KMS and S3,
//! the session's real PostgreSQL). Prints wall time, the assessor's peak
//! resident memory (VmHWM) and the cost per target, for the README.
//!
//! `cargo bench -p assessor --features testing-endpoint --bench estate`
//!
//! The targets share one TDS peer (a single Python process), so the wall
//! time includes its queueing; `job.max_concurrent_targets` bounds how many
//! the assessor collects at once. A plain binary: it prints the numbers.
// A measuring harness: a failure is reported with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testbed::appliance::{ApplianceOptions, LocalAppliance};
use testbed::catalog_fixture::CatalogFixture;

const CONCURRENCY: u16 = 4;

/// The job config of `app` with its one target repeated `n` times.
fn estate_config(base: &str, n: usize) -> String {
    let start = base.find("[[targets]]").expect("a target block");
    let end = base.find("[timeouts]").expect("a timeouts block");
    let block = &base[start..end];
    let targets: String = (1..=n)
        .map(|i| block.replacen("name = \"sql-01\"", &format!("name = \"sql-{i:03}\""), 1))
        .collect();
    let head = base[..start]
        .replace(
            "max_concurrent_targets = 2",
            &format!("max_concurrent_targets = {CONCURRENCY}"),
        )
        .replace("time_limit_minutes = 10", "time_limit_minutes = 120");
    format!("{head}{targets}{}", &base[end..])
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fixture = CatalogFixture::wide_world_importers().unwrap();
    let modules = fixture.module_count();
    let app: LocalAppliance = runtime
        .block_on(LocalAppliance::start(ApplianceOptions::healthy(
            fixture,
            "bench-password",
        )))
        .unwrap();
    let base = std::fs::read_to_string(&app.config_path).unwrap();
    println!("estate bench: {modules} modules per target, max_concurrent_targets = {CONCURRENCY}");
    println!("| targets | wall time | per target | assessor peak RSS | outcome |");
    println!("|---|---|---|---|---|");
    for n in [10, 50, 200] {
        let config = app.scratch().join(format!("estate-{n}.toml"));
        std::fs::write(&config, estate_config(&base, n)).unwrap();
        let (wall, peak, out) = app
            .run_measured(
                std::path::Path::new(env!("CARGO_BIN_EXE_assessor")),
                &config,
            )
            .unwrap();
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let ok = summary["targets"]
            .as_array()
            .map_or(0, |t| t.iter().filter(|t| t["ok"] == true).count());
        println!(
            "| {n} | {:.1} s | {:.2} s | {:.0} MiB | {} ({ok}/{n} targets ok) |",
            wall.as_secs_f64(),
            wall.as_secs_f64() / n as f64,
            peak as f64 / 1024.0,
            summary["outcome"].as_str().unwrap_or("?"),
        );
    }
}
