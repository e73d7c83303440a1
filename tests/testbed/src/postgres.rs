//! A throwaway PostgreSQL cluster: initdb into a temporary directory,
//! listening on a unix socket only, with a random password.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::{PeerError, Result, tools};

/// The database superuser the cluster is created with.
pub const USER: &str = "testbed";
/// The unix-socket "port" (it only names the socket file).
pub const PORT: u16 = 5432;

/// A running cluster; stopped and deleted on drop.
#[derive(Debug)]
pub struct PgCluster {
    dir: TempDir,
    bin: PathBuf,
    password: String,
    run_as: Option<String>,
}

impl PgCluster {
    /// Creates and starts a cluster. As root (initdb refuses to run as root),
    /// the server runs as the `postgres` system user that the Debian package
    /// creates.
    pub fn start() -> Result<PgCluster> {
        let bin = tools::pg_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("testbed-pg-")
            .tempdir()
            .map_err(|source| PeerError::Io {
                what: "creating the cluster directory",
                source,
            })?;
        let run_as = is_root().then(|| "postgres".to_owned());
        let password = random_hex(16)?;
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, &password)
            .and_then(|()| {
                std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o600))
            })
            .map_err(|source| PeerError::Io {
                what: "writing the password file",
                source,
            })?;
        std::fs::create_dir(dir.path().join("sock")).map_err(|source| PeerError::Io {
            what: "creating the socket directory",
            source,
        })?;
        if let Some(user) = &run_as {
            run(
                "chown",
                Command::new("chown").arg("-R").arg(user).arg(dir.path()),
            )?;
        }
        let cluster = PgCluster {
            dir,
            bin,
            password,
            run_as,
        };
        let data = cluster.data_dir();
        cluster.run_pg(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                USER,
                "--pwfile",
                path_str(&pwfile)?,
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
            ],
        )?;
        let _ = std::fs::remove_file(&pwfile);
        let options = format!(
            "-c listen_addresses='' -k {} -p {PORT} -c unix_socket_permissions=0700 -c fsync=off",
            path_str(&cluster.socket_dir())?
        );
        let log = cluster.dir.path().join("server.log");
        cluster
            .run_pg(
                "pg_ctl",
                &[
                    "-D",
                    path_str(&data)?,
                    "-l",
                    path_str(&log)?,
                    "-o",
                    &options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            )
            .map_err(|e| {
                let mut text = String::new();
                let _ = std::fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut text));
                PeerError::Start {
                    what: "PostgreSQL",
                    detail: format!("{e}\nserver log:\n{text}"),
                }
            })?;
        Ok(cluster)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory holding the unix socket (the `host` for clients).
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    pub fn port(&self) -> u16 {
        PORT
    }

    pub fn user(&self) -> &str {
        USER
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    fn run_pg(&self, tool: &'static str, args: &[&str]) -> Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args).current_dir(self.dir.path());
        run(tool, &mut cmd)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Ok(data) = path_str(&self.data_dir()) {
            let _ = self.run_pg("pg_ctl", &["-D", data, "-m", "immediate", "-w", "stop"]);
        }
        // Give the postmaster a moment to remove its socket before TempDir
        // deletes the directory.
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(what: &'static str, cmd: &mut Command) -> Result<()> {
    let out = cmd.output().map_err(|e| PeerError::Start {
        what,
        detail: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(PeerError::Start {
            what,
            detail: format!(
                "{}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| PeerError::Start {
        what: "PostgreSQL",
        detail: format!("temporary path is not UTF-8: {}", path.display()),
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// `bytes` random bytes from the OS, hex-encoded.
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|source| PeerError::Io {
            what: "reading /dev/urandom",
            source,
        })?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
