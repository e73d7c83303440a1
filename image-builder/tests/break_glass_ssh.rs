//! The break-glass SSH image (`profiles/appliance-ssh.toml`), built with the
//! release assessor and booted under qemu (TCG, OVMF) with the IMDSv2
//! emulator serving user data whose `[break_glass]` table holds a public key
//! generated here. The guest's port 22 is forwarded to a loopback port (qemu
//! user-mode `hostfwd`), and the host's own `ssh` client, checking the host
//! key the guest printed on its console, must:
//!
//! - log in as the break-glass user with that key and run `id`, and get a
//!   TTY;
//! - be refused as root with the same key, with a password, and with another
//!   key.
//!
//! The job in the user data has no SQL Server or AWS to reach and
//! `power_off_when_done = false`: it fails, and the machine stays up with
//! sshd running. The boot report must show no listening socket but DHCP and
//! TCP 22. Slow (image build, then a boot under TCG), needs root and the
//! tools of `scripts/dev-env`; nothing is skipped.
// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use image_builder::boot::{self, BootOptions, BootOutcome, Expected};
use image_builder::build::{BuildInfo, StepEvent, build};
use testbed::imds::{ImdsEmulator, ImdsOptions};

const USER: &str = "breakglass";

mod whole_image;
use whole_image::release_assessor;

fn work_dir() -> PathBuf {
    whole_image::work_dir("break_glass_ssh", "IMAGE_BUILDER_SSH_TEST_DIR")
}

fn build_variant(assessor: &Path) -> (PathBuf, BuildInfo) {
    let out = work_dir().join("out");
    let mut options = whole_image::options("appliance-ssh.toml", &out);
    options.assessor = Some(assessor.to_owned());
    let info = build(&options, &mut |_: &StepEvent| {})
        .unwrap_or_else(|e| panic!("break-glass image build failed: {e}"));
    (out, info)
}

fn keygen(path: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "vm-test"])
        .arg("-f")
        .arg(path)
        .output()
        .expect("run ssh-keygen (openssh-client)");
    assert!(out.status.success(), "{out:?}");
    fs::read_to_string(path.with_extension("pub")).expect("read the public key")
}

