//! The break-glass SSH keys: an operator's public keys from the `[break_glass]`
//! table of the instance's user data, for the break-glass image only.
//!
//! The image is the same for every customer, so the key comes at launch:
//!
//! ```toml
//! [break_glass]
//! authorized_keys = ["ssh-ed25519 AAAAC3Nza... operator@example"]
//! ```
//!
//! The break-glass image's sshd asks for the keys at each login
//! (`AuthorizedKeysCommand`, see `image-builder/files/ssh-overlay/etc/ssh/
//! sshd_config`): `assessor appliance authorized-keys USER` reads the user
//! data over IMDSv2 and prints the validated keys, only for [`USER`]. Nothing
//! is written to disk, so no file can be planted or go stale, and the keys
//! work whatever state the job is in (a broken job config is exactly when
//! break-glass is needed). `fetch-config` validates the table too and refuses
//! it on an image without an SSH server ([`MARKER`]), so a key meant for the
//! break-glass image is never silently ignored.
//!
//! Accepted keys: `ssh-ed25519`, `ecdsa-sha2-nistp256/384/521` and `ssh-rsa`
//! of at least [`MIN_RSA_BITS`] bits, as `TYPE BASE64 [COMMENT]`. The key
//! blob is decoded and checked (its type, sizes, nothing after it). Options
//! (`command=`, `from=` ...) are refused rather than interpreted: the line
//! must start with the key type. Only the type and the re-encoded blob are
//! printed for sshd; the comment is dropped.

use base64::Engine;

/// The one account sshd lets in (`AllowUsers` in the image's sshd_config;
/// created by the ssh overlay's sysusers.d file).
pub const USER: &str = "breakglass";

/// Installed by the break-glass image's overlay: this image has an SSH server.
pub const MARKER: &str = "/usr/lib/sqlassess/break-glass-ssh";

/// RSA keys below this size are refused (sshd's `RequiredRSASize` too).
pub const MIN_RSA_BITS: usize = 3072;

/// More keys than this is a mistake, not a team.
const MAX_KEYS: usize = 16;
const MAX_LINE: usize = 16 * 1024;

/// Why the `[break_glass]` table is refused. Keys are public; errors still
/// name a key by its position only.
#[derive(Debug, thiserror::Error)]
pub enum BreakGlassError {
    #[error(
        "the user data has a [break_glass] table but this image has no SSH server; launch the \
         break-glass image (profiles/appliance-ssh.toml) or remove the table"
    )]
    NoSshServer,
    #[error("[break_glass] {problem}")]
    Table { problem: String },
    #[error("break_glass.authorized_keys[{index}] is not accepted: {problem}")]
    Key { index: usize, problem: String },
}

/// Whether this image has the break-glass SSH server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshServer {
    Present,
    Absent,
}

impl SshServer {
    /// Looks for [`MARKER`] on this machine.
    pub fn detect() -> SshServer {
        if std::path::Path::new(MARKER).exists() {
            SshServer::Present
        } else {
            SshServer::Absent
        }
    }
}

/// A validated public key: its type and its decoded blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedKey {
    pub algorithm: &'static str,
    blob: Vec<u8>,
}

impl AuthorizedKey {
    /// `SHA256:...` as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.blob);
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest.as_ref());
        format!("SHA256:{b64}")
    }
}

/// The `authorized_keys` line sshd reads: type and blob, no options, no comment.
impl std::fmt::Display for AuthorizedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.blob);
        write!(f, "{} {b64}", self.algorithm)
    }
}

