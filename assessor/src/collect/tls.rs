//! Transport security towards SQL Server.
//!
//! Decisions (and why):
//! - **Encryption is always required.** [`TlsPolicy`] has no plaintext and no
//!   login-only mode: a server that does not offer encryption is refused,
//!   never downgraded to. Login-only encryption ("encrypt=false" in other
//!   drivers) protects the password but leaves every collected definition in
//!   clear on the wire, so it is not representable here.
//! - **The certificate chain and host name are verified** (rustls with the
//!   aws-lc-rs provider). Servers reached by IP address name the expected
//!   certificate name with `hostname_in_certificate`.
//! - **Only the customer's CA vouches for a server by default**
//!   ([`TrustAnchors::Private`], `tls.ca = "private"`): the system's public
//!   roots are not loaded at all. A database server's certificate comes from
//!   the organisation's own CA; if public CAs could vouch for it, whoever got a
//!   publicly trusted certificate for a name the config (or a poisoned DNS
//!   answer) points at would receive the SQL password. The public web PKI is
//!   an explicit opt-in ([`TrustAnchors::System`], `tls.ca = "system"`). The
//!   driver gets this through `Config::trust_only_given_cas`, a small patch
//!   of tiberius (vendor/tiberius/PATCHES.md), since upstream always loads
//!   the system roots.
//! - **TDS 8.0 strict** (TLS before PRELOGIN, ALPN `tds/8.0`) is selectable;
//!   it also hides the PRELOGIN exchange from the network.
//! - **Trusting any certificate** exists only as [`TlsPolicy::Dangerous`],
//!   built from the config's `dangerously_trust_server_certificate = true`. It
//!   is logged as a warning at every connection and reported as a finding.

use std::path::PathBuf;

use crate::config::{CaTrust, TlsConfig, TlsMode};

/// Which certificate authorities may vouch for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustAnchors {
    /// The CA bundle and nothing else. `None` (a config that validation
    /// would have refused) trusts nothing: every connection fails.
    Private(Option<PathBuf>),
    /// The system roots, plus an optional CA bundle.
    System(Option<PathBuf>),
}

impl TrustAnchors {
    /// The CA bundle file, in either mode.
    pub fn ca_bundle(&self) -> Option<&std::path::Path> {
        match self {
            TrustAnchors::Private(bundle) | TrustAnchors::System(bundle) => bundle.as_deref(),
        }
    }

    /// Whether the system roots are trusted.
    pub fn includes_system_roots(&self) -> bool {
        matches!(self, TrustAnchors::System(_))
    }
}

/// How to secure one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsPolicy {
    /// Verify the chain and the host name.
    Verify {
        mode: TlsMode,
        anchors: TrustAnchors,
        /// The name the certificate must carry, when it differs from the
        /// address connected to.
        hostname_in_certificate: Option<String>,
    },
    /// Encrypt, but accept any certificate: an active attacker on the path can
    /// read everything. Only from an explicit opt-in.
    Dangerous(DangerousTrust),
}

/// Proof that a person opted out of certificate validation in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DangerousTrust {
    mode: TlsMode,
}

impl TlsPolicy {
    pub fn from_config(config: &TlsConfig) -> TlsPolicy {
        if config.dangerously_trust_server_certificate {
            return TlsPolicy::Dangerous(DangerousTrust { mode: config.mode });
        }
        let bundle = config.ca_bundle.clone();
        TlsPolicy::Verify {
            mode: config.mode,
            anchors: match config.ca_trust() {
                CaTrust::Private => TrustAnchors::Private(bundle),
                CaTrust::System => TrustAnchors::System(bundle),
            },
            hostname_in_certificate: config.hostname_in_certificate.clone(),
        }
    }

    pub fn mode(&self) -> TlsMode {
        match self {
            TlsPolicy::Verify { mode, .. } => *mode,
            TlsPolicy::Dangerous(d) => d.mode,
        }
    }

    /// Whether the report must carry the "certificate not verified" finding.
    pub fn is_dangerous(&self) -> bool {
        matches!(self, TlsPolicy::Dangerous(_))
    }

    /// Applies the policy to a tiberius connection config.
    pub fn apply(&self, config: &mut tiberius::Config) {
        config.encryption(match self.mode() {
            TlsMode::Required => tiberius::EncryptionLevel::Required,
            TlsMode::Strict => tiberius::EncryptionLevel::Strict,
        });
        match self {
            TlsPolicy::Verify {
                anchors,
                hostname_in_certificate,
                ..
            } => {
                if !anchors.includes_system_roots() {
                    config.trust_only_given_cas();
                }
                if let Some(ca) = anchors.ca_bundle() {
                    config.trust_cert_ca(ca.display());
                }
                if let Some(name) = hostname_in_certificate {
                    config.hostname_in_certificate(name);
                }
            }
            TlsPolicy::Dangerous(_) => {
                tracing::warn!(
                    "TLS certificate validation is DISABLED for this target \
                     (dangerously_trust_server_certificate = true): the connection is encrypted \
                     but not authenticated; this is reported as a finding"
                );
                config.trust_cert();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_verifies() {
        let policy = TlsPolicy::from_config(&TlsConfig::default());
        assert!(matches!(
            policy,
            TlsPolicy::Verify {
                mode: TlsMode::Required,
                ..
            }
        ));
        assert!(!policy.is_dangerous());
    }

    #[test]
    fn the_default_trusts_only_the_given_bundle() {
        let config = TlsConfig {
            ca_bundle: Some("/etc/ca.pem".into()),
            ..TlsConfig::default()
        };
        let TlsPolicy::Verify { anchors, .. } = TlsPolicy::from_config(&config) else {
            panic!("the default must verify");
        };
        assert_eq!(anchors, TrustAnchors::Private(Some("/etc/ca.pem".into())));
        assert!(!anchors.includes_system_roots());
    }

    #[test]
    fn only_ca_system_adds_the_public_roots() {
        let config = TlsConfig {
            ca: Some(CaTrust::System),
            ..TlsConfig::default()
        };
        let TlsPolicy::Verify { anchors, .. } = TlsPolicy::from_config(&config) else {
            panic!("ca = system must verify");
        };
        assert!(anchors.includes_system_roots());
        assert_eq!(anchors.ca_bundle(), None);
    }

    #[test]
    fn only_the_explicit_flag_disables_verification() {
        let config = TlsConfig {
            dangerously_trust_server_certificate: true,
            ..TlsConfig::default()
        };
        assert!(TlsPolicy::from_config(&config).is_dangerous());
    }
}
