//! The sample corpora (pubs, northwind, AdventureWorks, Wide World
//! Importers) parse with few `Unparsed` observations, and the Compass
//! reference constructs are observed at the right lines.
//!
//! Throughput is printed (run with `--release --nocapture` to measure), never
//! asserted.

use assessor::source::{LineIndex, decode, discover};
use assessor::tsql::observation::ObservationKind;
use assessor::tsql::parse_script;
use std::path::PathBuf;
use std::time::Instant;

fn corpus_root() -> PathBuf {
    std::env::var_os("TSQL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/corpora/tsql"))
}

#[test]
fn corpora_parse_with_few_unparsed() {
    let root = corpus_root();
    assert!(
        root.is_dir(),
        "corpus not found at {}; set TSQL_CORPUS",
        root.display()
    );
    let files = discover(&[root]).unwrap();
    assert!(files.len() > 400, "{} files", files.len());
    let mut bytes = 0usize;
    let mut unparsed = 0usize;
    let mut observations = 0usize;
    let mut objects = 0usize;
    let mut elapsed = std::time::Duration::ZERO;
    for f in &files {
        let raw = std::fs::read(&f.path).unwrap();
        let decoded = decode(&raw).unwrap();
        bytes += raw.len();
        let started = Instant::now();
        let script = parse_script(&decoded.text);
        elapsed += started.elapsed();
        observations += script.observations.len();
        objects += script.objects.len();
        let idx = LineIndex::new(&decoded.text);
        for o in &script.observations {
            if o.kind == ObservationKind::Unparsed {
                unparsed += 1;
                let (line, col) = idx.position(&decoded.text, o.offset);
                if std::env::var_os("SHOW_UNPARSED").is_some() {
                    let snippet: String = decoded.text[o.offset..].chars().take(60).collect();
                    println!(
                        "{}:{line}:{col}: {} [{}] {snippet:?}",
                        f.relative, o.name, o.statement
                    );
                }
            }
        }
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "{} files, {mb:.1} MB, {observations} observations, {objects} objects, {unparsed} unparsed, \
         parse {:.3} s = {:.1} MB/s",
        files.len(),
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64().max(1e-9)
    );
    assert!(objects > 300, "{objects} objects");
    assert!(unparsed <= 10, "{unparsed} unparsed observations");
}
