//! Opening the appliance's firewall to the job's SQL Servers and AWS
//! endpoints, and only to them.
//!
//! The image's nftables ruleset (`image-builder/files/overlay/etc/
//! nftables.conf`) drops all output except DHCP, time sync, the resolver,
//! and the `(address . port)` pairs in two sets that start empty:
//! `inet sqlassess sqlserver_v4` (any uid) and `inet sqlassess aws_v4` (the
//! assessor's uid only, HTTPS). This step resolves each target's configured
//! host and adds its addresses with the target's port, and resolves the
//! regional names of the AWS services the job calls (Secrets Manager, KMS,
//! S3 and the report bucket's own name, CloudWatch Logs when the job logs
//! there) and adds their addresses with port 443. In a VPC those names
//! resolve, through the interface endpoints' private DNS, to the endpoints'
//! own addresses in the VPC: the assessor's HTTPS reaches those endpoints
//! and nothing else. A target whose host would only come from its secret is
//! refused here: the firewall opens only what the config names, and reading
//! secrets is not this privileged step's business.
//!
//! `nft` is run directly with arguments (no shell); the element list is
//! built from resolved IPv4 addresses and numbers only, never from text in
//! the config.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};

use crate::config::JobConfig;

/// The set the ruleset sends SQL Server traffic through.
pub const SET: [&str; 3] = ["inet", "sqlassess", "sqlserver_v4"];

/// The set the ruleset sends the assessor's HTTPS through.
pub const AWS_SET: [&str; 3] = ["inet", "sqlassess", "aws_v4"];

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
    #[error(
        "cannot resolve the AWS endpoint {host} to an IPv4 address ({detail}); the VPC needs \
         interface endpoints with private DNS for secretsmanager, kms, s3 (and logs when \
         report.log_group is set) in the job's region, and DNS support enabled"
    )]
    AwsResolve { host: String, detail: String },
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
        let resolved = resolve_v4(host, port).map_err(|e| FirewallError::Resolve {
            target: target.name.clone(),
            host: host.clone(),
            detail: e.to_string(),
        })?;
        let before = out.len();
        out.extend(resolved);
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

/// The IPv4 `(address, port)` pairs `host` resolves to (the appliance's
/// network is IPv4 only).
fn resolve_v4(host: &str, port: u16) -> std::io::Result<Vec<(Ipv4Addr, u16)>> {
    Ok((host, port)
        .to_socket_addrs()?
        .filter_map(|a| match a {
            SocketAddr::V4(v4) => Some((*v4.ip(), v4.port())),
            SocketAddr::V6(_) => None,
        })
        .collect())
}

/// The AWS host names the job calls, each with its port and whether the
/// job needs it to resolve. The names are the SDK's regional endpoints; the
/// report bucket's virtual-hosted name (the SDK's default addressing) may
/// resolve to the same addresses as S3's and is added when it resolves.
pub fn aws_hosts(config: &JobConfig) -> Vec<(String, u16, bool)> {
    #[cfg(feature = "testing-endpoint")]
    if let Some(testing) = &config.testing
        && let Ok(url) = url::Url::parse(&testing.aws_endpoint_url)
        && let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default())
    {
        // An emulator (the VM test's moto): the one address every call goes to.
        return vec![(host.trim_matches(['[', ']']).to_owned(), port, true)];
    }
    let region = &config.job.region;
    let mut hosts: Vec<(String, u16, bool)> = ["secretsmanager", "kms", "s3"]
        .iter()
        .map(|service| (format!("{service}.{region}.amazonaws.com"), 443, true))
        .collect();
    hosts.push((
        format!("{}.s3.{region}.amazonaws.com", config.report.bucket),
        443,
        false,
    ));
    if config.report.log_group.is_some() {
        hosts.push((format!("logs.{region}.amazonaws.com"), 443, true));
    }
    hosts
}

