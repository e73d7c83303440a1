//! `assessor report wait` against a bucket (moto_server on loopback): it
//! returns once a run's manifest is there, not before, and a timeout is its
//! own exit code.
#![cfg(feature = "appliance")]
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

mod bucket_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use assessor::deliver::{self, DeliverError, S3Location, WaitPolicy};
use bucket_support::{BUCKET, assessor, assessor_command, put, put_bundle, s3, text};
use testbed::moto::MotoServer;

const QUICK: WaitPolicy = WaitPolicy {
    timeout: Duration::from_secs(3),
    interval: Duration::from_secs(1),
};

#[tokio::test]
async fn a_run_counts_only_once_its_manifest_is_there() {
    let moto = MotoServer::start().unwrap();
    let s3 = s3(&moto).await;
    let location = S3Location::new(BUCKET, "p");
    // A bundle being written: files but no manifest yet.
    put(&s3, "p/run-2/report.html", b"<html></html>".to_vec()).await;
    let err = deliver::wait_for_run(&s3, &location, &[], QUICK)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliverError::WaitTimedOut { seconds: 3, .. }),
        "{err}"
    );
    put_bundle(&s3, "run-1", "run-1", &[]).await;
    let runs = deliver::wait_for_run(&s3, &location, &[], QUICK)
        .await
        .unwrap();
    assert_eq!(runs, vec![S3Location::new(BUCKET, "p/run-1")]);
    // Waiting for a new run ignores the ones already known.
    let known = deliver::list_runs(&s3, &location).await.unwrap();
    let err = deliver::wait_for_run(&s3, &location, &known, QUICK)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no new run"), "{err}");
}

#[tokio::test]
async fn the_cli_returns_when_a_new_run_is_delivered() {
    let moto = MotoServer::start().unwrap();
    let s3 = s3(&moto).await;
    put_bundle(&s3, "run-old", "run-old", &[]).await;
    let url = format!("s3://{BUCKET}/p/");
    let waiting = assessor_command(
        &moto,
        &[
            "report",
            "wait",
            &url,
            "--new",
            "--interval",
            "1s",
            "--timeout",
            "2m",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Let it take its first look (the old run must not satisfy it), then
    // deliver a new run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    put_bundle(&s3, "run-new", "run-new", &[]).await;
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || waiting.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("s3://{BUCKET}/p/run-new/"),
        "{}",
        text(&out)
    );
    // It noticed the delivery within a few polls, not at its timeout.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn the_cli_times_out_with_its_own_exit_code() {
    let moto = MotoServer::start().unwrap();
    let _s3 = s3(&moto).await;
    let url = format!("s3://{BUCKET}/p/");
    let out = assessor(
        &moto,
        &[
            "report",
            "wait",
            &url,
            "--interval",
            "1s",
            "--timeout",
            "2s",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no run was delivered under") && err.contains("--timeout"),
        "{err}"
    );
    // A bad duration is a usage error before any AWS call.
    let out = assessor(&moto, &["report", "wait", &url, "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
