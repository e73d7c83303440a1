//! The few EC2 (and IAM) Query API calls the moto deploy test makes, over
//! plain HTTP to an emulator on 127.0.0.1.
//!
//! moto does not verify signatures; it only reads the service name from the
//! `Authorization` header's credential scope, which is all this sends. This is
//! for the emulator only: it refuses any host but 127.0.0.1 by construction
//! (it takes a port, not a URL).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use crate::{GateError, Result};

/// Calls `action` with `params` on the EC2 API of the emulator listening on
/// 127.0.0.1:`port`, and returns the XML answer; an HTTP error status is an
/// error carrying the answer.
pub fn call(port: u16, action: &str, params: &[(&str, &str)]) -> Result<String> {
    query(port, "ec2", "2016-11-15", action, params)
}

/// Calls `action` of the IAM Query API (same emulator, same rules as [`call`]).
pub fn iam(port: u16, action: &str, params: &[(&str, &str)]) -> Result<String> {
    query(port, "iam", "2010-05-08", action, params)
}

fn query(
    port: u16,
    service: &str,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
) -> Result<String> {
    let io = |source| GateError::Http { port, source };
    let mut body = format!("Action={}&Version={version}", form_encode(action));
    for (key, value) in params {
        body.push('&');
        body.push_str(&form_encode(key));
        body.push('=');
        body.push_str(&form_encode(value));
    }
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(io)?;
    write!(
        stream,
        "POST / HTTP/1.1\r\n\
         Host: 127.0.0.1:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
         SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(io)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(io)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let xml = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    if status == 200 {
        Ok(dechunk(&response, xml))
    } else {
        Err(GateError::Parse {
            what: format!("{service} {action}"),
            detail: format!("HTTP {status}: {xml}"),
        })
    }
}

/// Undoes chunked transfer encoding when the server used it.
fn dechunk(response: &str, body: String) -> String {
    let headers = response.split("\r\n\r\n").next().unwrap_or_default();
    if !headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body;
    }
    let mut out = String::new();
    let mut rest = body.as_str();
    while let Some((size_line, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size_line.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The text of every `<tag>...</tag>` element, in document order (the
/// answers this module reads are small and flat enough for this).
pub fn elements(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        out.push(after[..end].to_owned());
        rest = &after[end + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_reserved_bytes() {
        assert_eq!(form_encode("a b/c=d&e"), "a%20b%2Fc%3Dd%26e");
        assert_eq!(form_encode("Filter.1.Name"), "Filter.1.Name");
    }

    #[test]
    fn elements_are_found_in_order() {
        let xml = "<a><id>one</id><x/><id>two</id></a>";
        assert_eq!(elements(xml, "id"), vec!["one", "two"]);
        assert!(elements(xml, "missing").is_empty());
    }
}