/// A valid job that cannot succeed here (the guest reaches nothing but the
/// IMDS emulator), which must not take the machine down, and the break-glass
/// key. No `[testing]` table: this image ships the release assessor, built
/// without the `testing-endpoint` feature, which would refuse it.
fn user_data(public_key: &str) -> String {
    format!(
        r#"[job]
region = "eu-west-1"
kms_key_id = "alias/sqlassess"
session_dir = "/var/lib/sqlassess/volume/session"
time_limit_minutes = 5
power_off_when_done = false

[report]
bucket = "reports"

[[targets]]
name = "sql-01"
secret_id = "sqlassess/sql-01"
host = "10.0.2.11"

[targets.tls]
mode = "required"
# Nothing is reached here, so no private CA is given.
ca = "system"

[break_glass]
authorized_keys = ["{}"]
"#,
        public_key.trim()
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The qemu process booting `disk` (the only one with this path): the test
/// started it through `boot::boot`, which returns only when it exits.
fn qemu_pid(disk: &Path) -> Option<u32> {
    let needle = disk.display().to_string();
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = fs::read(e.path().join("cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline);
        (cmdline.starts_with("qemu-system") && cmdline.contains(&needle)).then_some(pid)
    })
}

/// `ssh [options] -l user 127.0.0.1 command` with the test's strict
/// settings and `extra` options.
fn ssh(port: u16, known_hosts: &Path, key: &Path, user: &str, extra: &[&str]) -> Output {
    let (command, options) = extra.split_last().expect("a command");
    Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .args(["-o", "StrictHostKeyChecking=yes", "-o"])
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=60",
        ])
        .arg("-i")
        .arg(key)
        .args(["-p", &port.to_string(), "-l", user])
        .args(options)
        .arg("127.0.0.1")
        .arg(command)
        .output()
        .expect("run ssh (openssh-client)")
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `SHA256:...` of a public key file, as `ssh-keygen -l` prints it.
fn fingerprint_of(public: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(public)
        .output()
        .expect("run ssh-keygen -l");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint")
        .to_owned()
}

/// A refused login: sshd offered public-key authentication only and
/// accepted none. sshd 10 penalises a source after repeated failures
/// (PerSourcePenalties: 5 s each, enforced from 15 s), and every connection
/// here comes from the same user-mode address, so refusals are spaced.
fn assert_refused(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(255), "{what}: {}", text(out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Permission denied (publickey)"),
        "{what}: {}",
        text(out)
    );
    assert!(out.stdout.is_empty(), "{what}: {}", text(out));
}

#[test]
fn the_break_glass_image_lets_only_its_user_in_with_the_launch_key() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let key = dir.path().join("operator");
    let public = keygen(&key);
    let other = dir.path().join("stranger");
    keygen(&other);
    // The user data is what fetch-config accepts on this image.
    assessor::appliance::user_data::materialize_for(
        &user_data(&public),
        &dir.path().join("job.toml"),
        assessor::appliance::break_glass::SshServer::Present,
    )
    .expect("the test's user data is valid");

    let assessor = release_assessor();
    let (out, info) = build_variant(&assessor);
    let built = started.elapsed();
    let tree = out.join("work/rootfs");
    for key in ["ed25519", "ecdsa", "rsa"] {
        let path = tree.join(format!("etc/ssh/ssh_host_{key}_key"));
        assert!(!path.exists(), "{} is baked into the image", path.display());
    }
    assert!(tree.join("usr/lib/sqlassess/break-glass-ssh").exists());
    let exposure = &info.offline_gates.exposure;
    eprintln!("break-glass image: exposure {exposure:?}");
    assert!(exposure.contains_key("ssh.service"), "{exposure:?}");

    let imds = ImdsEmulator::start(ImdsOptions {
        region: "eu-west-1".into(),
        role_name: "sqlassess-appliance".into(),
        credentials: (
            "ASIAVMTESTKEY".into(),
            "vm-test-secret".into(),
            "vm-test-token".into(),
        ),
        user_data: user_data(&public).into_bytes(),
        instance_id: "i-0b4ea5b1a55c0ffee".into(),
    })
    .expect("start the IMDS emulator");

    // A private copy of the image; qemu boots it until the test stops it.
    let work = work_dir().join("boot");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).expect("create the boot folder");
    let disk = work.join("disk.raw");
    fs::copy(out.join("disk.raw"), &disk).expect("copy the image");
    let port = free_port();
    let mut opts = BootOptions::new(disk.clone(), work.clone());
    opts.snapshot = true;
    opts.until_power_off = true;
    opts.timeout = Duration::from_secs(20 * 60);
    opts.memory_mib = 2048;
    opts.nics = vec![format!(
        "user,model=virtio-net-pci,restrict=on,net=169.254.169.0/24,host=169.254.169.2,\
         guestfwd=tcp:169.254.169.254:80-cmd:socat STDIO TCP:127.0.0.1:{},\
         hostfwd=tcp:127.0.0.1:{port}-:22",
        imds.port()
    )];
    let console = work.join("console.log");
    let qemu = std::thread::spawn(move || boot::boot(&opts));

    // Wait for the boot report and the host key on the console.
    let deadline = Instant::now() + Duration::from_secs(12 * 60);
    let log = loop {
        let log = fs::read_to_string(&console).unwrap_or_default();
        if log.contains("sqlassess-boot-status: done") && log.contains("sqlassess-ssh: host key ") {
            break log;
        }
        assert!(
            !qemu.is_finished(),
            "qemu stopped before the boot report:\n{log}"
        );
        assert!(Instant::now() < deadline, "no boot report:\n{log}");
        std::thread::sleep(Duration::from_secs(2));
    };
    let booted = started.elapsed() - built;
    let host_key = log
        .lines()
        .find_map(|l| l.split_once("sqlassess-ssh: host key ssh-ed25519 "))
        .map(|(_, k)| format!("ssh-ed25519 {}", k.trim()))
        .expect("the host key on the console");
    let fingerprint = log
        .lines()
        .find_map(|l| l.split_once("sqlassess-ssh: host key fingerprint "))
        .map(|(_, f)| f.trim().to_owned())
        .expect("the host key fingerprint on the console");
    // The printed fingerprint is the printed key's.
    let pub_file = dir.path().join("host.pub");
    fs::write(&pub_file, format!("{host_key}\n")).unwrap();
    let sha = fingerprint_of(&pub_file);
    assert!(fingerprint.contains(&sha), "{fingerprint} vs {sha}");
    let known_hosts = dir.path().join("known_hosts");
    fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_key}\n")).unwrap();

    // --- The operator gets in, unprivileged, with a TTY. ---
    let login = ssh(port, &known_hosts, &key, USER, &["id"]);
    let id = String::from_utf8_lossy(&login.stdout).into_owned();
    let results = std::panic::AssertUnwindSafe(|| {
        assert!(login.status.success(), "{}\n{log}", text(&login));
        assert!(id.contains(&format!("({USER})")), "{id}");
        assert!(!id.contains("uid=0(") && !id.contains("(sudo)"), "{id}");
        let tty = ssh(port, &known_hosts, &key, USER, &["-tt", "tty"]);
        assert!(
            String::from_utf8_lossy(&tty.stdout).contains("/dev/pts/"),
            "{}",
            text(&tty)
        );

        // --- HTTPS and DNS are not the shell's (nftables: meta skuid). ---
        // The output chain answers what it does not allow with a TCP reset,
        // so connect() fails at once with "Connection refused"; without the
        // rule the SYN would go out and, on this restricted network (no
        // forward to either address), time out instead.
        for (what, address) in [
            ("HTTPS", "169.254.169.2/443"),
            ("DNS", "169.254.169.253/53"),
        ] {
            let out = ssh(
                port,
                &known_hosts,
                &key,
                USER,
                &[&format!("timeout 30 bash -c 'exec 3<>/dev/tcp/{address}'")],
            );
            assert!(
                !out.status.success()
                    && String::from_utf8_lossy(&out.stderr).contains("Connection refused"),
                "the break-glass user's {what} connection was not refused by the firewall: {}",
                text(&out)
            );
        }

        // --- Everyone and everything else is refused. ---
        std::thread::sleep(Duration::from_secs(6));
        assert_refused(&ssh(port, &known_hosts, &key, "root", &["id"]), "root");
        std::thread::sleep(Duration::from_secs(6));
        let password = ssh(
            port,
            &known_hosts,
            &key,
            USER,
            &[
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
                "id",
            ],
        );
        assert_refused(&password, "password");
        std::thread::sleep(Duration::from_secs(6));
        assert_refused(
            &ssh(port, &known_hosts, &other, USER, &["id"]),
            "another key",
        );
    });
    let outcome = std::panic::catch_unwind(results);

    // The machine stayed up although the job cannot run.
    let stayed_up = !qemu.is_finished();
    // Stop the guest (the test's own qemu, found by its disk's path).
    if let Some(pid) = qemu_pid(&disk) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    let boot: BootOutcome = qemu
        .join()
        .expect("the boot thread")
        .unwrap_or_else(|e| panic!("qemu could not run: {e}"));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    let log = fs::read_to_string(&console).unwrap_or_default();
    assert!(stayed_up && !log.contains("powering off"), "{log}");
    // fetch-config accepted the [break_glass] table on this image.
    assert!(
        log.contains(&format!(
            "break-glass SSH key accepted: ssh-ed25519 {}",
            fingerprint_of(&key.with_extension("pub"))
        )),
        "{log}"
    );

    // The boot report: verified root, sshd's port and nothing else listening.
    let expected = Expected::from_build_info(&out.join("build-info.json")).unwrap();
    assert_eq!(expected.listening_allow, ["tcp:22"]);
    assert!(boot.verity_verified, "{log}");
    assert!(
        boot.listening
            .iter()
            .any(|s| s.starts_with("tcp:") && s.ends_with(":0016")),
        "{:?}",
        boot.listening
    );
    // No other TCP socket listens. (The verdict also names any unconnected
    // UDP socket; a transient one on an ephemeral port, bound while the job
    // starts, is not sshd's business and is reported, not asserted, here.)
    let tcp: Vec<&String> = boot
        .listening
        .iter()
        .filter(|s| s.starts_with("tcp"))
        .filter(|s| !BootOutcome::allowed_listening(s, &expected.listening_allow))
        .collect();
    assert!(tcp.is_empty(), "{:?}", boot.listening);
    let failures = boot.failures(&expected);
    eprintln!("break-glass boot verdict: {failures:?}");
    assert!(
        !failures
            .iter()
            .any(|f| f.contains("sysctl") || f.contains("lockdown") || f.contains("tcp")),
        "{failures:?}"
    );
    assert!(
        !boot
            .failed_units
            .iter()
            .any(|u| u.starts_with("ssh") || u.contains("ssh-hostkey")),
        "{:?}",
        boot.failed_units
    );
    // Only IMDSv2, and the key was fetched at login (sshd asked for it).
    let requests = imds.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "GET")
            .all(|r| r.valid_token),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.path == "/latest/user-data")
            .count()
            >= 2,
        "{requests:?}"
    );
    eprintln!(
        "break-glass SSH test: release build + image {:.0} s; boot to report under TCG {:.0} s",
        built.as_secs_f64(),
        booted.as_secs_f64()
    );
}
