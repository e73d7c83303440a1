//! The CLI's conventions, on the real binary: the closing summary of
//! `analyze`, `--quiet` and `--verbose`, progress only on a terminal,
//! `NO_COLOR`, shell completions, the man page, help wrapped to the
//! terminal, and the SARIF log's links.
//!
//! Terminal cases run the binary under a pseudo-terminal made by util-linux
//! `script` (Debian's essential `bsdutils`), since the crate denies the
//! `unsafe` a direct `openpty` would need.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use assessor::report::FeatureCatalog;
use assessor::rules::Catalog;

const BIN: &str = env!("CARGO_BIN_EXE_assessor");

/// A procedure whose name and code must never reach the closing summary.
const SCRIPT: &str = "CREATE PROCEDURE dbo.canary_proc_name AS\nBEGIN\n  \
    MERGE canary_table USING s ON canary_table.id = s.id WHEN MATCHED THEN DELETE;\nEND\nGO\n\
    SET DATEFORMAT mdy\nGO\nSELECT STR(1.5)\n";

fn run(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// `cmd` (a shell command line) under a pseudo-terminal: what the terminal
/// showed, stdout and stderr together.
fn run_in_pty(cmd: &str, cwd: &Path, env: &[(&str, &str)]) -> String {
    let out = Command::new("script")
        .args(["-qefc", cmd, "/dev/null"])
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .output()
        .expect("util-linux `script` runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn corpus(dir: &Path, files: usize) {
    std::fs::create_dir_all(dir.join("in")).unwrap();
    for i in 0..files {
        std::fs::write(dir.join(format!("in/script_{i:03}.sql")), SCRIPT).unwrap();
    }
}

// ------------------------------------------------------- closing summary

#[test]
fn analyze_ends_with_one_summary_paragraph_without_customer_names() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 1);
    let out = run(&["analyze", "in", "--out", "rep"], tmp.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("assessor: Summary: "), "{err}");
    for words in [
        "0 of 2 objects (0.0 %) ready for babelfish-6.1",
        "2 blockers (not_supported findings) in 2 distinct features",
        "estimated effort ",
        " hours (",
        "person-days",
        "written to rep.",
    ] {
        assert!(last.contains(words), "{words:?} not in {last:?}");
    }
    for secret in ["canary", "MERGE", "DATEFORMAT", "script_000", "dbo."] {
        assert!(!last.contains(secret), "{secret:?} leaked into {last:?}");
    }

    let out = run(&["analyze", "in", "--output", "-"], tmp.path(), &[]);
    let last = stderr(&out).lines().last().unwrap().to_string();
    assert!(
        last.contains("report (json) written to standard output."),
        "{last}"
    );
}

// ------------------------------------------------------ quiet and verbose

#[test]
fn quiet_prints_only_errors_and_keeps_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 1);
    std::fs::write(tmp.path().join("in/binary.sql"), b"\0\x01\x02\xff\0\0").unwrap();

    let out = run(
        &["analyze", "--quiet", "in", "--out", "rep"],
        tmp.path(),
        &[],
    );
    assert!(out.status.success());
    assert_eq!(stderr(&out), "", "--quiet printed notes");
    assert!(tmp.path().join("rep/report.json").is_file());

    // The same run without --quiet says things (skipped file, summary).
    let out = run(&["analyze", "in", "--out", "rep"], tmp.path(), &[]);
    assert!(stderr(&out).contains("skipped"), "{}", stderr(&out));

    // A --fail-on failure still explains itself and still exits 3.
    let out = run(
        &[
            "-q",
            "analyze",
            "in",
            "--out",
            "rep",
            "--fail-on",
            "not_supported",
        ],
        tmp.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("--fail-on"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Summary"));

    // Usage errors are printed and exit 2, after the subcommand too.
    let out = run(&["analyze", "missing-dir", "-q"], tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing-dir"), "{}", stderr(&out));
    let out = run(
        &["analyze", "in", "--target", "nope", "--quiet"],
        tmp.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown target"));

    // --quiet and --verbose together are a usage error.
    let out = run(&["-q", "-v", "analyze", "in"], tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verbose_adds_a_line_per_file_and_debug_logs_over_rust_log() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 3);
    let out = run(
        &["analyze", "in", "--out", "rep", "--verbose"],
        tmp.path(),
        &[("RUST_LOG", "error")],
    );
    assert!(out.status.success());
    let err = stderr(&out);
    for i in 0..3 {
        assert!(
            err.contains(&format!("assessor: [{}/3] script_00{i}.sql", i + 1)),
            "{err}"
        );
    }
    assert!(err.contains("\"level\":\"DEBUG\""), "{err}");
    assert!(err.contains("Summary: "), "{err}");

    let out = run(&["analyze", "in", "--out", "rep"], tmp.path(), &[]);
    let err = stderr(&out);
    assert!(!err.contains("[1/3]") && !err.contains("DEBUG"), "{err}");
}

#[test]
fn quiet_and_verbose_are_global_to_every_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let help = run(&["--help"], tmp.path(), &[]);
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(
        help.contains("--quiet") && help.contains("--verbose"),
        "{help}"
    );
    for sub in ["analyze", "completions", "man"] {
        let out = run(&[sub, "--help"], tmp.path(), &[]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            text.contains("--quiet") && text.contains("--verbose"),
            "{sub}: {text}"
        );
    }
    // `man` under --quiet still writes its output.
    let out = run(&["man", "--quiet"], tmp.path(), &[]);
    assert!(out.status.success() && !out.stdout.is_empty());
}

// ------------------------------------------------------------- progress

#[test]
fn no_progress_when_stderr_is_not_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    // Over the threshold (50 files) that shows progress on a terminal.
    corpus(tmp.path(), 60);
    let out = run(&["analyze", "in", "--out", "rep"], tmp.path(), &[]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(!err.contains('\r') && !err.contains("analysing"), "{err}");
}

#[test]
fn progress_on_a_terminal_unless_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 60);
    let cmd = format!("{BIN} analyze in --out rep");
    let screen = run_in_pty(&cmd, tmp.path(), &[]);
    assert!(screen.contains("\ranalysing: 60/60 files"), "{screen:?}");
    let screen = run_in_pty(&format!("{cmd} --quiet"), tmp.path(), &[]);
    assert!(!screen.contains("analysing"), "{screen:?}");
}