/// Parses one `TYPE BASE64 [COMMENT]` line.
pub fn parse_key(line: &str) -> Result<AuthorizedKey, String> {
    if line.len() > MAX_LINE || line.contains(['\n', '\r', '\0']) {
        return Err("not a single line of a sensible length".into());
    }
    let mut fields = line.split_whitespace();
    let (Some(kind), Some(b64)) = (fields.next(), fields.next()) else {
        return Err("expected `TYPE BASE64 [COMMENT]`, e.g. `ssh-ed25519 AAAA...`".into());
    };
    let algorithm = match kind {
        "ssh-ed25519" => "ssh-ed25519",
        "ecdsa-sha2-nistp256" => "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384" => "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521" => "ecdsa-sha2-nistp521",
        "ssh-rsa" => "ssh-rsa",
        _ => {
            return Err(
                "the line must start with the key type (ssh-ed25519, ecdsa-sha2-nistp256/384/521 \
                 or ssh-rsa); options such as command= or from= are not accepted"
                    .into(),
            );
        }
    };
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "the key is not base64".to_owned())?;
    let mut r = Reader(&blob);
    if r.string()? != algorithm.as_bytes() {
        return Err("the key's blob is of another type than the line says".into());
    }
    match algorithm {
        "ssh-ed25519" => {
            if r.string()?.len() != 32 {
                return Err("an ed25519 key is 32 bytes".into());
            }
        }
        "ssh-rsa" => {
            let e = r.mpint()?;
            let n = r.mpint()?;
            if e.last().is_none_or(|b| b & 1 == 0) || n.is_empty() {
                return Err("not a valid RSA public key".into());
            }
            let bits = n.len() * 8 - n[0].leading_zeros() as usize;
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "an RSA key of {bits} bits; at least {MIN_RSA_BITS} are required (prefer ed25519)"
                ));
            }
        }
        ecdsa => {
            let curve = ecdsa.trim_start_matches("ecdsa-sha2-");
            if r.string()? != curve.as_bytes() {
                return Err("the key's curve differs from its type".into());
            }
            let point = r.string()?;
            let size = match curve {
                "nistp256" => 65,
                "nistp384" => 97,
                _ => 133,
            };
            if point.len() != size || point[0] != 4 {
                return Err("not an uncompressed point of the key's curve".into());
            }
        }
    }
    if !r.0.is_empty() {
        return Err("bytes after the key".into());
    }
    Ok(AuthorizedKey { algorithm, blob })
}

/// Reads SSH wire-format strings (RFC 4251).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn string(&mut self) -> Result<&'a [u8], String> {
        let bad = || "the key's blob is truncated".to_owned();
        let (len, rest) = self.0.split_at_checked(4).ok_or_else(bad)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (s, rest) = rest.split_at_checked(len).ok_or_else(bad)?;
        self.0 = rest;
        Ok(s)
    }

    /// A non-negative mpint without its leading zero bytes.
    fn mpint(&mut self) -> Result<&'a [u8], String> {
        let s = self.string()?;
        if s.first().is_some_and(|b| b & 0x80 != 0) {
            return Err("a negative RSA number".into());
        }
        let zeros = s.iter().take_while(|b| **b == 0).count();
        Ok(&s[zeros..])
    }
}

/// Takes the `[break_glass]` table out of a user-data document, so the rest
/// is the job config, and validates it. `None`: there is none.
pub fn take(
    doc: &mut toml::Table,
    ssh: SshServer,
) -> Result<Option<Vec<AuthorizedKey>>, BreakGlassError> {
    let Some(value) = doc.remove("break_glass") else {
        return Ok(None);
    };
    if ssh == SshServer::Absent {
        return Err(BreakGlassError::NoSshServer);
    }
    keys(&value).map(Some)
}

/// The validated keys of a `[break_glass]` table.
pub fn keys(value: &toml::Value) -> Result<Vec<AuthorizedKey>, BreakGlassError> {
    let table_err = |problem: &str| BreakGlassError::Table {
        problem: problem.to_owned(),
    };
    let table = value
        .as_table()
        .ok_or_else(|| table_err("must be a table with authorized_keys = [\"ssh-ed25519 ...\"]"))?;
    if let Some(other) = table.keys().find(|k| *k != "authorized_keys") {
        return Err(table_err(&format!(
            "has an unknown key `{other}`; the only key is authorized_keys"
        )));
    }
    let list = table
        .get("authorized_keys")
        .and_then(toml::Value::as_array)
        .ok_or_else(|| table_err("needs authorized_keys = [\"ssh-ed25519 ...\"] (a list)"))?;
    if list.is_empty() || list.len() > MAX_KEYS {
        return Err(table_err(&format!(
            "authorized_keys must list 1 to {MAX_KEYS} keys; remove the table for none"
        )));
    }
    list.iter()
        .enumerate()
        .map(|(index, v)| {
            let line = v.as_str().ok_or_else(|| BreakGlassError::Key {
                index,
                problem: "not a string".into(),
            })?;
            parse_key(line).map_err(|problem| BreakGlassError::Key { index, problem })
        })
        .collect()
}

