//! `moto_server`, the AWS API emulator, on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::Command;
use std::time::Duration;

use crate::process::{Guard, free_port, port_open};
use crate::{PeerError, Result, tools};

/// A running `moto_server`; stopped on drop.
#[derive(Debug)]
pub struct MotoServer {
    _guard: Guard,
    port: u16,
}

/// The region tests use; moto accepts any.
pub const REGION: &str = "us-east-1";

impl MotoServer {
    /// Starts a fresh server on a free loopback port and waits until it answers.
    pub fn start() -> Result<MotoServer> {
        let exe = tools::moto_server()?;
        // A port freed by the OS can be taken again before moto binds it:
        // retry a few times rather than fail a test on that race.
        let mut last = None;
        for _ in 0..3 {
            let port = free_port()?;
            let mut cmd = Command::new(&exe);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            let mut guard = Guard::spawn("moto_server", cmd)?;
            match guard.wait_for("moto_server", Duration::from_secs(60), |_| {
                (port_open(port) && http(port, "GET", "/moto-api/").is_ok()).then_some(())
            }) {
                Ok(()) => {
                    return Ok(MotoServer {
                        _guard: guard,
                        port,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(PeerError::Start {
            what: "moto_server",
            detail: "no attempt".into(),
        }))
    }

    /// `http://127.0.0.1:PORT`, for the SDK's endpoint override.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Forgets every resource (moto's reset endpoint), so tests sharing a
    /// server start from an empty account.
    pub fn reset(&self) -> Result<()> {
        let (status, body) = http(self.port, "POST", "/moto-api/reset")?;
        if status == 200 {
            Ok(())
        } else {
            Err(PeerError::Start {
                what: "moto reset",
                detail: format!("HTTP {status}: {body}"),
            })
        }
    }
}

/// A minimal HTTP/1.1 request to 127.0.0.1:port; returns status and body.
pub fn http(port: u16, method: &str, path: &str) -> Result<(u16, String)> {
    let io = |source| PeerError::Io {
        what: "talking to moto_server",
        source,
    };
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(io)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| PeerError::Start {
            what: "moto_server",
            detail: format!(
                "not an HTTP answer: {}",
                response.lines().next().unwrap_or("")
            ),
        })?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
