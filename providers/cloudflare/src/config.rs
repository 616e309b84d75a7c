//! The options of `cloud502 cloudflare`, validated up front: every problem is named at once, before
//! any request is sent.

use crate::error::CloudflareError;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Cloudflare's API v4 base (KB 3.2).
pub const API_BASE: &str = "https://api.cloudflare.com/client/v4";
/// The environment variables the token is read from, in order.
pub const TOKEN_VARS: [&str; 2] = ["CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"];
/// Default cap on API requests per run: Cloudflare blocks a user for 5 minutes after 1200
/// requests in 5 minutes (KB 3.2); a run needs about 10-25.
pub const DEFAULT_MAX_REQUESTS: u32 = 100;
/// At most this many origin addresses are checked directly.
pub const MAX_ORIGINS: usize = 8;

/// An API token. Its `Debug` never shows it; it is sent only in the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token, trimmed. `None` when empty or when it holds characters no header may carry.
    pub fn new(raw: &str) -> Option<Self> {
        let t = raw.trim();
        let ok = !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic());
        // The API quotes a rejected token back in some error messages: mask it everywhere.
        cloud502_model::secret::register(t);
        ok.then(|| Token(t.to_owned()))
    }

    /// From CLOUDFLARE_API_TOKEN, else CF_API_TOKEN, as `lookup` reads them.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Option<(Self, &'static str)> {
        TOKEN_VARS
            .iter()
            .find_map(|var| lookup(var).and_then(|v| Token::new(&v)).map(|t| (t, *var)))
    }

    /// From the process environment.
    pub fn from_env() -> Option<(Self, &'static str)> {
        Self::from_env_with(|v| std::env::var(v).ok())
    }

    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What `cloud502 cloudflare` was asked to do.
#[derive(Debug, Clone)]
pub struct CloudflareOptions {
    /// The zone: its name (`example.com`) or its 32-hex id.
    pub zone: String,
    /// The host to diagnose [default: the zone apex].
    pub host: Option<String>,
    /// How far back the analytics look.
    pub since: Duration,
    /// Origin addresses to check instead of those found in DNS and load-balancer pools.
    pub origins: Vec<String>,
    /// Check loopback, private and link-local origin addresses too.
    pub allow_private: bool,
    /// The port Cloudflare reaches the origin on over HTTP (Flexible mode).
    pub http_port: u16,
    /// The port Cloudflare reaches the origin on over HTTPS (Full, Full (strict)).
    pub https_port: u16,
    /// Extra trust roots for the origin check (the Cloudflare Origin CA root, a private CA).
    pub ca_files: Vec<PathBuf>,
    /// Bound on each origin check.
    pub origin_timeout: Duration,
    /// Skip the direct origin checks.
    pub origin_checks: bool,
    /// Read load balancers and pool health.
    pub load_balancers: bool,
    /// Read standalone health checks.
    pub health_checks: bool,
    /// Query GraphQL analytics.
    pub analytics: bool,
    /// API base URL (tests point it at a local server; plain http only on loopback).
    pub api_base: Option<String>,
    /// Bound on each API call with its retries.
    pub timeout: Duration,
    /// Cap on API requests in this run.
    pub max_requests: u32,
    /// The token; `None` reads CLOUDFLARE_API_TOKEN, then CF_API_TOKEN, when the run starts.
    pub token: Option<Token>,
}

impl CloudflareOptions {
    /// Defaults for a zone.
    pub fn new(zone: &str) -> Self {
        CloudflareOptions {
            zone: zone.to_owned(),
            host: None,
            since: Duration::from_secs(3600),
            origins: Vec::new(),
            allow_private: false,
            http_port: 80,
            https_port: 443,
            ca_files: Vec::new(),
            origin_timeout: Duration::from_secs(10),
            origin_checks: true,
            load_balancers: true,
            health_checks: true,
            analytics: true,
            api_base: None,
            timeout: Duration::from_secs(30),
            max_requests: DEFAULT_MAX_REQUESTS,
            token: None,
        }
    }

