//! The session's own PostgreSQL cluster: created by initdb inside the session
//! directory, reachable through a unix socket only, stopped and deleted by
//! the wipe.
//!
//! Guarantees:
//! - No shell anywhere: initdb, postgres and pg_ctl are spawned directly with
//!   one argv element per argument, so no path (the session directory comes
//!   from the job config) is ever parsed as shell syntax or as server options.
//!   The server is started by running the `postgres` binary itself, not
//!   `pg_ctl start` (which hands its `-o` options to `/bin/sh`).
//! - `listen_addresses = ''`: no TCP listener at all; the socket directory
//!   and socket are private to the owner (0700). Every setting is its own
//!   `-c name=value` argument; the socket directory is double-quoted in its
//!   setting so a comma or space in the path cannot add a directory.
//! - A random password per run (SCRAM), passed to initdb through a 0600 file
//!   that is deleted straight after; it is held in memory in a [`Password`].
//! - The server never logs statement text (`log_statement = none`, failing
//!   statements not logged), so no value, sealed or not, reaches its log.
//! - [`Cluster::create`] returns only once the server accepts connections
//!   (bounded by [`READY_TIMEOUT`]); a server that exits or never gets ready
//!   is an error carrying its log. The server runs in its own process group
//!   (a Ctrl-C at the terminal does not reach it) and is reaped by
//!   [`Cluster::stop`], or on drop.
//!
//! initdb refuses to run as root. On the appliance the assessor runs as its own
//! unprivileged user; on a developer machine as root, the cluster runs as the
//! `postgres` system user that the Debian package creates.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::secrets::Password;

/// Why the cluster could not be created, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found under /usr/lib/postgresql: install the Debian \
         `postgresql` package (scripts/dev-env does) or set ASSESSOR_PG_BIN"
    )]
    NoBinaries,
    #[error("{action} in {dir} failed: {source}")]
    Io {
        action: &'static str,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{tool} failed ({status}): {output}")]
    Tool {
        tool: &'static str,
        status: String,
        output: String,
    },
    #[error(
        "cannot create the session database in {dir}: the path contains a newline, which \
         PostgreSQL's postmaster.pid cannot record; choose a session directory without one"
    )]
    UnusablePath { dir: PathBuf },
    #[error(
        "the session PostgreSQL server exited while starting ({status}); its log \
         ({log_path}) says:\n{log}"
    )]
    Exited {
        status: String,
        log_path: PathBuf,
        log: String,
    },
    #[error(
        "the session PostgreSQL server was not ready after {seconds} s and was stopped; check \
         that the session directory's disk is not full or slow; its log ({log_path}) says:\n{log}"
    )]
    NotReady {
        seconds: u64,
        log_path: PathBuf,
        log: String,
    },
}

/// The unix-socket "port": it only names the socket file.
pub const PORT: u16 = 5432;
/// The cluster's only role.
pub const USER: &str = "assessor";
/// How long [`Cluster::create`] waits for the server to accept connections.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopped server's process may take to exit before it is killed.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running cluster. Call [`Cluster::stop`] to stop it (dropping it stops it
/// too); the wipe deletes its directory.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    password: Password,
    run_as: Option<String>,
    /// The server (or the `runuser` running it), kept to be reaped after the
    /// stop. `None` once reaped.
    server: Mutex<Option<Child>>,
}