// ---------------------------------------------------------------- colour

#[test]
fn no_colour_with_no_color_or_when_stderr_is_not_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    // A terminal with nothing against colour: clap colours help and errors.
    let coloured = run_in_pty(&format!("{BIN} --help"), tmp.path(), &[]);
    assert!(coloured.contains('\x1b'), "expected colour: {coloured:?}");
    let coloured = run_in_pty(&format!("{BIN} analyze --no-such-flag"), tmp.path(), &[]);
    assert!(coloured.contains('\x1b'), "expected colour: {coloured:?}");

    for cmd in [
        format!("{BIN} --help"),
        format!("{BIN} analyze --no-such-flag"),
    ] {
        let plain = run_in_pty(&cmd, tmp.path(), &[("NO_COLOR", "1")]);
        assert!(!plain.contains('\x1b'), "NO_COLOR=1: {plain:?}");
        assert!(plain.contains("analyze"), "{plain:?}");
    }
    // Help on a terminal, stderr redirected: no colour either.
    let plain = run_in_pty(&format!("{BIN} --help 2>/dev/null"), tmp.path(), &[]);
    assert!(
        !plain.contains('\x1b') && plain.contains("analyze"),
        "{plain:?}"
    );

    // Without a terminal at all, no escape byte anywhere.
    let out = run(&["analyze", "--no-such-flag"], tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stderr.contains(&0x1b));
    let out = run(&["--help"], tmp.path(), &[]);
    assert!(!out.stdout.contains(&0x1b));
}

// ------------------------------------------------ completions, man, help

#[test]
fn completions_name_the_subcommands_in_every_shell() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish", "BASH"] {
        let out = run(&["completions", shell], tmp.path(), &[]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        for word in ["assessor", "analyze", "completions", "man", "fail-on"] {
            assert!(text.contains(word), "{shell}: no {word}");
        }
    }
    let bash = run(&["completions", "bash"], tmp.path(), &[]);
    let bash = String::from_utf8_lossy(&bash.stdout).into_owned();
    assert!(bash.contains("complete -F _assessor"), "{bash}");
    let out = run(&["completions", "tcsh"], tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_prints_a_roff_page_listing_the_subcommands() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&["man"], tmp.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.lines().any(|l| l.starts_with(".TH assessor 1")),
        "{page}"
    );
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in ["analyze", "completions", "man", "help"] {
        assert!(
            page.contains(&format!("assessor\\-{sub}")),
            "no {sub}: {page}"
        );
    }
    assert!(page.contains("\\-\\-quiet"), "{page}");
}

#[test]
fn help_is_wrapped_to_the_terminal_width() {
    let tmp = tempfile::tempdir().unwrap();
    let width = |columns: &str| {
        let out = run(&["analyze", "--help"], tmp.path(), &[("COLUMNS", columns)]);
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap()
    };
    assert!(width("60") <= 60);
    assert!(width("80") <= 80);
    assert!(width("80") > 60, "80 columns used as 60");
}

// ---------------------------------------------------------------- SARIF

#[test]
fn sarif_names_the_tool_page_and_each_rules_documentation() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 1);
    let out = run(
        &["analyze", "in", "--format", "sarif", "--output", "-"],
        tmp.path(),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let driver = &log["runs"][0]["tool"]["driver"];
    let info = driver["informationUri"].as_str().expect("informationUri");
    assert!(info.starts_with("https://"), "{info}");
    assert_eq!(info, assessor::report::sarif::INFORMATION_URI);

    let catalog = Catalog::shipped().unwrap();
    let rules = driver["rules"].as_array().unwrap();
    assert!(rules.len() >= 3, "{rules:?}");
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        let docs = catalog.feature_text(id).and_then(|t| t.docs_url);
        assert_eq!(rule["helpUri"].as_str(), docs, "rule {id}");
        assert!(docs.is_some(), "rule {id} has no documentation link");
    }
}
