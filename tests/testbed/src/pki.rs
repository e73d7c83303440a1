//! A throwaway certificate authority for TLS tests.
//!
//! rustls rejects a self-signed CA certificate used directly as a server
//! certificate, and a real SQL Server presents a leaf signed by some CA, so the
//! tests do the same: a CA, and leaves it signs for the names a test wants.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, date_time_ymd,
};
use tempfile::TempDir;

use crate::{PeerError, Result};

/// A CA with its key, writing PEM files into a private temporary directory.
#[derive(Debug)]
pub struct TestPki {
    dir: TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
    ca_path: PathBuf,
}

/// A leaf certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

/// How long a leaf is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// 2020 to 2100.
    Current,
    /// 2019 to 2020: expired.
    Expired,
}

impl Validity {
    /// The notAfter of a leaf [`TestPki::leaf`] makes with this validity:
    /// RFC 3339 in UTC, and seconds since the Unix epoch.
    pub fn not_after(self) -> (&'static str, i64) {
        match self {
            Validity::Current => ("2100-01-01T00:00:00Z", 4_102_444_800),
            Validity::Expired => ("2020-01-01T00:00:00Z", 1_577_836_800),
        }
    }
}

fn gen_err(e: rcgen::Error) -> PeerError {
    PeerError::Start {
        what: "test PKI",
        detail: e.to_string(),
    }
}

impl TestPki {
    /// A new CA named `name` (the name shows in certificate errors).
    pub fn new(name: &str) -> Result<TestPki> {
        let dir = tempfile::Builder::new()
            .prefix("testbed-pki-")
            .tempdir()
            .map_err(|source| PeerError::Io {
                what: "creating the PKI directory",
                source,
            })?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2100, 1, 1);
        let key = KeyPair::generate().map_err(gen_err)?;
        let ca = CertifiedIssuer::self_signed(params, key).map_err(gen_err)?;
        let ca_path = dir.path().join("ca.pem");
        write(&ca_path, &ca.pem())?;
        Ok(TestPki { dir, ca, ca_path })
    }

    /// The CA certificate (PEM), to give to a client as its trust bundle.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by
    /// this CA. `file_stem` names the files.
    pub fn leaf(&self, file_stem: &str, names: &[&str], validity: Validity) -> Result<Leaf> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        for name in names {
            params.subject_alt_names.push(match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into().map_err(gen_err)?),
            });
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        (params.not_before, params.not_after) = match validity {
            Validity::Current => (date_time_ymd(2020, 1, 1), date_time_ymd(2100, 1, 1)),
            Validity::Expired => (date_time_ymd(2019, 1, 1), date_time_ymd(2020, 1, 1)),
        };
        let key = KeyPair::generate().map_err(gen_err)?;
        let cert = params.signed_by(&key, &self.ca).map_err(gen_err)?;
        let leaf = Leaf {
            cert_path: self.dir.path().join(format!("{file_stem}.pem")),
            key_path: self.dir.path().join(format!("{file_stem}.key")),
        };
        write(&leaf.cert_path, &cert.pem())?;
        write(&leaf.key_path, &key.serialize_pem())?;
        Ok(leaf)
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| PeerError::Io {
        what: "writing a PEM file",
        source,
    })
}
