//! The job config from the instance's user data (IMDSv2).
//!
//! User data is the job config in TOML (the format of
//! `assessor/examples/job.toml`), with one addition: `[targets.tls]
//! ca_bundle_pem` (PEM text) or `ca_bundle_base64` (base64 of it, what the
//! CloudFormation stack passes) may carry a CA bundle inline, since user data
//! is one document. [`materialize`] writes each inline bundle to a file next to the
//! config and points `ca_bundle` at it, then validates the result exactly as
//! `assessor run` will, so a bad config fails here with every problem listed.
//!
//! The optional `[break_glass]` table (operator SSH keys for the break-glass
//! image, see [`super::break_glass`]) is taken out and validated before the
//! rest is read as the job config; on an image without an SSH server it is
//! refused.
//!
//! Guarantees: IMDSv2 only (the SDK's client asks for a session token first;
//! a metadata service that only speaks IMDSv1 is refused); nothing secret is
//! expected in user data (credentials are named by their secret's id); the
//! files are written owner-only.

use std::path::{Path, PathBuf};

use super::break_glass::{self, AuthorizedKey, BreakGlassError, SshServer};
use crate::config::{ConfigError, JobConfig};

/// Why the config could not be fetched or written.
#[derive(Debug, thiserror::Error)]
pub enum UserDataError {
    #[error(
        "cannot read the instance's user data over IMDSv2: {detail}; the appliance reads its job \
         config there (see README, \"The appliance job\")"
    )]
    Imds { detail: String },
    #[error("the instance's user data is not a TOML job config: {detail}")]
    NotToml { detail: String },
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error(transparent)]
    BreakGlass(#[from] BreakGlassError),
    #[error(
        "job.session_dir ({}) must be a directory inside {}, the appliance's encrypted session \
         volume, but {why}; e.g. \"{}/session\"",
        session_dir.display(),
        mount.display(),
        mount.display()
    )]
    SessionDirOutsideVolume {
        session_dir: PathBuf,
        mount: PathBuf,
        why: String,
    },
    #[error(
        "job.session_dir ({}) goes through the symbolic link {}: the session store must be on \
         real directories of the encrypted session volume ({}), so a link that could lead off \
         it is refused; remove the link or choose another directory",
        session_dir.display(),
        link.display(),
        mount.display()
    )]
    SessionDirThroughSymlink {
        session_dir: PathBuf,
        mount: PathBuf,
        link: PathBuf,
    },
    #[error(
        "cannot check that job.session_dir ({}) is on the encrypted session volume: reading {} \
         failed: {source}",
        session_dir.display(),
        path.display()
    )]
    SessionDirUnreadable {
        session_dir: PathBuf,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "job.confinement in the user data is not \"required\", but the appliance always \
         confines the job with Landlock: remove the key or set it to \"required\""
    )]
    WeakerConfinement,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads the user data through the instance metadata service (the SDK's
/// IMDSv2 client: `AWS_EC2_METADATA_SERVICE_ENDPOINT` overrides the address).
pub async fn fetch() -> Result<String, UserDataError> {
    let client = aws_config::imds::Client::builder().build();
    let data = client
        .get("/latest/user-data")
        .await
        .map_err(|e| UserDataError::Imds {
            detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
        })?;
    Ok(data.as_ref().to_owned())
}

/// What [`materialize_for`] wrote and found.
#[derive(Debug)]
pub struct Materialized {
    pub config: JobConfig,
    /// The `[break_glass]` keys, validated (empty without the table). sshd
    /// reads them itself at login; they are returned to be counted.
    pub break_glass: Vec<AuthorizedKey>,
}

/// Turns user data into a job config file at `config_path`: inline CA
/// bundles become files beside it. Returns the validated config. A
/// `[break_glass]` table is accepted only on the break-glass image
/// ([`SshServer::detect`]).
pub fn materialize(user_data: &str, config_path: &Path) -> Result<JobConfig, UserDataError> {
    materialize_for(user_data, config_path, SshServer::detect()).map(|m| m.config)
}

/// [`materialize`] on an image with or without the break-glass SSH server.
pub fn materialize_for(
    user_data: &str,
    config_path: &Path,
    ssh: SshServer,
) -> Result<Materialized, UserDataError> {
    let mut doc: toml::Table =
        user_data
            .parse()
            .map_err(|e: toml::de::Error| UserDataError::NotToml {
                detail: e.message().to_owned(),
            })?;
    let keys = break_glass::take(&mut doc, ssh)?.unwrap_or_default();
    require_confinement(&mut doc)?;
    let dir = config_path.parent().unwrap_or(Path::new("."));
    let mut bundles = Vec::new();
    if let Some(targets) = doc.get_mut("targets").and_then(toml::Value::as_array_mut) {
        for (i, target) in targets.iter_mut().enumerate() {
            let Some(tls) = target.get_mut("tls").and_then(toml::Value::as_table_mut) else {
                continue;
            };
            let pem = match (tls.remove("ca_bundle_pem"), tls.remove("ca_bundle_base64")) {
                (None, None) => continue,
                (Some(pem), None) => pem.as_str().unwrap_or_default().to_owned(),
                (None, Some(encoded)) => {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(encoded.as_str().unwrap_or_default().trim())
                        .map_err(|e| UserDataError::NotToml {
                            detail: format!("targets[{i}].tls.ca_bundle_base64 is not base64: {e}"),
                        })?;
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                (Some(_), Some(_)) => {
                    return Err(UserDataError::NotToml {
                        detail: format!(
                            "targets[{i}].tls has both ca_bundle_pem and ca_bundle_base64; keep one"
                        ),
                    });
                }
            };
            let path = dir.join(format!("ca-bundle-{i}.pem"));
            tls.insert(
                "ca_bundle".into(),
                toml::Value::String(path.display().to_string()),
            );
            bundles.push((path, pem));
        }
    }
    let text = toml::to_string(&doc).map_err(|e| UserDataError::NotToml {
        detail: e.to_string(),
    })?;
    let config = JobConfig::parse(&text, Path::new("user-data"))?;
    // Refused before anything is written: the session PostgreSQL must live
    // on the dm-crypt volume, never on the plain /var.
    check_inside_volume(
        &config.job.session_dir,
        Path::new(super::session_volume::MOUNT),
    )?;
    for (path, pem) in &bundles {
        write_private(path, pem.as_bytes())?;
    }
    write_private(config_path, text.as_bytes())?;
    Ok(Materialized {
        config,
        break_glass: keys,
    })
}

/// Sets `job.confinement = "required"`: on the appliance the job never runs
/// unconfined (SECURITY.md, C37), whatever the user data says; a weaker
/// value there is refused rather than silently overridden.
fn require_confinement(doc: &mut toml::Table) -> Result<(), UserDataError> {
    // A missing or malformed [job] is left to the config's own checks.
    let Some(job) = doc.get_mut("job").and_then(toml::Value::as_table_mut) else {
        return Ok(());
    };
    let required = crate::config::Confinement::Required.word();
    match job.get("confinement") {
        None => {
            job.insert("confinement".into(), toml::Value::String(required.into()));
            Ok(())
        }
        Some(toml::Value::String(value)) if value == required => Ok(()),
        Some(_) => Err(UserDataError::WeakerConfinement),
    }
}

/// Checks that `session_dir` is inside `mount` on disk, not only in name
/// (`Path::starts_with` compares components and would let `mount/../x`
/// through):
/// - no `.` or `..` component, and strictly below `mount`;
/// - no symbolic link on the way down from `mount` (one inside the volume
///   could point anywhere);
/// - the nearest existing ancestor, canonicalized, is inside the
///   canonicalized `mount`.
///
/// What does not exist yet is created later by the run as plain directories.
/// When `mount` itself does not exist (the volume is not open, as on a
/// developer machine), only the name can be checked.
fn check_inside_volume(session_dir: &Path, mount: &Path) -> Result<(), UserDataError> {
    use std::path::Component;
    let outside = |why: String| UserDataError::SessionDirOutsideVolume {
        session_dir: session_dir.to_owned(),
        mount: mount.to_owned(),
        why,
    };
    let unreadable = |path: &Path| {
        let path = path.to_owned();
        move |source| UserDataError::SessionDirUnreadable {
            session_dir: session_dir.to_owned(),
            path,
            source,
        }
    };
    if session_dir
        .components()
        .any(|c| matches!(c, Component::CurDir | Component::ParentDir))
    {
        return Err(outside("it has a `.` or `..` component".into()));
    }
    let below = match session_dir.strip_prefix(mount) {
        Ok(below) if below.as_os_str().is_empty() => {
            return Err(outside("it is the mount point itself".into()));
        }
        Ok(below) => below,
        Err(_) => return Err(outside("it is not below it".into())),
    };
    let mut nearest = mount.exists().then(|| mount.to_owned());
    let mut at = mount.to_owned();
    for component in below.components() {
        at.push(component);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(UserDataError::SessionDirThroughSymlink {
                    session_dir: session_dir.to_owned(),
                    mount: mount.to_owned(),
                    link: at,
                });
            }
            Ok(_) => nearest = Some(at.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(unreadable(&at)(e)),
        }
    }
    if let Some(existing) = nearest {
        let real_mount = std::fs::canonicalize(mount).map_err(unreadable(mount))?;
        let real = std::fs::canonicalize(&existing).map_err(unreadable(&existing))?;
        if !real.starts_with(&real_mount) {
            return Err(outside(format!(
                "{} resolves to {}",
                existing.display(),
                real.display()
            )));
        }
    }
    Ok(())
}

/// Writes `bytes` to `path`, readable by the owner only, replacing it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), UserDataError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|source| UserDataError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_DATA: &str = r#"
[job]
region = "eu-west-1"
kms_key_id = "alias/sqlassess"
session_dir = "/var/lib/sqlassess/volume/session"
power_off_when_done = true

[report]
bucket = "reports"

[[targets]]
name = "sql-01"
secret_id = "sqlassess/sql-01"
host = "10.20.2.15"

[targets.tls]
mode = "required"
ca_bundle_pem = """
-----BEGIN CERTIFICATE-----
MIIB
-----END CERTIFICATE-----
"""
"#;

    #[test]
    fn inline_ca_bundles_become_files_and_the_config_validates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        let config = materialize(USER_DATA, &path).unwrap();
        assert!(config.job.power_off_when_done);
        // The appliance's job is always confined (C37).
        assert_eq!(config.job.confinement, crate::config::Confinement::Required);
        let bundle = config.targets[0].tls.ca_bundle.clone().unwrap();
        assert_eq!(bundle, dir.path().join("ca-bundle-0.pem"));
        assert!(
            std::fs::read_to_string(&bundle)
                .unwrap()
                .contains("BEGIN CERTIFICATE")
        );
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(!written.contains("ca_bundle_pem"));
        assert_eq!(JobConfig::load(&path).unwrap(), config);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn user_data_cannot_weaken_the_appliance_confinement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        let weaker = USER_DATA.replace(
            "power_off_when_done = true",
            "power_off_when_done = true\nconfinement = \"best-effort\"",
        );
        let err = materialize(&weaker, &path).unwrap_err();
        assert!(matches!(err, UserDataError::WeakerConfinement), "{err}");
        assert!(err.to_string().contains("always confines"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let explicit = USER_DATA.replace(
            "power_off_when_done = true",
            "power_off_when_done = true\nconfinement = \"required\"",
        );
        let config = materialize(&explicit, &path).unwrap();
        assert_eq!(config.job.confinement, crate::config::Confinement::Required);
    }

    #[test]
    fn a_session_dir_off_the_encrypted_volume_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        let data = USER_DATA.replace("/var/lib/sqlassess/volume/session", "/var/lib/session");
        let err = materialize(&data, &path).unwrap_err();
        assert!(
            matches!(err, UserDataError::SessionDirOutsideVolume { .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("/var/lib/sqlassess/volume"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_session_dir_climbing_out_of_the_volume_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        let data = USER_DATA.replace(
            "/var/lib/sqlassess/volume/session",
            "/var/lib/sqlassess/volume/../x",
        );
        let err = materialize(&data, &path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, UserDataError::Invalid(_)), "{msg}");
        assert!(msg.contains("job.session_dir"), "{msg}");
        assert!(msg.contains("`..` component"), "{msg}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Below the config check, the volume check refuses it on its own.
        let mount = Path::new(super::super::session_volume::MOUNT);
        let err = check_inside_volume(&mount.join("../x"), mount).unwrap_err();
        assert!(err.to_string().contains("`..` component"), "{err}");
        let err = check_inside_volume(mount, mount).unwrap_err();
        assert!(err.to_string().contains("mount point itself"), "{err}");
    }

    #[test]
    fn a_symlink_inside_the_volume_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let volume = tmp.path().join("volume");
        let outside = tmp.path().join("plain");
        std::fs::create_dir_all(volume.join("real")).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, volume.join("link")).unwrap();
        // Even a link that stays inside is refused: only real directories.
        std::os::unix::fs::symlink(volume.join("real"), volume.join("inner")).unwrap();

        check_inside_volume(&volume.join("real/session"), &volume).unwrap();
        check_inside_volume(&volume.join("new/session"), &volume).unwrap();
        for dir in ["link", "link/session", "inner/session"] {
            let err = check_inside_volume(&volume.join(dir), &volume).unwrap_err();
            assert!(
                matches!(&err, UserDataError::SessionDirThroughSymlink { link, .. }
                    if link.parent() == Some(volume.as_path())),
                "{dir}: {err}"
            );
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        // A volume reached through a link resolves consistently.
        let alias = tmp.path().join("alias");
        std::os::unix::fs::symlink(&volume, &alias).unwrap();
        check_inside_volume(&alias.join("real/session"), &alias).unwrap();
        let err = check_inside_volume(&outside.join("session"), &volume).unwrap_err();
        assert!(err.to_string().contains("not below it"), "{err}");
    }

    #[test]
    fn a_base64_bundle_is_decoded() {
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let encoded = base64::engine::general_purpose::STANDARD.encode(pem);
        let start = USER_DATA.find("ca_bundle_pem").unwrap();
        let data = format!("{}ca_bundle_base64 = \"{encoded}\"\n", &USER_DATA[..start]);
        let config = materialize(&data, &path).unwrap();
        let bundle = config.targets[0].tls.ca_bundle.clone().unwrap();
        assert_eq!(std::fs::read_to_string(bundle).unwrap(), pem);
    }

    #[test]
    fn bad_user_data_is_refused_with_the_problem_and_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        let err = materialize("#cloud-config\nwrite_files: []\n", &path).unwrap_err();
        assert!(matches!(err, UserDataError::NotToml { .. }), "{err}");
        let err = materialize(&USER_DATA.replace("bucket", "bukket"), &path).unwrap_err();
        assert!(err.to_string().contains("bukket"), "{err}");
        let both = USER_DATA.replace(
            "ca_bundle_pem",
            "ca_bundle_base64 = \"AAAA\"\nca_bundle_pem",
        );
        let err = materialize(&both, &path).unwrap_err();
        assert!(err.to_string().contains("keep one"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn a_break_glass_table_is_kept_out_of_the_job_config_and_needs_an_ssh_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        let data = format!(
            "{USER_DATA}\n[break_glass]\nauthorized_keys = [\"ssh-ed25519 \
             AAAAC3NzaC1lZDI1NTE5AAAAINOjsM9Vyyv0wTc069vQVRTMbRxgm7vYCtYXqCyvI9sD op@host\"]\n"
        );
        let m = materialize_for(&data, &path, SshServer::Present).unwrap();
        assert_eq!(m.break_glass.len(), 1);
        assert!(
            !std::fs::read_to_string(&path)
                .unwrap()
                .contains("break_glass")
        );
        std::fs::remove_file(&path).unwrap();

        let err = materialize_for(&data, &path, SshServer::Absent).unwrap_err();
        assert!(err.to_string().contains("no SSH server"), "{err}");
        assert!(!path.exists());
        let bad = data.replace("ssh-ed25519 ", "no-pty ssh-ed25519 ");
        let err = materialize_for(&bad, &path, SshServer::Present).unwrap_err();
        assert!(err.to_string().contains("authorized_keys[0]"), "{err}");
        assert!(!path.exists());
    }
}