/// What `assessor appliance authorized-keys USER` prints: the keys, one a
/// line, for [`USER`]; nothing for anyone else or without a table.
pub fn authorized_keys_for(user: &str, user_data: &str) -> Result<String, BreakGlassError> {
    if user != USER {
        return Ok(String::new());
    }
    let doc: toml::Table = user_data.parse().map_err(|_| BreakGlassError::Table {
        problem: "cannot be read: the user data is not TOML".into(),
    })?;
    let Some(value) = doc.get("break_glass") else {
        return Ok(String::new());
    };
    Ok(keys(value)?.iter().map(|k| format!("{k}\n")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Public keys from `ssh-keygen -t ed25519` and `ssh-keygen -t ecdsa`.
    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINOjsM9Vyyv0wTc069vQVRTMbRxgm7vYCtYXqCyvI9sD op@host";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHHT/q67fUxBitCi2nIdqFGWZnFSgawiBCwYLiqCJIk07h5tMd6v0t/Po0S+VC1PVafnObScH7DENHOYTU8o0Ys=";

    fn rsa(bits: usize) -> String {
        // A syntactically valid RSA public key of `bits` bits (e = 65537).
        let mut blob = Vec::new();
        let mut put = |s: &[u8]| {
            blob.extend_from_slice(&(s.len() as u32).to_be_bytes());
            blob.extend_from_slice(s);
        };
        put(b"ssh-rsa");
        put(&[1, 0, 1]);
        let mut n = vec![0u8];
        n.push(0xc5);
        n.extend(std::iter::repeat_n(0x5a, bits / 8 - 1));
        put(&n);
        format!(
            "ssh-rsa {}",
            base64::engine::general_purpose::STANDARD.encode(&blob)
        )
    }

    #[test]
    fn accepted_keys_are_printed_without_comment_or_options() {
        let k = parse_key(ED25519).unwrap();
        assert_eq!(k.algorithm, "ssh-ed25519");
        assert_eq!(k.to_string(), ED25519.trim_end_matches(" op@host"));
        // As `ssh-keygen -l` prints it.
        assert_eq!(
            k.fingerprint(),
            "SHA256:p+8sehMXO9jXJNYumAB4tXRGmbCOZSuEst+rgLglD9s"
        );
        assert_eq!(parse_key(ECDSA).unwrap().to_string(), ECDSA);
        assert!(parse_key(&rsa(3072)).is_ok());
    }

    #[test]
    fn weak_malformed_and_optioned_keys_are_refused() {
        let bad = [
            (rsa(2048), "2048 bits"),
            (format!("command=\"sh\" {ED25519}"), "options"),
            (format!("from=\"10.0.0.1\",{ED25519}"), "options"),
            ("ssh-dss AAAAB3NzaC1kc3M=".into(), "key type"),
            ("ssh-ed25519".into(), "TYPE BASE64"),
            ("ssh-ed25519 !!!".into(), "base64"),
            (
                ED25519.replacen("ssh-ed25519", "ecdsa-sha2-nistp256", 1),
                "another type",
            ),
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAQA=".into(),
                "32 bytes",
            ),
            ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA".into(), "truncated"),
            (format!("{ED25519}\nssh-ed25519 x"), "single line"),
        ];
        for (line, why) in bad {
            let err = parse_key(&line).unwrap_err();
            assert!(err.contains(why), "{line}: {err}");
        }
    }

    fn doc(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn the_table_is_taken_out_and_refused_without_an_ssh_server() {
        let text = format!("[job]\nregion='x'\n[break_glass]\nauthorized_keys=['{ED25519}']\n");
        let mut d = doc(&text);
        let keys = take(&mut d, SshServer::Present).unwrap().unwrap();
        assert_eq!(keys.len(), 1);
        assert!(!d.contains_key("break_glass") && d.contains_key("job"));

        let err = take(&mut doc(&text), SshServer::Absent).unwrap_err();
        assert!(matches!(err, BreakGlassError::NoSshServer), "{err}");
        assert_eq!(take(&mut doc("[job]\n"), SshServer::Absent).unwrap(), None);

        for (bad, why) in [
            ("break_glass = 1", "must be a table"),
            ("[break_glass]\nauthorized_keys = []", "1 to 16"),
            (
                "[break_glass]\nauthorised_keys = []",
                "unknown key `authorised_keys`",
            ),
            ("[break_glass]\nauthorized_keys = [1]", "authorized_keys[0]"),
        ] {
            let err = take(&mut doc(bad), SshServer::Present).unwrap_err();
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn keys_are_printed_only_for_the_break_glass_user() {
        let text = format!("[break_glass]\nauthorized_keys=['{ED25519}', '{ECDSA}']\n");
        let out = authorized_keys_for(USER, &text).unwrap();
        assert_eq!(out.lines().count(), 2);
        assert!(!out.contains("op@host"));
        assert_eq!(authorized_keys_for("root", &text).unwrap(), "");
        assert_eq!(authorized_keys_for(USER, "[job]\n").unwrap(), "");
        assert!(authorized_keys_for(USER, "write_files: []\n").is_err());
    }
}