impl Cluster {
    /// Creates a cluster under `root` (which must not exist yet) and starts it.
    pub fn create(root: &Path) -> Result<Cluster, ClusterError> {
        if root.as_os_str().as_bytes().contains(&b'\n') {
            return Err(ClusterError::UnusablePath {
                dir: root.to_owned(),
            });
        }
        let bin = pg_bin()?;
        let io = |action| {
            move |source| ClusterError::Io {
                action,
                dir: root.to_owned(),
                source,
            }
        };
        std::fs::create_dir_all(root.join("socket"))
            .map_err(io("creating the cluster directory"))?;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
            .map_err(io("restricting the cluster directory"))?;
        let run_as = running_as_root().then(|| "postgres".to_owned());
        if let Some(user) = &run_as {
            run("chown", Command::new("chown").arg("-R").arg(user).arg(root))?;
            // The private (0700, root-owned) session directory must let that
            // user through, and nobody else: group-traverse only.
            if let Some(parent) = root.parent() {
                run("chgrp", Command::new("chgrp").arg(user).arg(parent))?;
                std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o710))
                    .map_err(io("letting the cluster user into the session directory"))?;
            }
        }
        let password = Password::new(random_password().map_err(io("reading /dev/urandom"))?);
        let cluster = Cluster {
            root: root.to_owned(),
            bin,
            password,
            run_as,
            server: Mutex::new(None),
        };

        let pwfile = root.join("initdb.pw");
        write_private(&pwfile, cluster.password.expose())
            .map_err(io("writing the initdb password file"))?;
        if let Some(user) = &cluster.run_as {
            run("chown", Command::new("chown").arg(user).arg(&pwfile))?;
        }
        let initdb = run(
            "initdb",
            cluster.command("initdb").args([
                "-D".as_ref(),
                cluster.data_dir().as_os_str(),
                "-U".as_ref(),
                USER.as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "-A".as_ref(),
                "scram-sha-256".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-instructions".as_ref(),
            ] as [&OsStr; 12]),
        );
        let _ = std::fs::remove_file(&pwfile);
        initdb?;
        cluster.start()?;
        Ok(cluster)
    }

    /// Spawns `postgres` (no shell, no pg_ctl) and waits until it is ready.
    fn start(&self) -> Result<(), ClusterError> {
        let log_path = self.log_path();
        let io = |action| {
            move |source| ClusterError::Io {
                action,
                dir: self.root.clone(),
                source,
            }
        };
        let log = open_log(&log_path).map_err(io("opening the server log"))?;
        let log_err = log.try_clone().map_err(io("opening the server log"))?;
        let mut cmd = self.command("postgres");
        cmd.args(server_args(&self.data_dir(), &self.socket_dir()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own process group, as pg_ctl's setsid gave it: a terminal's
            // Ctrl-C goes to the assessor, which stops the server in order.
            .process_group(0);
        let child = cmd.spawn().map_err(|e| ClusterError::Tool {
            tool: "postgres",
            status: "not started".into(),
            output: e.to_string(),
        })?;
        *self.server() = Some(child);
        self.wait_ready(READY_TIMEOUT)
    }

    /// Polls until postmaster.pid says "ready" and the socket accepts a
    /// connection; fails as soon as the server exits, or after `timeout`.
    fn wait_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        let deadline = Instant::now() + timeout;
        let pid_file = self.data_dir().join("postmaster.pid");
        let socket = self.socket_path();
        loop {
            let exited = match self.server().as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                None => Some("not running".to_owned()),
                Some(Ok(None)) | Some(Err(_)) => None,
            };
            if let Some(status) = exited {
                *self.server() = None;
                return Err(ClusterError::Exited {
                    status,
                    log_path: self.log_path(),
                    log: self.read_log(),
                });
            }
            if postmaster_ready(&pid_file)
                && std::os::unix::net::UnixStream::connect(&socket).is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.stop();
                return Err(ClusterError::NotReady {
                    seconds: timeout.as_secs(),
                    log_path: self.log_path(),
                    log: self.read_log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server immediately (nothing in it needs a clean shutdown:
    /// the wipe deletes it next) and reaps its process.
    pub fn stop(&self) -> Result<(), ClusterError> {
        // pg_ctl stop only reads postmaster.pid and signals that pid: no
        // shell is involved (only `pg_ctl start` uses one).
        let stopped = run(
            "pg_ctl",
            self.command("pg_ctl").args([
                "-D".as_ref(),
                self.data_dir().as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ] as [&OsStr; 6]),
        );
        let reaped = self.reap();
        match stopped {
            // A server that had already exited (crashed) is stopped too.
            Err(_) if reaped => Ok(()),
            other => other,
        }
    }

    /// Waits for the server's process to exit (killing it after
    /// [`REAP_TIMEOUT`]); true when a process of ours had exited by itself.
    fn reap(&self) -> bool {
        let Some(mut child) = self.server().take() else {
            return false;
        };
        let deadline = Instant::now() + REAP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return true,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                // Still running after pg_ctl gave up (or cannot be polled):
                // kill what we started, so nothing outlives the stop.
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
            }
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("socket")
    }

    /// The server's unix socket.
    pub fn socket_path(&self) -> PathBuf {
        self.socket_dir().join(format!(".s.PGSQL.{PORT}"))
    }

    /// The server's stdout and stderr.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// Connection settings for tokio-postgres.
    pub fn client_config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.socket_dir())
            .port(PORT)
            .user(USER)
            .password(self.password.expose())
            .dbname("postgres")
            .application_name("assessor");
        config
    }

    fn server(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        // A panic while holding the lock leaves the Option intact.
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_log(&self) -> String {
        let mut text = String::new();
        let _ = std::fs::File::open(self.log_path()).and_then(|mut f| f.read_to_string(&mut text));
        text
    }

    /// A PostgreSQL tool, as the cluster's owner, run from the cluster root.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.current_dir(&self.root);
        cmd
    }
}

impl Drop for Cluster {
    /// A cluster dropped without [`Cluster::stop`] (an error path) is stopped,
    /// so no server outlives its owner. A process that is killed leaves it
    /// to the next run's wipe.
    fn drop(&mut self) {
        if self.server().is_some() {
            let _ = self.stop();
        }
    }
}

/// The `postgres` arguments: every setting is one argv element, so nothing in
/// a path can become another option.
pub fn server_args(data_dir: &Path, socket_dir: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "-D".into(),
        data_dir.into(),
        "-p".into(),
        PORT.to_string().into(),
    ];
    let setting = |name: &str, value: &[u8]| {
        let mut bytes = format!("{name}=").into_bytes();
        bytes.extend_from_slice(value);
        OsString::from_vec(bytes)
    };
    // A list setting: quoted (with "" for a quote) so that a comma or space
    // in the path stays part of this one directory.
    let mut quoted = vec![b'"'];
    for &b in socket_dir.as_os_str().as_bytes() {
        if b == b'"' {
            quoted.push(b'"');
        }
        quoted.push(b);
    }
    quoted.push(b'"');
    for (name, value) in [
        ("listen_addresses", &b""[..]),
        ("unix_socket_directories", &quoted[..]),
        ("unix_socket_permissions", b"0700"),
        ("log_statement", b"none"),
        ("log_min_error_statement", b"panic"),
        ("log_min_messages", b"warning"),
        ("max_connections", b"20"),
        // The image ships without LLVM (image-builder's prune_packages):
        // no JIT is tried, anywhere.
        ("jit", b"off"),
    ] {
        args.push("-c".into());
        args.push(setting(name, value));
    }
    args
}