    /// Check every option at once.
    pub fn validate(&self) -> Result<Validated, CloudflareError> {
        let mut problems = Vec::new();
        let zone = ascii_name(self.zone.trim().trim_end_matches('.'));
        let zone_ok = is_zone_id(&zone) || (is_hostname(&zone) && zone.contains('.'));
        let zone = if is_zone_id(&zone) {
            ZoneRef::Id(zone)
        } else if zone_ok {
            ZoneRef::Name(zone)
        } else {
            problems.push(format!(
                "--zone {:?} is neither a zone name (example.com) nor a zone id (32 hex digits)",
                self.zone
            ));
            ZoneRef::Name(zone)
        };
        let host_ascii = self
            .host
            .as_deref()
            .map(|h| ascii_name(h.trim().trim_end_matches('.')));
        let host = match host_ascii.as_deref() {
            None => None,
            Some(h) if is_hostname(h) => {
                let h = h.to_ascii_lowercase();
                if let ZoneRef::Name(z) = &zone
                    && zone_ok
                    && h != *z
                    && !h.ends_with(&format!(".{z}"))
                {
                    problems.push(format!("--host {h:?} is not in zone {z:?}"));
                }
                Some(h)
            }
            Some(h) => {
                problems.push(format!("--host {h:?} is not a host name"));
                None
            }
        };
        let mut origins = Vec::new();
        for o in &self.origins {
            let o = o.trim().trim_start_matches('[').trim_end_matches(']');
            if o.parse::<IpAddr>().is_ok() || is_hostname(o) {
                origins.push(o.to_ascii_lowercase());
            } else {
                problems.push(format!(
                    "--origin {o:?} is not an IP address or host name (give ports with --http-port / --https-port)"
                ));
            }
        }
        for (flag, port) in [
            ("--http-port", self.http_port),
            ("--https-port", self.https_port),
        ] {
            if port == 0 {
                problems.push(format!("{flag} must be a port from 1 to 65535"));
            }
        }
        for f in &self.ca_files {
            if !f.is_file() {
                problems.push(format!("--ca-file {} is not a readable file", f.display()));
            }
        }
        for (flag, d) in [
            ("--timeout", self.timeout),
            ("--origin-timeout", self.origin_timeout),
            ("--since", self.since),
        ] {
            if d.is_zero() {
                problems.push(format!("{flag} must be above zero"));
            }
            // Bounded for library callers too: deadlines and the window are computed from these.
            use cloud502_collect::limits;
            let max = if flag == "--since" {
                limits::MAX_SINCE
            } else {
                limits::MAX_TIMEOUT
            };
            if let Err(e) = limits::check_duration(flag, d, max) {
                problems.push(e);
            }
        }
        if self.max_requests == 0 {
            problems.push("--max-requests must be at least 1".to_owned());
        }
        let api_base = api_base(self.api_base.as_deref())
            .map_err(|p| problems.push(p))
            .ok();
        match (problems.is_empty(), api_base) {
            (true, Some(api_base)) => Ok(Validated {
                zone,
                host,
                origins,
                api_base,
            }),
            _ => Err(CloudflareError::Options {
                problems,
                hint: "see `cloud502 cloudflare --help`".to_owned(),
            }),
        }
    }
}

/// How the zone was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneRef {
    /// By its name (`example.com`), lower case.
    Name(String),
    /// By its id.
    Id(String),
}

impl ZoneRef {
    /// As given.
    pub fn as_str(&self) -> &str {
        match self {
            ZoneRef::Name(s) | ZoneRef::Id(s) => s,
        }
    }
}

/// Validated options.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The zone.
    pub zone: ZoneRef,
    /// The host, lower case, when given.
    pub host: Option<String>,
    /// `--origin` addresses, lower case.
    pub origins: Vec<String>,
    /// The API base, without a trailing slash.
    pub api_base: String,
}

