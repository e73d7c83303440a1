//! Child processes that die with their handle.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{PeerError, Result};

/// A running child process; killed (and reaped) on drop.
#[derive(Debug)]
pub struct Guard {
    child: Child,
    /// Everything the child wrote to stdout and stderr, for error messages.
    output: Arc<Mutex<String>>,
}

impl Guard {
    /// Spawns `cmd` with stdout and stderr captured into [`Guard::output`].
    pub fn spawn(what: &'static str, mut cmd: Command) -> Result<Guard> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| PeerError::Start {
            what,
            detail: e.to_string(),
        })?;
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                    let mut out = sink.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        Ok(Guard { child, output })
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until `ready(output)` returns a value, or fails with the output.
    pub fn wait_for<T>(
        &mut self,
        what: &'static str,
        timeout: Duration,
        mut ready: impl FnMut(&str) -> Option<T>,
    ) -> Result<T> {
        let start = Instant::now();
        loop {
            if let Some(v) = ready(&self.output()) {
                return Ok(v);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return Err(PeerError::Start {
                    what,
                    detail: format!("exited with {status}; output:\n{}", self.output()),
                });
            }
            if start.elapsed() > timeout {
                return Err(PeerError::NotReady {
                    what,
                    seconds: timeout.as_secs(),
                    output: self.output(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (the OS picks; the listener is released).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| PeerError::Io {
        what: "binding a free port",
        source,
    })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| PeerError::Io {
            what: "reading the free port",
            source,
        })
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(200),
    )
    .is_ok()
}
