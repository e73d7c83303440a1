//! Opening the appliance's firewall to the job's SQL Servers, and only to
//! them.
//!
//! The image's nftables ruleset (`image-builder/files/overlay/etc/
//! nftables.conf`) drops all output except DNS, time sync, HTTPS and the
//! `(address . port)` pairs in the set `inet sqlassess sqlserver_v4`, which
//! starts empty. This step resolves each target's configured host and adds
//! its addresses with the target's port. A target whose host would only come
//! from its secret is refused here: the firewall opens only what the config
//! names, and reading secrets is not this privileged step's business.
//!
//! `nft` is run directly with arguments (no shell); the element list is
//! built from resolved IPv4 addresses and numbers only, never from text in
//! the config.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};

use crate::config::JobConfig;

/// The set the ruleset sends SQL Server traffic through.
pub const SET: [&str; 3] = ["inet", "sqlassess", "sqlserver_v4"];

/// Why the firewall could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error(
        "target {target}: no host in the job config; the appliance's firewall opens only the \
         SQL Server addresses the config names, so set host (and port) for this target"
    )]
    NoHost { target: String },
    #[error("target {target}: cannot resolve {host}: {detail}; check the name and the VPC's DNS")]
    Resolve {
        target: String,
        host: String,
        detail: String,
    },
    #[error("target {target}: {host} has no IPv4 address (the appliance's network is IPv4 only)")]
    NoIpv4 { target: String, host: String },
    #[error("nft failed ({detail}); is the image's nftables ruleset loaded?")]
    Nft { detail: String },
}

/// The `(address, port)` pairs the config's targets resolve to, sorted and
/// without duplicates.
pub fn endpoints(config: &JobConfig) -> Result<Vec<(Ipv4Addr, u16)>, FirewallError> {
    let mut out = Vec::new();
    for target in &config.targets {
        let Some(host) = &target.host else {
            return Err(FirewallError::NoHost {
                target: target.name.clone(),
            });
        };
        let port = target.port.unwrap_or(1433);
        let resolved =
            (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| FirewallError::Resolve {
                    target: target.name.clone(),
                    host: host.clone(),
                    detail: e.to_string(),
                })?;
        let before = out.len();
        out.extend(resolved.filter_map(|a| match a {
            SocketAddr::V4(v4) => Some((*v4.ip(), v4.port())),
            SocketAddr::V6(_) => None,
        }));
        if out.len() == before {
            return Err(FirewallError::NoIpv4 {
                target: target.name.clone(),
                host: host.clone(),
            });
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The `nft` arguments that add `endpoints` to the set.
pub fn nft_args(endpoints: &[(Ipv4Addr, u16)]) -> Vec<String> {
    let elements: Vec<String> = endpoints
        .iter()
        .map(|(ip, port)| format!("{ip} . {port}"))
        .collect();
    let mut args: Vec<String> = ["add", "element"].map(str::to_owned).to_vec();
    args.extend(SET.map(str::to_owned));
    args.push(format!("{{ {} }}", elements.join(", ")));
    args
}

/// Adds the config's SQL Servers to the set. Needs CAP_NET_ADMIN.
pub fn allow(config: &JobConfig) -> Result<Vec<(Ipv4Addr, u16)>, FirewallError> {
    let endpoints = endpoints(config)?;
    if endpoints.is_empty() {
        return Ok(endpoints);
    }
    super::run_tool("nft", &nft_args(&endpoints))
        .map_err(|detail| FirewallError::Nft { detail })?;
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(targets: &str) -> JobConfig {
        let text = format!(
            "[job]\nregion = \"eu-west-1\"\nkms_key_id = \"k\"\nsession_dir = \"/tmp/s\"\n\
             [report]\nbucket = \"reports\"\n{targets}"
        );
        // Trust is beside the point here: every target takes the public roots.
        let text = text.replace(
            "secret_id = \"s\"\n",
            "secret_id = \"s\"\ntls = { ca = \"system\" }\n",
        );
        JobConfig::parse(&text, Path::new("job.toml")).unwrap()
    }

    #[test]
    fn configured_hosts_become_set_elements() {
        let c = config(
            "[[targets]]\nname = \"a\"\nsecret_id = \"s\"\nhost = \"10.0.2.11\"\nport = 1434\n\
             [[targets]]\nname = \"b\"\nsecret_id = \"s\"\nhost = \"127.0.0.1\"\n\
             [[targets]]\nname = \"c\"\nsecret_id = \"s\"\nhost = \"10.0.2.11\"\nport = 1434\n",
        );
        let endpoints = endpoints(&c).unwrap();
        assert_eq!(
            endpoints,
            [
                (Ipv4Addr::new(10, 0, 2, 11), 1434),
                (Ipv4Addr::new(127, 0, 0, 1), 1433)
            ]
        );
        assert_eq!(
            nft_args(&endpoints),
            [
                "add",
                "element",
                "inet",
                "sqlassess",
                "sqlserver_v4",
                "{ 10.0.2.11 . 1434, 127.0.0.1 . 1433 }"
            ]
        );
    }

    #[test]
    fn a_target_without_a_configured_host_is_refused() {
        let c = config("[[targets]]\nname = \"a\"\nsecret_id = \"s\"\n");
        let err = endpoints(&c).unwrap_err();
        assert!(err.to_string().contains("target a: no host"), "{err}");
    }
}
