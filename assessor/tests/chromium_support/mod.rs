//! Headless Chromium for the HTML report tests: runs the browser on a page
//! and returns the DOM it built and what it logged.
//!
//! Chromium is a real component installed by scripts/dev-env; when it is
//! missing the tests fail, they never skip.

#![allow(dead_code)] // Each test binary uses a different part.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(60);

/// One browser at a time: two cores, and each run stays quick.
pub static BROWSER: Mutex<()> = Mutex::new(());

pub fn chromium() -> &'static Path {
    let path = Path::new(CHROMIUM);
    assert!(
        path.is_file(),
        "{CHROMIUM} is missing: run scripts/dev-env to install Chromium for the HTML report tests"
    );
    path
}

pub struct Browser {
    pub dom: String,
    pub stderr: String,
}

/// Runs headless Chromium on `url` with `mode` (`--dump-dom` or
/// `--screenshot=…`) and returns what it printed.
pub fn run_chromium(profile: &Path, mode: &[&str], url: &str) -> Browser {
    let _one_at_a_time = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            // Console messages (CSP violations, script errors) go to stderr.
            "--enable-logging=stderr",
            "--v=0",
            // Names never resolve; loopback literals (the beacon) still work.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(mode)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = out.join().unwrap().unwrap();
    let stderr = err.join().unwrap().unwrap();
    assert!(status.success(), "chromium failed ({status}): {stderr}");
    Browser { dom, stderr }
}

/// Console messages (CSP violations, script errors) Chromium logged.
pub fn console_messages(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}