/// The `(address, port)` pairs of [`aws_hosts`], sorted and without
/// duplicates: a required name that does not resolve to IPv4 is an error.
pub fn aws_endpoints(config: &JobConfig) -> Result<Vec<(Ipv4Addr, u16)>, FirewallError> {
    let mut out = Vec::new();
    for (host, port, required) in aws_hosts(config) {
        let resolved = match resolve_v4(&host, port) {
            Ok(addrs) => addrs,
            Err(e) if required => {
                return Err(FirewallError::AwsResolve {
                    host,
                    detail: e.to_string(),
                });
            }
            Err(_) => Vec::new(),
        };
        if resolved.is_empty() && required {
            return Err(FirewallError::AwsResolve {
                host,
                detail: "no IPv4 address".into(),
            });
        }
        out.extend(resolved);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The `nft` arguments that add `endpoints` to `set`.
pub fn nft_args(set: [&str; 3], endpoints: &[(Ipv4Addr, u16)]) -> Vec<String> {
    let elements: Vec<String> = endpoints
        .iter()
        .map(|(ip, port)| format!("{ip} . {port}"))
        .collect();
    let mut args: Vec<String> = ["add", "element"].map(str::to_owned).to_vec();
    args.extend(set.map(str::to_owned));
    args.push(format!("{{ {} }}", elements.join(", ")));
    args
}

/// What [`allow`] opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub sql_servers: Vec<(Ipv4Addr, u16)>,
    pub aws: Vec<(Ipv4Addr, u16)>,
}

/// Adds the config's SQL Servers and the AWS endpoints to their sets. Needs
/// CAP_NET_ADMIN. Everything is resolved before anything is added.
pub fn allow(config: &JobConfig) -> Result<Opened, FirewallError> {
    let opened = Opened {
        sql_servers: endpoints(config)?,
        aws: aws_endpoints(config)?,
    };
    for (set, endpoints) in [(SET, &opened.sql_servers), (AWS_SET, &opened.aws)] {
        if !endpoints.is_empty() {
            super::run_tool("nft", &nft_args(set, endpoints))
                .map_err(|detail| FirewallError::Nft { detail })?;
        }
    }
    Ok(opened)
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
            nft_args(SET, &endpoints),
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
    fn the_aws_names_are_the_regional_endpoints_the_job_calls() {
        let c = config("[[targets]]\nname = \"a\"\nsecret_id = \"s\"\nhost = \"127.0.0.1\"\n");
        let names: Vec<(String, u16, bool)> = aws_hosts(&c);
        let expected = [
            ("secretsmanager.eu-west-1.amazonaws.com", true),
            ("kms.eu-west-1.amazonaws.com", true),
            ("s3.eu-west-1.amazonaws.com", true),
            ("reports.s3.eu-west-1.amazonaws.com", false),
        ];
        assert_eq!(
            names,
            expected.map(|(h, r)| (h.to_owned(), 443, r)).to_vec()
        );
        // Logs only when the job logs there.
        let text = "[job]\nregion = \"eu-west-1\"\nkms_key_id = \"k\"\nsession_dir = \"/tmp/s\"\n\
                    [report]\nbucket = \"reports\"\nlog_group = \"/sqlassess/x\"\n\
                    [[targets]]\nname = \"a\"\nsecret_id = \"s\"\nhost = \"127.0.0.1\"\n\
                    tls = { ca = \"system\" }\n";
        let c = JobConfig::parse(text, Path::new("job.toml")).unwrap();
        assert!(aws_hosts(&c).contains(&("logs.eu-west-1.amazonaws.com".into(), 443, true)));
        assert_eq!(
            nft_args(AWS_SET, &[(Ipv4Addr::new(10, 0, 1, 5), 443)]),
            [
                "add",
                "element",
                "inet",
                "sqlassess",
                "aws_v4",
                "{ 10.0.1.5 . 443 }"
            ]
        );
    }

    #[test]
    fn a_required_aws_name_that_does_not_resolve_is_an_error_naming_it() {
        // `.invalid` never resolves (RFC 6761), so the test needs no network.
        let text = "[job]\nregion = \"nowhere.invalid\"\nkms_key_id = \"k\"\nsession_dir = \"/tmp/s\"\n\
                    [report]\nbucket = \"reports\"\n\
                    [[targets]]\nname = \"a\"\nsecret_id = \"s\"\nhost = \"127.0.0.1\"\n\
                    tls = { ca = \"system\" }\n";
        let c = JobConfig::parse(text, Path::new("job.toml")).unwrap();
        let err = aws_endpoints(&c).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot resolve the AWS endpoint secretsmanager.nowhere.invalid"),
            "{err}"
        );
    }

    #[test]
    fn a_target_without_a_configured_host_is_refused() {
        let c = config("[[targets]]\nname = \"a\"\nsecret_id = \"s\"\n");
        let err = endpoints(&c).unwrap_err();
        assert!(err.to_string().contains("target a: no host"), "{err}");
    }
}
