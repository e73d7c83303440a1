//! The product promise in one test: the appliance image, built with the
//! release assessor, boots under qemu (TCG, OVMF), reads its job config from
//! the instance metadata service, assesses a SQL Server over verified TLS,
//! delivers the report to S3 under the customer's key, wipes, and powers off;
//! then its disk holds no plaintext trace of the customer's code or password.
//! The guest's assessor is the release build with the `testing-endpoint`
//! feature, the only image that has it, so that its AWS calls reach
//! moto_server; the shipped build refuses `[testing]`.
//!
//! The guest sees two restricted user-mode networks and nothing else:
//! - 169.254.169.0/24, where 169.254.169.254:80 is forwarded to the IMDSv2
//!   emulator (`testbed::imds`) on the host's loopback;
//! - 10.0.2.0/24, where 10.0.2.10:443 is moto_server (S3, KMS, Secrets
//!   Manager) and 10.0.2.11:1433 the TDS peer (pysqlbridge) serving the
//!   WideWorldImporters fixture with a canary module.
//!
//! Forwarding uses qemu's `guestfwd` with `socat` per connection. Slow
//! (several minutes under TCG on 2 cores), needs root, the tools of
//! `scripts/dev-env`, the Debian mirror (the image build) and cargo (the
//! release assessor). A missing prerequisite fails the test; nothing is
//! skipped.
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image_builder::boot::{self, BootOptions, BootOutcome};
use image_builder::build::{StepEvent, build};
use serde_json::Value;
use testbed::appliance::{ApplianceOptions, BUCKET, LocalAppliance, PREFIX};
use testbed::catalog_fixture::{CatalogFixture, FixtureModule};
use testbed::imds::{ImdsEmulator, ImdsOptions};
use testbed::moto::REGION;

/// Where the guest finds its peers (forwarded to the host's loopback).
const MOTO_IN_GUEST: &str = "10.0.2.10";
const TDS_IN_GUEST: &str = "10.0.2.11";

mod whole_image;
use whole_image::testing_endpoint_assessor;

fn work_dir() -> PathBuf {
    whole_image::work_dir("vm", "IMAGE_BUILDER_VM_TEST_DIR")
}

fn build_image(assessor: &Path) -> PathBuf {
    let out = work_dir().join("out");
    let mut options = whole_image::options("appliance.toml", &out);
    options.assessor = Some(assessor.to_owned());
    let info = build(&options, &mut |_: &StepEvent| {})
        .unwrap_or_else(|e| panic!("image build failed: {e}"));
    assert!(info.crates > 100, "the SBOM lists the assessor's crates");
    out.join("disk.raw")
}

/// The job config the guest finds in its user data.
fn user_data(app: &LocalAppliance, tds_port_in_guest: u16) -> String {
    let ca = fs::read_to_string(app.pki.ca_path()).expect("read the test CA");
    format!(
        r#"# sqlassess appliance user data, format 2: the job config (TOML).
[job]
region = "{REGION}"
kms_key_id = "{key}"
session_dir = "/var/lib/sqlassess/volume/session"
max_concurrent_targets = 1
time_limit_minutes = 20
power_off_when_done = true

[report]
bucket = "{BUCKET}"
prefix = "{PREFIX}"

[[targets]]
name = "sql-01"
secret_id = "{secret}"
host = "{TDS_IN_GUEST}"
port = {tds_port_in_guest}

[targets.tls]
mode = "required"
# The peer's certificate names 127.0.0.1, where it listens on the host.
hostname_in_certificate = "127.0.0.1"
ca_bundle_pem = """
{ca}"""

[timeouts]
connect_seconds = 60
query_seconds = 600

[testing]
aws_endpoint_url = "http://{MOTO_IN_GUEST}:443"
"#,
        key = app.key_id,
        secret = app.secret_id,
    )
}

fn forward(guest: &str, host_port: u16) -> String {
    format!("guestfwd=tcp:{guest}-cmd:socat STDIO TCP:127.0.0.1:{host_port}")
}

