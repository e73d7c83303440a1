//! Throughput of the offline analysis (decode, parse, classify, findings),
//! files spread over the machine's cores as `assessor analyze` does, over
//! the vendored sample corpora (`tests/corpora/tsql`), the paths given, or
//! `ASSESSOR_BENCH_CORPUS` (a bigger corpus of your own).
//!
//! `cargo bench -p assessor --no-default-features --bench analyze [-- PATH...]`
//!
//! Prints the catalog load time, for the best of several runs seconds, MB/s
//! and lines/s, and the process's peak resident set. A plain binary (no
//! criterion): the numbers are for the report in docs/compass-comparison.md,
//! not a statistical regression gate.

use std::path::PathBuf;
use std::time::Instant;

use assessor::analyze::Analyzer;
use assessor::rules::Catalog;

const RUNS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; everything else is a path.
    let mut paths: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if paths.is_empty() {
        paths.push(match std::env::var_os("ASSESSOR_BENCH_CORPUS") {
            Some(dir) => PathBuf::from(dir),
            // cargo sets the package's folder at run time too, which stays
            // right when the binary was built in another clone.
            None => std::env::var_os("CARGO_MANIFEST_DIR")
                .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
                .join("../tests/corpora/tsql"),
        });
    }
    let start = Instant::now();
    let catalog = Catalog::shipped()?;
    let load = start.elapsed();
    println!(
        "catalog: {} features, {} groups, loaded in {:.1} ms",
        catalog.features().len(),
        catalog.groups().len(),
        load.as_secs_f64() * 1000.0
    );
    let analyzer = Analyzer::new(&catalog, catalog.latest());
    let mut best = f64::MAX;
    let mut last = None;
    for run in 1..=RUNS {
        // One analysis alive at a time, so the peak below is one run's.
        drop(last.take());
        let start = Instant::now();
        let analysis = analyzer.analyze_paths(&paths, &mut |_| {})?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "run {run}: {:.3} s ({} files, {} findings)",
            secs,
            analysis.files_analyzed,
            analysis.findings.len()
        );
        best = best.min(secs);
        last = Some(analysis);
    }
    if let Some(a) = last {
        let mb = a.bytes_analyzed as f64 / 1_048_576.0;
        println!(
            "best of {RUNS}: {best:.3} s for {mb:.1} MB, {} lines: {:.1} MB/s, {:.0} lines/s",
            a.lines_analyzed,
            mb / best,
            a.lines_analyzed as f64 / best
        );
    }
    match testbed::appliance::high_water_kib(std::process::id()) {
        Some(kib) => println!(
            "peak resident set: {:.1} MB (the catalog and one run's analysis)",
            kib as f64 * 1024.0 / 1e6
        ),
        None => println!("peak resident set: not available on this platform"),
    }
    Ok(())
}
