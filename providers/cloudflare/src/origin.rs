//! Direct origin checks, as the troubleshooting guides do with `curl -H Host` and
//! `openssl s_client` (KB 3.1, 3.4): connect to each origin address on the HTTP and HTTPS ports
//! with the zone's host name as Host header and SNI, and read the certificate.
//!
//! Safety:
//! - only addresses from the zone's own DNS records, its load balancer's pools, or `--origin`;
//! - loopback, private, shared (CGNAT) and unspecified addresses only with `--allow-private` (a
//!   zone's records must not turn cloud502 into a scanner of the network it runs in), and
//!   link-local and instance-metadata addresses never;
//! - one GET each, redirects not followed, each bounded by `--origin-timeout`.

use cloud502_collect::remote::{AddressClass, classify_address};
use cloud502_model::{Phase, Probe, ProbeError, ProbeErrorKind, ProbeScheme, ProbeTimings};
use cloud502_probe::{ProbeOptions, ProbeRequest};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// An origin address to check and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// IP or host name.
    pub address: String,
    /// Where it was found (`DNS record www.example.com A`, `pool web-eu`, `--origin`).
    pub source: String,
}

/// Whether cloud502 refuses to check this address without `--allow-private` (the engine's one
/// classification, shared with the nginx provider's upstream probes).
pub fn is_private(ip: IpAddr) -> bool {
    classify_address(ip) != AddressClass::Public
}

/// Whether cloud502 never checks this address, even with `--allow-private`: link-local and
/// instance-metadata addresses.
pub fn is_forbidden(ip: IpAddr) -> bool {
    classify_address(ip) == AddressClass::Forbidden
}

/// What resolving a candidate gave.
#[derive(Debug)]
pub enum Resolved {
    /// Addresses to check.
    Ips(Vec<IpAddr>),
    /// The name did not resolve.
    Failed(String),
}

/// Resolve a candidate: an IP is itself; a host name goes through the system resolver, bounded.
pub async fn resolve(address: &str, timeout: Duration) -> Resolved {
    if let Ok(ip) = address.parse::<IpAddr>() {
        return Resolved::Ips(vec![ip]);
    }
    match tokio::time::timeout(timeout, tokio::net::lookup_host((address, 0))).await {
        Ok(Ok(addrs)) => {
            let mut ips: Vec<IpAddr> = Vec::new();
            for a in addrs {
                if !ips.contains(&a.ip()) {
                    ips.push(a.ip());
                }
            }
            // IPv4 first: most origins are reached over it.
            ips.sort_by_key(|ip| ip.is_ipv6());
            ips.truncate(2);
            if ips.is_empty() {
                Resolved::Failed(format!("{address} has no addresses"))
            } else {
                Resolved::Ips(ips)
            }
        }
        Ok(Err(e)) => Resolved::Failed(format!("{address} did not resolve: {e}")),
        Err(_) => Resolved::Failed(format!(
            "{address} did not resolve within {} s",
            timeout.as_secs()
        )),
    }
}

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Host header and SNI.
    pub host: String,
    /// HTTP port.
    pub http_port: u16,
    /// HTTPS port.
    pub https_port: u16,
    /// Per-check bound.
    pub timeout: Duration,
    /// Extra trust roots.
    pub ca_files: Vec<PathBuf>,
    /// The Host header an Origin Rule sets, instead of `host`.
    pub host_header: Option<String>,
    /// The SNI an Origin Rule sets (or its Host header override), instead of `host`.
    pub sni: Option<String>,
}

impl CheckOptions {
    /// The name the TLS handshake sends, and the URL's host.
    pub fn sni(&self) -> &str {
        self.sni.as_deref().unwrap_or(&self.host)
    }

    /// `Host and SNI www.example.com`, or each when an Origin Rule sets them apart.
    pub fn what(&self) -> String {
        let header = self.host_header.as_deref().unwrap_or(&self.host);
        if header.eq_ignore_ascii_case(self.sni()) {
            format!("Host and SNI {header}")
        } else {
            format!("Host {header} and SNI {}", self.sni())
        }
    }
}

/// Check `ip` over `scheme` (http or https) as probe `id`.
pub async fn check(ip: IpAddr, scheme: ProbeScheme, opts: &CheckOptions, id: &str) -> Probe {
    let (name, port) = match scheme {
        ProbeScheme::Https => ("https", opts.https_port),
        _ => ("http", opts.http_port),
    };
    let url = format!("{name}://{}:{port}/", opts.sni());
    let options = ProbeOptions {
        resolve: vec![format!("{}:{port}:{ip}", opts.sni())],
        headers: opts
            .host_header
            .iter()
            .filter(|h| !h.eq_ignore_ascii_case(opts.sni()))
            .map(|h| format!("Host: {h}"))
            .collect(),
        timeout: opts.timeout,
        // Read the certificate even when it does not verify: Full mode accepts it, Strict not.
        insecure: true,
        ca_files: opts.ca_files.clone(),
    };
    let failed = |message: String| {
        let mut p = failed_probe(id, &url, scheme, &opts.host, port, Phase::Connect, message);
        p.resolved = vec![ip.to_string()];
        p.resolve_override = true;
        p
    };
    let request = match ProbeRequest::new(&url, options) {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    match cloud502_probe::probe(&request, id).await {
        Ok(p) => p,
        Err(e) => failed(e.to_string()),
    }
}

/// The probe recorded for an origin host name that did not resolve (Cloudflare would answer
/// 530 / error 1016, KB 3.1).
pub fn unresolved(id: &str, opts: &CheckOptions, address: &str, message: String) -> Probe {
    let url = format!("http://{}:{}/", opts.host, opts.http_port);
    failed_probe(
        id,
        &url,
        ProbeScheme::Http,
        address,
        opts.http_port,
        Phase::Dns,
        message,
    )
}

/// A check that stopped in `phase` before any response: a name lookup (`Dns`), or a request
/// cloud502-probe could not build or run (`Connect`, kind `Io`).
fn failed_probe(
    id: &str,
    url: &str,
    scheme: ProbeScheme,
    host: &str,
    port: u16,
    phase: Phase,
    message: String,
) -> Probe {
    Probe {
        id: id.to_owned(),
        url: url.to_owned(),
        scheme,
        host: host.to_owned(),
        port,
        resolved: Vec::new(),
        connected: None,
        resolve_override: false,
        timings: ProbeTimings::default(),
        http: None,
        tls: None,
        fingerprint: None,
        error: Some(ProbeError {
            phase,
            kind: if phase == Phase::Dns {
                ProbeErrorKind::Dns
            } else {
                ProbeErrorKind::Io
            },
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn private_addresses_are_refused() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(is_private(a.parse().unwrap()), "{a}");
        }
        for a in [
            "203.0.113.10",
            "172.32.0.1",
            "172.64.0.1",
            "100.128.0.1",
            "8.8.8.8",
            "2606:4700::1111",
        ] {
            assert!(!is_private(a.parse().unwrap()), "{a}");
        }
    }

    #[tokio::test]
    async fn ips_resolve_to_themselves_and_bad_names_fail() {
        match resolve("203.0.113.9", Duration::from_secs(1)).await {
            Resolved::Ips(ips) => assert_eq!(ips, vec!["203.0.113.9".parse::<IpAddr>().unwrap()]),
            Resolved::Failed(e) => panic!("{e}"),
        }
        // `.invalid` never resolves (RFC 2606).
        assert!(matches!(
            resolve("origin.invalid", Duration::from_secs(3)).await,
            Resolved::Failed(_)
        ));
    }
}