/// Boots a private copy of the image with the peers forwarded, until the
/// guest powers off.
fn boot_job(image: &Path, name: &str, imds: u16, moto: u16, tds: u16) -> (BootOutcome, PathBuf) {
    let work = work_dir().join(name);
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).expect("create the boot folder");
    let disk = work.join("disk.raw");
    fs::copy(image, &disk).expect("copy the image");
    let mut opts = BootOptions::new(disk.clone(), work);
    opts.snapshot = false;
    opts.until_power_off = true;
    opts.timeout = std::time::Duration::from_secs(25 * 60);
    opts.memory_mib = 2048;
    opts.nics = vec![
        format!(
            "user,model=virtio-net-pci,restrict=on,net=169.254.169.0/24,host=169.254.169.2,{}",
            forward("169.254.169.254:80", imds)
        ),
        format!(
            "user,model=virtio-net-pci,restrict=on,net=10.0.2.0/24,{},{}",
            forward(&format!("{MOTO_IN_GUEST}:443"), moto),
            forward(&format!("{TDS_IN_GUEST}:1433"), tds)
        ),
    ];
    let outcome = boot::boot(&opts).unwrap_or_else(|e| panic!("qemu could not run: {e}"));
    (outcome, disk)
}

/// How often `needle` occurs in the file, as UTF-8 and as UTF-16LE (how
/// SQL Server sends text).
fn occurrences(path: &Path, needle: &str) -> usize {
    let utf16: Vec<u8> = needle.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let patterns = [needle.as_bytes().to_vec(), utf16];
    let finders: Vec<memchr::memmem::Finder<'_>> = patterns
        .iter()
        .map(|p| memchr::memmem::Finder::new(p.as_slice()))
        .collect();
    let longest = patterns.iter().map(Vec::len).max().unwrap_or(0);
    let mut file = fs::File::open(path).expect("open the disk image");
    let mut buf = vec![0u8; 8 << 20];
    let mut window: Vec<u8> = Vec::with_capacity(buf.len() + longest);
    let mut found = 0;
    loop {
        let n = file.read(&mut buf).expect("read the disk image");
        if n == 0 {
            break;
        }
        window.extend_from_slice(&buf[..n]);
        for f in &finders {
            found += f.find_iter(&window).count();
        }
        // Keep a tail shorter than any pattern, so nothing is counted twice
        // and nothing straddling two reads is missed.
        let keep = window.len().min(longest.saturating_sub(1));
        window.drain(..window.len() - keep);
    }
    found
}

fn console(outcome: &BootOutcome) -> String {
    fs::read_to_string(&outcome.console_log).unwrap_or_default()
}

fn canary_fixture(canary: &str) -> CatalogFixture {
    let mut fixture = CatalogFixture::wide_world_importers().expect("the WWI fixture");
    fixture.databases[0].modules.push(FixtureModule {
        schema: "Application".into(),
        name: "CanaryReport".into(),
        kind: "SQL_STORED_PROCEDURE".into(),
        definition: Some(format!(
            "CREATE PROCEDURE [Application].[CanaryReport]\nAS\nBEGIN\n    DECLARE @marker nvarchar(64) = N'{canary}';\n    SELECT STR(123.456, 8, 2) AS amount, @marker AS marker;\nEND\n"
        )),
    });
    fixture
}

fn unique(label: &str) -> String {
    let mut bytes = [0u8; 8];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{label}{hex}")
}

fn imds_for(app: &LocalAppliance, data: String) -> ImdsEmulator {
    ImdsEmulator::start(ImdsOptions {
        region: REGION.into(),
        role_name: "sqlassess-appliance".into(),
        credentials: (
            "ASIAVMTESTKEY".into(),
            "vm-test-secret".into(),
            "vm-test-token".into(),
        ),
        user_data: data.into_bytes(),
        instance_id: format!("i-{}", &app.key_id.replace('-', "")[..17]),
    })
    .expect("start the IMDS emulator")
}

