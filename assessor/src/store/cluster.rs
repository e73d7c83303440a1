//! The session's own PostgreSQL cluster: created by initdb inside the session
//! directory, reachable through a unix socket only, stopped and deleted by
//! the wipe.
//!
//! Guarantees:
//! - `listen_addresses = ''`: no TCP listener at all; the socket directory
//!   and socket are private to the owner (0700).
//! - A random password per run (SCRAM), passed to initdb through a 0600 file
//!   that is deleted straight after; it is held in memory in a [`Password`].
//! - The server never logs statement text (`log_statement = none`, failing
//!   statements not logged), so no value, sealed or not, reaches its log.
//!
//! initdb refuses to run as root. On the appliance the assessor runs as its own
//! unprivileged user; on a developer machine as root, the cluster runs as the
//! `postgres` system user that the Debian package creates.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

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
}

/// The unix-socket "port": it only names the socket file.
pub const PORT: u16 = 5432;
/// The cluster's only role.
pub const USER: &str = "assessor";

/// A running cluster. Call [`Cluster::stop`] to stop it; the wipe deletes
/// its directory.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    password: Password,
    run_as: Option<String>,
}

impl Cluster {
    /// Creates a cluster under `root` (which must not exist yet) and starts it.
    pub fn create(root: &Path) -> Result<Cluster, ClusterError> {
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
        };

        let pwfile = root.join("initdb.pw");
        write_private(&pwfile, cluster.password.expose())
            .map_err(io("writing the initdb password file"))?;
        if let Some(user) = &cluster.run_as {
            run("chown", Command::new("chown").arg(user).arg(&pwfile))?;
        }
        let initdb = cluster.pg(
            "initdb",
            &[
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
            ],
        );
        let _ = std::fs::remove_file(&pwfile);
        initdb?;
        cluster.start()?;
        Ok(cluster)
    }

    fn start(&self) -> Result<(), ClusterError> {
        let options = format!(
            "-c listen_addresses='' -k {} -p {PORT} -c unix_socket_permissions=0700 \
             -c log_statement=none -c log_min_error_statement=panic -c log_min_messages=warning \
             -c max_connections=20",
            self.socket_dir().display()
        );
        let log = self.root.join("server.log");
        self.pg(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data_dir().as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        )
        .map_err(|e| match e {
            ClusterError::Tool {
                tool,
                status,
                output,
            } => {
                let mut text = String::new();
                let _ = std::fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut text));
                ClusterError::Tool {
                    tool,
                    status,
                    output: format!("{output}\nserver log:\n{text}"),
                }
            }
            other => other,
        })
    }

    /// Stops the server immediately (nothing in it needs a clean shutdown:
    /// the wipe deletes it next).
    pub fn stop(&self) -> Result<(), ClusterError> {
        self.pg(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data_dir().as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
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

    fn pg(&self, tool: &'static str, args: &[&std::ffi::OsStr]) -> Result<(), ClusterError> {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.args(args).current_dir(&self.root);
        run(tool, &mut cmd)
    }
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

fn running_as_root() -> bool {
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