fn is_zone_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A name in the form the API and DNS use: lower case, an internationalized name in its
/// punycode (IDNA) form (`bücher.example` -> `xn--bcher-kva.example`), as Cloudflare stores it.
/// A name that IDNA refuses is returned lower-cased, for the host-name check to name.
pub(crate) fn ascii_name(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    match url::Host::parse(s) {
        Ok(url::Host::Domain(d)) => d,
        _ => s.to_lowercase(),
    }
}

/// A DNS host name: labels of letters, digits, `-` and `_`, not starting or ending with `-`.
pub(crate) fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn api_base(given: Option<&str>) -> Result<String, String> {
    let url = cloud502_collect::remote::secure_endpoint("--api-base", given, API_BASE)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "--api-base {:?} must not have a query or fragment",
            url.as_str()
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn zone_by_name_or_id() {
        let v = CloudflareOptions::new("Example.COM.").validate().unwrap();
        assert_eq!(v.zone, ZoneRef::Name("example.com".into()));
        let id = "023e105f4ecef8ad9ca31a8372d0c353";
        let v = CloudflareOptions::new(id).validate().unwrap();
        assert_eq!(v.zone, ZoneRef::Id(id.into()));
        assert_eq!(v.api_base, API_BASE);
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let mut o = CloudflareOptions::new("not a zone");
        o.host = Some("www.other.org".into());
        o.origins = vec!["10.0.0.1:80".into()];
        o.api_base = Some("http://api.example.net/client/v4".into());
        o.max_requests = 0;
        o.https_port = 0;
        let CloudflareError::Options { problems, .. } = o.validate().unwrap_err() else {
            panic!("expected options error");
        };
        let text = problems.join("\n");
        assert!(text.contains("--zone \"not a zone\""), "{text}");
        assert!(text.contains("--origin \"10.0.0.1:80\""), "{text}");
        assert!(text.contains("plain http off loopback"), "{text}");
        assert!(text.contains("--max-requests"), "{text}");
        assert!(text.contains("--https-port"), "{text}");
        assert_eq!(problems.len(), 5, "{text}");
    }

    #[test]
    fn unicode_names_are_read_in_their_punycode_form() {
        let mut o = CloudflareOptions::new("bücher.example");
        o.host = Some("www.bücher.example".into());
        let v = o.validate().unwrap();
        assert_eq!(v.zone.as_str(), "xn--bcher-kva.example");
        assert_eq!(v.host.as_deref(), Some("www.xn--bcher-kva.example"));
    }

    #[test]
    fn host_must_be_in_the_zone() {
        let mut o = CloudflareOptions::new("example.com");
        o.host = Some("www.example.org".into());
        assert!(o.validate().is_err());
        o.host = Some("WWW.example.com".into());
        assert_eq!(
            o.validate().unwrap().host.as_deref(),
            Some("www.example.com")
        );
        o.host = Some("badexample.com".into());
        assert!(o.validate().is_err());
    }

    #[test]
    fn loopback_http_base_is_accepted() {
        let mut o = CloudflareOptions::new("example.com");
        o.api_base = Some("http://127.0.0.1:8080/client/v4/".into());
        assert_eq!(
            o.validate().unwrap().api_base,
            "http://127.0.0.1:8080/client/v4"
        );
    }

    #[test]
    fn token_is_never_shown_and_comes_from_either_variable() {
        let t = Token::new(" secret-value\n").unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert!(Token::new("has space").is_none());
        assert!(Token::new("  ").is_none());
        let (t, var) =
            Token::from_env_with(|v| (v == "CF_API_TOKEN").then(|| "fallback".to_owned())).unwrap();
        assert_eq!(var, "CF_API_TOKEN");
        assert_eq!(t.bearer(), "Bearer fallback");
        let (_, var) = Token::from_env_with(|_| Some("both".to_owned())).unwrap();
        assert_eq!(var, "CLOUDFLARE_API_TOKEN");
        assert!(Token::from_env_with(|_| None).is_none());
    }
}