/// Objects under the report prefix: key -> bytes.
async fn delivered(app: &LocalAppliance) -> Vec<(String, Vec<u8>)> {
    let shared = testbed::appliance::sdk_config(&app.moto.endpoint_url()).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build(),
    );
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(PREFIX)
        .send()
        .await
        .expect("list the bucket");
    let mut out = Vec::new();
    for object in listed.contents() {
        let key = object.key().unwrap_or_default().to_owned();
        let got = s3
            .get_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .expect("get an object");
        assert_eq!(
            got.server_side_encryption().map(|e| e.as_str()),
            Some("aws:kms"),
            "{key} is not under SSE-KMS"
        );
        let bytes = got.body.collect().await.expect("read an object").to_vec();
        out.push((key, bytes));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_appliance_boots_assesses_delivers_wipes_and_leaves_nothing_behind() {
    let started = Instant::now();
    // The release build with `testing-endpoint`: the guest's job reaches
    // moto_server only through `[testing] aws_endpoint_url`, which the
    // shipped assessor refuses (the other image tests check that).
    let assessor = testing_endpoint_assessor();
    let image = build_image(&assessor);
    let built = started.elapsed();

    // --- The job succeeds. ---
    let module_canary = unique("CANARYMODULE");
    let password = unique("CanaryPw!");
    let app = LocalAppliance::start(ApplianceOptions {
        fixture: canary_fixture(&module_canary),
        password: password.clone(),
        sql_server_down: false,
        key_disabled: false,
    })
    .await
    .expect("start moto and the TDS peer");
    let tds_port = app.tds.as_ref().expect("the TDS peer runs").port();
    let imds = imds_for(&app, user_data(&app, 1433));
    let moto_port = app.moto.port();
    let (outcome, disk) = tokio::task::spawn_blocking({
        let image = image.clone();
        let imds_port = imds.port();
        move || boot_job(&image, "ok", imds_port, moto_port, tds_port)
    })
    .await
    .expect("the boot thread");
    let log = console(&outcome);
    assert!(
        outcome.qemu_exited && !outcome.timed_out,
        "the appliance did not power off by itself ({:.0} s):\n{log}",
        outcome.seconds
    );
    assert!(outcome.verity_verified, "{log}");
    assert!(log.contains("job config for 1 target(s) written"), "{log}");
    // The SQL Server and the one AWS address (moto, as the endpoints' own
    // addresses on AWS): the assessor's HTTPS goes through that set only, so
    // the delivery below proves it holds the right address.
    assert!(
        log.contains("firewall opened to 1 SQL Server address(es) and 1 AWS endpoint address(es)"),
        "{log}"
    );
    assert!(log.contains("session volume opened"), "{log}");
    assert!(
        log.contains("session volume closed; its key is destroyed"),
        "{log}"
    );
    assert!(log.contains("job ended; powering off"), "{log}");
    // SECURITY.md C37: the job confined itself with Landlock on the image's
    // kernel (Debian's cloud kernel has landlock in its LSM list), as the
    // appliance's config requires.
    assert!(log.contains("confinement: Landlock ABI"), "{log}");
    assert!(!log.contains("Landlock NOT enforced"), "{log}");

    // The guest used IMDSv2 only, for its config and its role credentials.
    let requests = imds.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path == "/latest/user-data" && r.status == 200),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r
            .path
            .starts_with("/latest/meta-data/iam/security-credentials/")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "GET")
            .all(|r| r.valid_token),
        "an IMDSv1 request: {requests:?}"
    );

    // The SQL Server saw only the collector's read-only statements.
    let statements = app.tds.as_ref().expect("the TDS peer").statements();
    assert!(statements.len() > 20, "{statements:?}");
    assert!(
        statements
            .iter()
            .all(|s| assessor::collect::catalog::is_collector_statement(s)),
        "{statements:?}"
    );

    // The report is in the bucket, every object under SSE-KMS, and holds the
    // canary module's findings and the server's facts.
    let objects = delivered(&app).await;
    let find = |name: &str| {
        objects
            .iter()
            .find(|(k, _)| k.ends_with(name))
            .unwrap_or_else(|| {
                panic!(
                    "no {name} in {:?}",
                    objects.iter().map(|o| &o.0).collect::<Vec<_>>()
                )
            })
    };
    let summary: Value = serde_json::from_slice(&find("run-summary.json").1).expect("summary JSON");
    assert_eq!(summary["outcome"], "succeeded", "{summary}");
    assert_eq!(summary["confinement"]["enforced"], true, "{summary}");
    assert_eq!(summary["confinement"]["policy"], "required", "{summary}");
    let report: Value = serde_json::from_slice(&find("report.json").1).expect("report JSON");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        findings.iter().any(|f| f["feature"] == "function.str"
            && f["file"]
                .as_str()
                .unwrap_or_default()
                .ends_with("CanaryReport.sql")),
        "no STR() finding in the canary module"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["feature"] == "server.availability_group"),
        "no server-level finding"
    );
    find("manifest.json");

    // The host-side download verifies every checksum.
    let out = app.scratch().join("downloaded");
    let run_id = summary["run_id"].as_str().expect("run id");
    let download = Command::new(&assessor)
        .envs(app.assessor_env())
        .args(["report", "download"])
        .arg(format!("s3://{BUCKET}/{PREFIX}/{run_id}/"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run assessor report download");
    assert!(
        download.status.success(),
        "{}",
        String::from_utf8_lossy(&download.stderr)
    );

    // Nothing in plaintext on the guest's disk.
    for canary in [&module_canary, &password] {
        assert_eq!(
            occurrences(&disk, canary),
            0,
            "a canary is on the guest's disk in plaintext"
        );
    }
    let boot_to_report = outcome.seconds;
    let _ = fs::remove_file(&disk);

    // --- The SQL Server is down: the job fails, a failure summary without
    // customer data is delivered, the session is wiped, the VM powers off. ---
    let down = LocalAppliance::start(ApplianceOptions {
        fixture: canary_fixture(&module_canary),
        password: password.clone(),
        sql_server_down: true,
        key_disabled: false,
    })
    .await
    .expect("start moto");
    let imds = imds_for(&down, user_data(&down, 1433));
    // A port nothing listens on: the guest's connections to SQL Server fail.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let moto_port = down.moto.port();
    let (outcome, disk) = tokio::task::spawn_blocking({
        let image = image.clone();
        let imds_port = imds.port();
        move || boot_job(&image, "down", imds_port, moto_port, closed)
    })
    .await
    .expect("the boot thread");
    let log = console(&outcome);
    assert!(
        outcome.qemu_exited && !outcome.timed_out,
        "the appliance did not power off after a failed job:\n{log}"
    );
    assert!(log.contains("job ended; powering off"), "{log}");
    let objects = delivered(&down).await;
    let mut names: Vec<&str> = objects
        .iter()
        .map(|(k, _)| k.rsplit('/').next().unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["manifest.json", "run-summary.json"],
        "only the failure summary (and its manifest) is delivered"
    );
    let summary_bytes = &objects
        .iter()
        .find(|(k, _)| k.ends_with("run-summary.json"))
        .expect("the summary")
        .1;
    let summary: Value = serde_json::from_slice(summary_bytes).expect("summary JSON");
    assert_eq!(summary["outcome"], "failed", "{summary}");
    assert_eq!(summary["wiped"], true, "{summary}");
    for (_, bytes) in &objects {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&module_canary) && !text.contains(&password));
    }
    assert_eq!(occurrences(&disk, &password), 0);
    let _ = fs::remove_file(&disk);

    eprintln!(
        "appliance VM test: release build + image {:.0} s; boot to delivered report and power-off \
         under TCG {boot_to_report:.0} s; failed job to power-off {:.0} s",
        built.as_secs_f64(),
        outcome.seconds
    );
}