/// postmaster.pid's 8th line is the postmaster's status; "ready" once it
/// accepts connections (what `pg_ctl -w` waits for).
fn postmaster_ready(pid_file: &Path) -> bool {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.lines().nth(7).map(|l| l.trim() == "ready"))
        .unwrap_or(false)
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

fn run(tool: &'static str, cmd: &mut Command) -> Result<(), ClusterError> {
    let out = cmd.output().map_err(|e| ClusterError::Tool {
        tool,
        status: "not started".into(),
        output: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(ClusterError::Tool {
        tool,
        status: out.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

/// The newest PostgreSQL server binaries (or `ASSESSOR_PG_BIN`).
pub fn pg_bin() -> Result<PathBuf, ClusterError> {
    if let Some(dir) = std::env::var_os("ASSESSOR_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() {
            Ok(dir)
        } else {
            Err(ClusterError::NoBinaries)
        };
    }
    let versions =
        std::fs::read_dir("/usr/lib/postgresql").map_err(|_| ClusterError::NoBinaries)?;
    versions
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
        .ok_or(ClusterError::NoBinaries)
}

/// Whether this process runs as root (then the cluster runs as `postgres`
/// through runuser, which confinement must allow for).
pub(crate) fn running_as_root() -> bool {
    // /proc/self/status's Uid line avoids an unsafe getuid() call.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn random_password() -> std::io::Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file or directory under `root` called `name`.
    fn find_named(root: &Path, name: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.file_name().is_some_and(|n| n == name) {
                    found.push(path.clone());
                }
                if path.is_dir() && !path.is_symlink() {
                    stack.push(path);
                }
            }
        }
        found
    }

    async fn show(cluster: &Cluster, sql: &str) -> Option<String> {
        let (client, connection) = cluster
            .client_config()
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.query_one(sql, &[]).await.unwrap().get(0)
    }

    #[tokio::test]
    async fn shell_syntax_in_the_cluster_path_is_never_run() {
        let tmp = tempfile::tempdir().unwrap();
        // Under `pg_ctl start` (which runs `/bin/sh -c "exec postgres -D
        // \"...\" -o ..."`) each of these would run `touch PWNED`.
        let root = tmp
            .path()
            .join("s$(touch PWNED)`touch PWNED`;touch PWNED;'q' \"q\"");
        let created = Cluster::create(&root);
        let cwd = std::env::current_dir().unwrap();
        for dir in [tmp.path(), &cwd] {
            let hits = find_named(dir, "PWNED");
            assert!(hits.is_empty(), "a shell ran the path: {hits:?}");
        }
        let cluster = created.unwrap();
        assert_eq!(show(&cluster, "SELECT 'up'").await.as_deref(), Some("up"));
        assert!(cluster.socket_path().exists());
        cluster.stop().unwrap();
    }

    #[tokio::test]
    async fn no_tcp_listener_even_with_options_smuggled_in_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        // With `pg_ctl -o "-k PATH"` this path would add two settings.
        let root = tmp
            .path()
            .join("s -c listen_addresses=127.0.0.1 -c a.b=x,y");
        let cluster = Cluster::create(&root).unwrap();
        assert_eq!(
            show(&cluster, "SHOW listen_addresses").await.as_deref(),
            Some("")
        );
        assert_eq!(show(&cluster, "SHOW port").await.as_deref(), Some("5432"));
        assert_eq!(
            show(&cluster, "SELECT current_setting('a.b', true)").await,
            None,
            "a setting from the path took effect"
        );
        // One socket directory, the whole path (the comma did not split it).
        let dirs = show(&cluster, "SHOW unix_socket_directories")
            .await
            .unwrap();
        assert_eq!(
            dirs,
            format!("\"{}\"", cluster.socket_dir().display()),
            "{dirs}"
        );
        assert!(cluster.socket_path().exists());
        cluster.stop().unwrap();
        assert!(!cluster.socket_path().exists());
    }

    #[test]
    fn every_server_setting_is_its_own_argument() {
        let args = server_args(Path::new("/s/data"), Path::new("/s \"q\",x/socket"));
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(&args[..4], ["-D", "/s/data", "-p", "5432"]);
        let settings: Vec<&str> = args[4..]
            .chunks(2)
            .map(|c| {
                assert_eq!(c[0], "-c");
                c[1]
            })
            .collect();
        assert!(settings.contains(&"listen_addresses="), "{settings:?}");
        assert!(
            settings.contains(&"unix_socket_directories=\"/s \"\"q\"\",x/socket\""),
            "{settings:?}"
        );
        assert!(settings.contains(&"unix_socket_permissions=0700"));
        assert!(settings.contains(&"log_statement=none"));
        assert!(settings.contains(&"jit=off"));
    }

    #[test]
    fn a_server_that_exits_while_starting_is_reported_with_its_log() {
        let tmp = tempfile::tempdir().unwrap();
        let cluster = Cluster::create(&tmp.path().join("pg")).unwrap();
        cluster.stop().unwrap();
        let conf = cluster.data_dir().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("\nshared_buffers = 'not a size'\n");
        std::fs::write(&conf, text).unwrap();
        let err = cluster.start().unwrap_err();
        assert!(matches!(err, ClusterError::Exited { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("exited while starting"), "{msg}");
        assert!(msg.contains("shared_buffers"), "the log is missing: {msg}");
    }

    #[test]
    fn a_path_with_a_newline_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let err = Cluster::create(&tmp.path().join("a\nb")).unwrap_err();
        assert!(matches!(err, ClusterError::UnusablePath { .. }), "{err}");
    }
}
