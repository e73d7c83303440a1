//! Hostile inputs end in bounded time with a finding or a clear error,
//! never a panic, a hang or a stack overflow.

use assessor::source::decode;
use assessor::tsql::observation::ObservationKind;
use assessor::tsql::parse_script;

/// Runs `f` on a thread with a small stack (1 MiB, half the default test
/// thread's), so a recursion bug shows up as a crash here.
#[allow(clippy::unwrap_used)] // a test helper: a failure here is a test failure
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn unparsed(src: &str) -> Vec<String> {
    parse_script(src)
        .observations
        .into_iter()
        .filter(|o| o.kind == ObservationKind::Unparsed)
        .map(|o| o.name)
        .collect()
}

#[test]
fn hundred_thousand_nested_parentheses() {
    let names = on_small_stack(|| {
        let src = format!(
            "SELECT {}1{}\nGO\nSELECT 2",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let script = parse_script(&src);
        // The second batch still parses.
        assert!(
            script
                .observations
                .iter()
                .any(|o| o.name == "SELECT" && o.offset > 200_000)
        );
        unparsed(&src)
    });
    assert_eq!(names, vec!["NESTING TOO DEEP"]);
}

#[test]
fn deeply_nested_blocks_and_ifs() {
    let names = on_small_stack(|| {
        let mut src = "BEGIN ".repeat(50_000);
        src.push_str(&"IF 1=1 ".repeat(50_000));
        src.push_str("SELECT 1");
        unparsed(&src)
    });
    assert_eq!(names, vec!["NESTING TOO DEEP"]);
}

#[test]
fn deeply_nested_dynamic_sql() {
    // EXEC('EXEC(''EXEC(''''...'''')'')') nested 12 deep.
    let mut inner = "SELECT 1".to_owned();
    for _ in 0..12 {
        inner = format!("EXEC('{}')", inner.replace('\'', "''"));
    }
    let script = on_small_stack(move || parse_script(&inner));
    let execs = script
        .observations
        .iter()
        .filter(|o| o.name == "EXECUTE STRING")
        .count();
    assert!((2..=12).contains(&execs), "{execs}");
}

#[test]
fn fifty_megabyte_single_line() {
    let mut src = String::with_capacity(50 << 20);
    src.push_str("SELECT ");
    while src.len() < 50 << 20 {
        src.push_str("a+ISNULL(b,'x''y')+");
    }
    src.push('1');
    // Time is measured by `benches/analyze.rs`, not here: this proves the
    // parser neither recurses per token nor gives up on a huge line.
    let script = parse_script(&src);
    assert!(script.observations.iter().any(|o| o.name == "ISNULL"));
    assert!(
        script
            .observations
            .iter()
            .all(|o| o.kind != ObservationKind::Unparsed)
    );
}

#[test]
fn unterminated_string_and_comment() {
    assert_eq!(
        unparsed("SELECT 1\nSELECT 'abc\nGO\nSELECT 2"),
        vec!["UNTERMINATED STRING OR COMMENT"]
    );
    assert_eq!(
        unparsed("SELECT 1 /* never closed\nGO\n"),
        vec!["UNTERMINATED STRING OR COMMENT"]
    );
    assert_eq!(
        unparsed("PRINT [abc"),
        vec!["UNTERMINATED STRING OR COMMENT"]
    );
}

#[test]
fn invalid_utf16_parses_lossily() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "SELECT 1; SELECT ".encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    bytes.extend_from_slice(&[0x00, 0xDC, 0x00, 0xD8]); // reversed surrogates
    let d = decode(&bytes).unwrap();
    assert!(d.warning.is_some());
    let script = parse_script(&d.text);
    assert!(
        script
            .observations
            .iter()
            .filter(|o| o.name == "SELECT")
            .count()
            == 2
    );
}

#[test]
fn binary_file_named_sql_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.sql");
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 7) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let raw = std::fs::read(&path).unwrap();
    let err = decode(&raw).unwrap_err().to_string();
    assert!(err.contains("binary"), "{err}");
}

#[test]
fn garbage_never_panics() {
    // A deterministic pseudo-random mix of T-SQL fragments and bytes.
    let pieces = [
        "SELECT",
        "(",
        ")",
        "'",
        "N'",
        "[",
        "]",
        "\"",
        "/*",
        "*/",
        "--",
        "\n",
        "GO",
        "BEGIN",
        "END",
        "CASE",
        "IF",
        "ELSE",
        "EXEC",
        "WITH",
        "AS",
        ",",
        ";",
        "@x",
        "@@y",
        "$(",
        "::",
        ".",
        "0x",
        "1e",
        "CREATE",
        "PROCEDURE",
        "TABLE",
        "ON",
        "SET",
        "é",
        ":r",
        "!!",
        "$",
        "#t",
    ];
    let mut seed = 12345u64;
    for _ in 0..300 {
        let mut src = String::new();
        for _ in 0..200 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            src.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            if seed & 1 == 0 {
                src.push(' ');
            }
        }
        let script = parse_script(&src);
        for o in &script.observations {
            assert!(o.offset + o.len <= src.len());
            assert!(src.is_char_boundary(o.offset) && src.is_char_boundary(o.offset + o.len));
        }
        assert!(
            script
                .observations
                .windows(2)
                .all(|w| w[0].offset <= w[1].offset)
        );
        assert!(script.objects.windows(2).all(|w| w[0].end <= w[1].start));
    }
}
