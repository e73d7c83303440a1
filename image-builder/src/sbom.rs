//! A CycloneDX 1.5 JSON software bill of materials for the image: every
//! Debian package with its version, and the Rust crates inside the assessor
//! binary. Deterministic: the same inputs give the same bytes (the timestamp
//! is SOURCE_DATE_EPOCH, the serial number is derived from the content), so a
//! reproducible build also reproduces its SBOM and its manifest digest.
//!
//! The builder writes it next to the disk (`sbom.cdx.json`) and names it in
//! [`crate::manifest::ManifestInputs::sbom`] with [`FORMAT`], so its digest is
//! signed with the rest.

use serde_json::{Value, json};

use crate::manifest::Sha256;

/// The `format` to record in the manifest.
pub const FORMAT: &str = "CycloneDX-1.5-json";
/// The conventional file name in the image folder.
pub const FILE_NAME: &str = "sbom.cdx.json";

/// One component of the image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    /// A Debian package (`dpkg-query -W` name and version, architecture).
    Deb {
        name: String,
        version: String,
        arch: String,
    },
    /// A Rust crate compiled into the assessor ([`crate::crates`]).
    Crate {
        name: String,
        version: String,
        /// SPDX license expression, when the crate declares one.
        license: Option<String>,
        /// `None` for crates.io; otherwise cargo's source id.
        source: Option<String>,
    },
}

impl From<crate::crates::Crate> for Component {
    fn from(c: crate::crates::Crate) -> Component {
        Component::Crate {
            name: c.name,
            version: c.version,
            license: c.license,
            source: c.source,
        }
    }
}

impl Component {
    fn purl(&self) -> String {
        match self {
            Component::Deb {
                name,
                version,
                arch,
            } => format!(
                "pkg:deb/debian/{name}@{}?arch={arch}&distro=debian-13",
                purl_escape(version)
            ),
            Component::Crate {
                name,
                version,
                source,
                ..
            } => {
                let mut purl = format!("pkg:cargo/{name}@{}", purl_escape(version));
                if let Some(source) = source {
                    // Not crates.io (the purl default): say where it came from.
                    purl.push_str("?repository_url=");
                    purl.push_str(&purl_escape(source));
                }
                purl
            }
        }
    }

    fn to_json(&self) -> Value {
        let (name, version, group, license) = match self {
            Component::Deb { name, version, .. } => (name, version, Some("debian"), None),
            Component::Crate {
                name,
                version,
                license,
                source,
            } => (
                name,
                version,
                source.is_none().then_some("crates.io"),
                license.as_deref(),
            ),
        };
        let mut c = json!({
            "type": "library",
            "bom-ref": self.purl(),
            "name": name,
            "version": version,
            "purl": self.purl(),
        });
        if let Some(group) = group {
            c["group"] = json!(group);
        }
        if let Some(license) = license {
            c["licenses"] = json!([{ "expression": license }]);
        }
        c
    }
}

/// Percent-encodes what a purl version may not hold as is (`:` of Debian
/// epochs, `+`, `~`, and anything outside the unreserved set).
fn purl_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (civil-from-days, proleptic Gregorian).
pub fn rfc3339(epoch: u64) -> String {
    let days = i64::try_from(epoch / 86_400).unwrap_or(i64::MAX);
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The SBOM document. Components are sorted and deduplicated.
pub fn cyclonedx(
    image_name: &str,
    image_version: &str,
    source_date_epoch: u64,
    components: &[Component],
) -> Value {
    let mut comps = components.to_vec();
    comps.sort();
    comps.dedup();
    let list: Vec<Value> = comps.iter().map(Component::to_json).collect();
    // serialNumber: a UUID (version 8, "custom") from the content, so the
    // document is reproducible.
    let seed = serde_json::to_vec(&(image_name, image_version, source_date_epoch, &list))
        .unwrap_or_default();
    let h = Sha256::of(&seed).0;
    let mut u = [0u8; 16];
    u.copy_from_slice(&h[..16]);
    u[6] = (u[6] & 0x0f) | 0x80;
    u[8] = (u[8] & 0x3f) | 0x80;
    let hex = crate::manifest::hex(&u);
    let serial = format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(source_date_epoch),
            "tools": { "components": [ {
                "type": "application",
                "name": "image-builder",
                "version": env!("CARGO_PKG_VERSION"),
            } ] },
            "component": {
                "type": "operating-system",
                "bom-ref": format!("{image_name}@{image_version}"),
                "name": image_name,
                "version": image_version,
            },
        },
        "components": list,
    })
}

/// The SBOM as the bytes to write (pretty JSON, trailing newline).
pub fn to_bytes(doc: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(doc).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn comps() -> Vec<Component> {
        vec![
            Component::Crate {
                name: "tokio".into(),
                version: "1.54.1".into(),
                license: Some("MIT".into()),
                source: None,
            },
            Component::Deb {
                name: "systemd".into(),
                version: "252.38-1~deb12u1".into(),
                arch: "amd64".into(),
            },
            Component::Deb {
                name: "libc6".into(),
                version: "2.36-9+deb12u10".into(),
                arch: "amd64".into(),
            },
        ]
    }

    #[test]
    fn the_sbom_is_deterministic_sorted_and_has_purls() {
        let a = to_bytes(&cyclonedx("appliance", "0.1.0", 1_700_000_000, &comps()));
        let mut rev = comps();
        rev.reverse();
        let b = to_bytes(&cyclonedx("appliance", "0.1.0", 1_700_000_000, &rev));
        assert_eq!(a, b, "same inputs, same bytes");
        let doc: Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        let purls: Vec<&str> = doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["purl"].as_str().unwrap())
            .collect();
        assert_eq!(
            purls,
            [
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-13",
                "pkg:deb/debian/systemd@252.38-1%7Edeb12u1?arch=amd64&distro=debian-13",
                "pkg:cargo/tokio@1.54.1",
            ]
        );
        let serial = doc["serialNumber"].as_str().unwrap();
        assert_eq!(serial.len(), "urn:uuid:".len() + 36);
        let other = cyclonedx("appliance", "0.1.1", 1_700_000_000, &comps());
        assert_ne!(other["serialNumber"], doc["serialNumber"]);
    }

    #[test]
    fn crates_carry_their_license_and_a_cargo_purl() {
        let doc = cyclonedx("appliance", "0.1.0", 0, &comps());
        let tokio = &doc["components"][2];
        assert_eq!(tokio["purl"], "pkg:cargo/tokio@1.54.1");
        assert_eq!(tokio["group"], "crates.io");
        assert_eq!(tokio["licenses"], json!([{ "expression": "MIT" }]));
        assert!(doc["components"][0].get("licenses").is_none());

        let git = Component::Crate {
            name: "x".into(),
            version: "0.1.0".into(),
            license: None,
            source: Some("git+https://example.com/x?rev=1#abc".into()),
        };
        let doc = cyclonedx("appliance", "0.1.0", 0, &[git]);
        let c = &doc["components"][0];
        assert_eq!(
            c["purl"],
            "pkg:cargo/x@0.1.0?repository_url=git%2Bhttps%3A%2F%2Fexample.com%2Fx%3Frev%3D1%23abc"
        );
        assert!(c.get("group").is_none() && c.get("licenses").is_none());
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }
}
