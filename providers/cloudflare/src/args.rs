//! `cloud502 cloudflare`'s options, declared once: its flags and the audit file's keys for
//! `provider = "cloudflare"`.

use crate::{CloudflareOptions, CloudflareProvider};
use cloud502_collect::limits::MAX_TIMEOUT;
use cloud502_collect::options::{Common, key_duration, parse_since, parse_timeout, problem};
use cloud502_collect::{Provider, ProviderArgs, ProviderError};
use cloud502_model::{Layer, ProviderKind};
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::time::Duration;

/// Diagnose a host behind Cloudflare: the zone's SSL/TLS mode, the host's DNS record, its load
/// balancer's pool health, health checks, and analytics split by edge and origin status (who
/// made the 5xx), then direct checks of the origin on 80 and 443 with the host's Host header
/// and SNI. The API token comes from CLOUDFLARE_API_TOKEN (or CF_API_TOKEN). Read-only.
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareArgs {
    /// The zone: its name (example.com) or its id (32 hex digits).
    // Required on the command line; the file may give it in `[cloudflare]`, checked in
    // into_options.
    #[arg(long, value_name = "NAME|ID", required = true)]
    pub zone: Option<String>,

    /// The host name to diagnose [default: the zone apex].
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// How far back the analytics look (e.g. 15m, 1h, 1d; the zone's plan limits it).
    // The audit file's `since` and `timeout` are keys of every subject: they come in `Common`.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_since)]
    #[serde(skip)]
    pub since: Option<Duration>,

    /// Check this origin address (IP or host name) instead of those in the host's DNS records or
    /// load-balancer pools; repeat for several.
    #[arg(long = "origin", value_name = "ADDR")]
    #[serde(default)]
    pub origins: Vec<String>,

    /// Also check loopback, private (RFC 1918, ULA, site-local, and their v4-mapped and NAT64
    /// forms) and shared origin addresses, which are skipped by default. Link-local and cloud
    /// metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254) are never checked.
    #[arg(long)]
    #[serde(default)]
    pub allow_private: bool,

    /// The port Cloudflare reaches the origin on over HTTP (Flexible mode). Cloudflare also
    /// proxies 8080, 8880, 2052, 2082, 2086 and 2095.
    #[arg(long, value_name = "PORT", default_value = "80")]
    pub http_port: Option<u16>,

    /// The port Cloudflare reaches the origin on over HTTPS (Full and Full (strict)). Cloudflare
    /// also proxies 8443, 2053, 2083, 2087 and 2096.
    #[arg(long, value_name = "PORT", default_value = "443")]
    pub https_port: Option<u16>,

    /// Also trust this CA (PEM) in the origin check, e.g. the Cloudflare Origin CA root, which
    /// Full (strict) accepts but the system roots do not; repeatable.
    #[arg(long = "ca-file", value_name = "PEM")]
    #[serde(default)]
    pub ca_files: Vec<PathBuf>,

    /// Bound on each direct origin check (e.g. 5s).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    #[serde(default, deserialize_with = "origin_timeout")]
    pub origin_timeout: Option<Duration>,

    /// Do not check the origin directly.
    #[arg(long = "no-origin-check", action = clap::ArgAction::SetFalse)]
    #[serde(default = "cloud502_collect::options::yes")]
    pub origin_check: bool,

    /// Do not read load balancers and pool health (needs no Load Balancing permissions).
    #[arg(long = "no-load-balancers", action = clap::ArgAction::SetFalse)]
    #[serde(default = "cloud502_collect::options::yes")]
    pub load_balancers: bool,

    /// Do not read standalone health checks.
    #[arg(long = "no-health-checks", action = clap::ArgAction::SetFalse)]
    #[serde(default = "cloud502_collect::options::yes")]
    pub health_checks: bool,

    /// Do not query GraphQL analytics.
    #[arg(long = "no-analytics", action = clap::ArgAction::SetFalse)]
    #[serde(default = "cloud502_collect::options::yes")]
    pub analytics: bool,

    /// Bound on each API call with its retries (e.g. 30s).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    #[serde(skip)]
    pub timeout: Option<Duration>,

    /// Cap on API requests in this run. Cloudflare blocks a user's API access for 5 minutes
    /// once its tokens pass 1200 requests in 5 minutes; a run needs about 10 to 25.
    #[arg(long, value_name = "N", default_value = "100")]
    pub max_requests: Option<u32>,

    /// The API base URL [default: https://api.cloudflare.com/client/v4]; plain http only on
    /// loopback (tests).
    #[arg(long, value_name = "URL")]
    pub api_base: Option<String>,
}

/// `origin_timeout = "5s"`, bounded like `--origin-timeout`.
fn origin_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    key_duration("origin_timeout", &s, MAX_TIMEOUT)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

impl ProviderArgs for CloudflareArgs {
    const NAME: &'static str = "cloudflare";
    const KIND: ProviderKind = ProviderKind::Cloudflare;
    const LAYER: Layer = Layer::Cloudflare;
    const BUDGETED: bool = true;
    type Options = CloudflareOptions;

    fn into_options(self, common: &Common) -> Result<CloudflareOptions, ProviderError> {
        let Some(zone) = self.zone else {
            return Err(problem(
                "a cloudflare subject needs zone (name or 32-hex id)",
            ));
        };
        let defaults = CloudflareOptions::new(&zone);
        Ok(CloudflareOptions {
            host: self.host,
            since: self.since.or(common.since).unwrap_or(defaults.since),
            origins: self.origins,
            allow_private: self.allow_private,
            http_port: self.http_port.unwrap_or(defaults.http_port),
            https_port: self.https_port.unwrap_or(defaults.https_port),
            ca_files: common.paths(self.ca_files),
            origin_timeout: self.origin_timeout.unwrap_or(defaults.origin_timeout),
            origin_checks: self.origin_check,
            load_balancers: self.load_balancers,
            health_checks: self.health_checks,
            analytics: self.analytics,
            api_base: self.api_base,
            timeout: self.timeout.or(common.timeout).unwrap_or(defaults.timeout),
            max_requests: self.max_requests.unwrap_or(defaults.max_requests),
            ..defaults
        })
    }

    fn provider(options: CloudflareOptions) -> Result<Box<dyn Provider>, ProviderError> {
        Ok(Box::new(CloudflareProvider::new(options)?))
    }

    fn deadline(options: &CloudflareOptions) -> Duration {
        // The zone, then one parallel wave (the load balancer's pools and their health inside it),
        // each call bounded by --timeout, then the origin checks (a name lookup and a check each,
        // bounded by --origin-timeout): this is the backstop.
        options.timeout * 4 + options.origin_timeout * 2 + Duration::from_secs(10)
    }
}
