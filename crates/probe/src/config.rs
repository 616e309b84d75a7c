//! A probe's configuration, validated up front: every problem is reported at once.

use crate::error::{ConfigError, Result};
use cloud502_model::{ProbeScheme, secret};
use http::{HeaderName, HeaderValue};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// The options of `cloud502 probe`, as the user typed them.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// `HOST:PORT:ADDR` entries, as curl's `--resolve`: connect to ADDR for HOST:PORT while
    /// keeping the Host header and SNI.
    pub resolve: Vec<String>,
    /// Extra request headers, `Name: value`.
    pub headers: Vec<String>,
    /// Deadline for the whole probe.
    pub timeout: Duration,
    /// Go on when the certificate does not verify (its facts are still reported).
    pub insecure: bool,
    /// Extra trusted CA certificates (PEM files), added to the system roots.
    pub ca_files: Vec<PathBuf>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            resolve: Vec::new(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            insecure: false,
            ca_files: Vec::new(),
        }
    }
}

/// One `--resolve` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRule {
    /// Host name it applies to (lower case).
    pub host: String,
    /// Port it applies to.
    pub port: u16,
    /// Address to connect to instead.
    pub addr: IpAddr,
}

impl ResolveRule {
    fn parse(input: &str) -> std::result::Result<Self, String> {
        let bad =
            |why: &str| format!("invalid --resolve `{input}`: {why} (expected HOST:PORT:ADDR)");
        let (host, rest) = input.split_once(':').ok_or_else(|| bad("missing PORT"))?;
        let (port, addr) = rest.split_once(':').ok_or_else(|| bad("missing ADDR"))?;
        if host.is_empty() {
            return Err(bad("empty HOST"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad("PORT is not a number from 0 to 65535"))?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = addr.parse().map_err(|_| bad("ADDR is not an IP address"))?;
        Ok(ResolveRule {
            host: host.to_ascii_lowercase(),
            port,
            addr,
        })
    }
}

/// A validated probe.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    /// The URL to probe.
    pub url: Url,
    /// http, https or tcp.
    pub scheme: ProbeScheme,
    /// Host name or address, without IPv6 brackets.
    pub host: String,
    /// Port (the scheme's default when the URL has none).
    pub port: u16,
    /// `--resolve` rules.
    pub resolve: Vec<ResolveRule>,
    /// Extra request headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Deadline for the whole probe.
    pub timeout: Duration,
    /// Go on when the certificate does not verify.
    pub insecure: bool,
    /// Connect to this unix socket instead of resolving the host (`scheme` Http: one GET over
    /// it; Tcp: connect only).
    pub unix_socket: Option<PathBuf>,
    /// Extra trusted CA files.
    pub ca_files: Vec<PathBuf>,
}

impl ProbeRequest {
    /// Validate a URL and options. Reports every problem at once, with a hint for the first.
    pub fn new(url: &str, options: ProbeOptions) -> Result<Self> {
        let mut problems = Vec::new();
        let mut hint = None;
        let target = match parse_url(url.trim()) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.extend(e.problems);
                hint = e.hint;
                None
            }
        };
        let mut resolve = Vec::new();
        for r in &options.resolve {
            match ResolveRule::parse(r) {
                Ok(rule) => resolve.push(rule),
                Err(p) => problems.push(p),
            }
        }
        let mut headers = Vec::new();
        for h in &options.headers {
            match parse_header(h) {
                Ok(pair) => headers.push(pair),
                Err(p) => problems.push(p),
            }
        }
        for f in &options.ca_files {
            // A pipe or a device would block the read (the size cap is in `tls::roots`).
            match std::fs::metadata(f) {
                Err(e) => problems.push(format!("cannot read --cacert {}: {e}", f.display())),
                Ok(m) if !m.is_file() => {
                    problems.push(format!("--cacert {} is not a regular file", f.display()))
                }
                Ok(_) => {}
            }
        }
        if options.timeout.is_zero() {
            problems.push("--timeout must be greater than zero".to_owned());
        }
        // Bounded for library callers too: the probe's deadline is `now + timeout`.
        use cloud502_collect::limits;
        if let Err(e) = limits::check_duration("--timeout", options.timeout, limits::MAX_TIMEOUT) {
            problems.push(e);
        }
        if let Some((url, ..)) = &target {
            register_url_secrets(url);
        }
        for (name, value) in &headers {
            register_header_secret(name, value);
        }
        match target {
            Some((url, scheme, host, port)) if problems.is_empty() => Ok(ProbeRequest {
                url,
                scheme,
                host,
                port,
                resolve,
                headers,
                timeout: options.timeout,
                insecure: options.insecure,
                unix_socket: None,
                ca_files: options.ca_files,
            }),
            _ => {
                if hint.is_none() && !problems.is_empty() {
                    hint = Some("run `cloud502 probe --help` for the accepted forms".to_owned());
                }
                Err(ConfigError { problems, hint })
            }
        }
    }

    /// A probe of a unix socket: `http` sends one GET for `path` over it, otherwise connect only.
    pub fn unix(
        socket: impl Into<PathBuf>,
        http: bool,
        path: &str,
        timeout: Duration,
    ) -> Result<Self> {
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let url = Url::parse(&format!("http://localhost{path}"))
            .map_err(|e| ConfigError::one(format!("invalid request path `{path}`: {e}"), None))?;
        Ok(ProbeRequest {
            url,
            scheme: if http {
                ProbeScheme::Http
            } else {
                ProbeScheme::Tcp
            },
            host: "localhost".to_owned(),
            port: 0,
            resolve: Vec::new(),
            headers: Vec::new(),
            timeout,
            insecure: false,
            unix_socket: Some(socket.into()),
            ca_files: Vec::new(),
        })
    }

    /// The `--resolve` address for this request's host and port, if any.
    pub fn resolve_override(&self) -> Option<IpAddr> {
        self.resolve
            .iter()
            .find(|r| r.port == self.port && r.host.eq_ignore_ascii_case(&self.host))
            .map(|r| r.addr)
    }

    /// The URL as it may appear in reports: no password, query values redacted (they often
    /// carry tokens or signatures).
    pub fn display_url(&self) -> String {
        if let Some(socket) = &self.unix_socket {
            return match self.scheme {
                ProbeScheme::Http => {
                    format!("http://unix:{}:{}", socket.display(), self.url.path())
                }
                _ => format!("unix:{}", socket.display()),
            };
        }
        let mut url = self.url.clone();
        let _ = url.set_password(None);
        if !url.username().is_empty() {
            let _ = url.set_username("");
        }
        if url.query().is_some() {
            let redacted: Vec<String> = url
                .query_pairs()
                .map(|(k, _)| format!("{k}=REDACTED"))
                .collect();
            url.set_query(Some(&redacted.join("&")));
        }
        url.to_string()
    }
}

/// Request headers whose values are not secrets, so they are not masked in reports: they name the
/// host, the content and the client, and masking them would hide what was probed (a `Host` value
/// would be masked in every URL of the report). The value of every other `-H` header is a
/// secret, since custom headers often carry API keys and tokens. `Accept*` covers
/// `Accept-Encoding`, `Accept-Language`, ... too.
pub const NON_SECRET_HEADERS: &[&str] = &[
    "host",
    "accept",
    "content-type",
    "content-length",
    "user-agent",
    "cache-control",
    "connection",
    "pragma",
];

/// Whether the value of request header `name` is registered as a secret.
pub fn is_secret_request_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !(NON_SECRET_HEADERS.contains(&name.as_str()) || name.starts_with("accept-"))
}

/// Register a `-H` value as a secret (a server that echoes it back must not put it in a report).
fn register_header_secret(name: &HeaderName, value: &HeaderValue) {
    if !is_secret_request_header(name.as_str()) {
        return;
    }
    let Ok(value) = value.to_str() else { return };
    if matches!(name.as_str(), "authorization" | "proxy-authorization") {
        secret::register_credential(value);
    } else {
        secret::register(value);
    }
}

/// Register the URL's password and every query value as secrets, decoded and as written.
fn register_url_secrets(url: &Url) {
    if let Some(password) = url.password() {
        secret::register(password);
        if let Ok(decoded) = percent_decode(password) {
            secret::register(&decoded);
        }
    }
    for (_, value) in url.query_pairs() {
        secret::register(&value);
    }
    // The raw (still encoded) values too: a server may quote the query string as it came.
    for pair in url.query().unwrap_or("").split('&') {
        if let Some((_, raw)) = pair.split_once('=') {
            secret::register(raw);
        }
    }
}

/// `%XX` decoding of a URL component (the `url` crate keeps the password encoded).
fn percent_decode(s: &str) -> std::result::Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

type Target = (Url, ProbeScheme, String, u16);

fn parse_url(input: &str) -> Result<Target> {
    let url = Url::parse(input).map_err(|e| {
        let hint = if matches!(e, url::ParseError::RelativeUrlWithoutBase) {
            Some(format!(
                "add a scheme, e.g. `https://{input}` or `tcp://{input}`"
            ))
        } else {
            None
        };
        ConfigError::one(format!("invalid URL `{input}`: {e}"), hint)
    })?;
    let scheme = match url.scheme() {
        "http" => ProbeScheme::Http,
        "https" => ProbeScheme::Https,
        "tcp" => ProbeScheme::Tcp,
        other => {
            return Err(ConfigError::one(
                format!("unsupported scheme `{other}` in `{input}`"),
                Some("use http://, https:// or tcp://HOST:PORT".to_owned()),
            ));
        }
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        _ => {
            return Err(ConfigError::one(
                format!("URL `{input}` has no host"),
                Some("write it as scheme://HOST[:PORT]/path".to_owned()),
            ));
        }
    };
    let port = match (url.port_or_known_default(), scheme) {
        (Some(p), _) => p,
        (None, _) => {
            return Err(ConfigError::one(
                format!("`{input}` has no port"),
                Some("tcp:// needs a port: tcp://HOST:PORT".to_owned()),
            ));
        }
    };
    if port == 0 {
        return Err(ConfigError::one(
            format!("port 0 in `{input}` cannot be probed"),
            None,
        ));
    }
    Ok((url, scheme, host, port))
}

fn parse_header(input: &str) -> std::result::Result<(HeaderName, HeaderValue), String> {
    // A malformed header may still hold a credential (`Authorization Bearer x`, `key=x`): the
    // error names only the leading run of header-name characters, never the rest.
    let shown: String = input
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    let (name, value) = input
        .split_once(':')
        .ok_or_else(|| format!("invalid --header `{shown}...`: no `:`; expected `Name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("invalid --header `{shown}...`: bad header name"))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("invalid --header `{}`: bad header value", name.as_str()))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(url: &str) -> Result<ProbeRequest> {
        ProbeRequest::new(url, ProbeOptions::default())
    }

    #[test]
    fn a_malformed_header_is_named_without_its_value() {
        for bad in [
            "Authorization Bearer hdr-sentinel-1",
            "X-Api-Key=hdr-sentinel-1",
        ] {
            let e = parse_header(bad).unwrap_err();
            assert!(!e.contains("hdr-sentinel-1"), "{e}");
            assert!(e.contains("expected `Name: value`"), "{e}");
        }
    }

    #[test]
    fn accepts_the_three_schemes_with_default_ports() {
        let r = req("https://Example.com/a?b=c").unwrap();
        assert_eq!(
            (r.scheme, r.host.as_str(), r.port),
            (ProbeScheme::Https, "example.com", 443)
        );
        assert_eq!(req("http://[::1]:8080/").unwrap().host, "::1");
        assert_eq!(req("tcp://10.0.0.1:5432").unwrap().port, 5432);
    }

    #[test]
    fn rejects_bad_input_with_a_hint() {
        let e = req("example.com").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid URL `example.com`"),
            "{e}"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("add a scheme, e.g. `https://example.com` or `tcp://example.com`")
        );
        let e = req("ftp://example.com/").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported scheme `ftp` in `ftp://example.com/`"
        );
        let e = req("tcp://example.com").unwrap_err();
        assert!(e.to_string().contains("has no port"), "{e}");
        assert!(req("http://exa mple.com/").is_err());
    }

    #[test]
    fn reports_every_bad_option_at_once() {
        let opts = ProbeOptions {
            resolve: vec!["example.com:443".into(), "example.com:443:[::1]".into()],
            headers: vec!["NoColon".into(), "X-Ok: 1".into()],
            ..Default::default()
        };
        let e = ProbeRequest::new("https://example.com/", opts).unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
        assert!(e.problems[0].contains("--resolve `example.com:443`"));
        assert!(
            e.problems[1].contains("--header `NoColon...`"),
            "{}",
            e.problems[1]
        );
    }

    #[test]
    fn resolve_applies_only_to_its_host_and_port() {
        let opts = ProbeOptions {
            resolve: vec!["example.com:443:127.0.0.1".into()],
            ..Default::default()
        };
        let r = ProbeRequest::new("https://EXAMPLE.com/", opts.clone()).unwrap();
        assert_eq!(r.resolve_override(), Some("127.0.0.1".parse().unwrap()));
        let r = ProbeRequest::new("https://example.com:8443/", opts).unwrap();
        assert_eq!(r.resolve_override(), None);
    }

    #[test]
    fn header_values_url_passwords_and_query_values_are_registered_secrets() {
        let opts = ProbeOptions {
            headers: vec![
                "Authorization: Bearer cfg-sentinel-auth-1".into(),
                "X-Api-Key: cfg-sentinel-key-2".into(),
                "Host: cfg-visible-host.example".into(),
                "Accept-Language: cfg-visible-lang".into(),
            ],
            ..Default::default()
        };
        ProbeRequest::new(
            "https://u:cfg%2Fsentinel-pw-3@example.com/p?token=cfg-sentinel-q-4&a=b",
            opts,
        )
        .unwrap();
        let text = "cfg-sentinel-auth-1 cfg-sentinel-key-2 cfg/sentinel-pw-3 cfg%2Fsentinel-pw-3 \
                    cfg-sentinel-q-4 cfg-visible-host.example cfg-visible-lang";
        assert_eq!(
            secret::mask(text),
            "<redacted> <redacted> <redacted> <redacted> <redacted> cfg-visible-host.example \
             cfg-visible-lang"
        );
        assert!(is_secret_request_header("X-Auth-Token"));
        assert!(!is_secret_request_header("Accept-Encoding"));
        assert!(!is_secret_request_header("USER-AGENT"));
    }

    #[test]
    fn display_url_hides_credentials_and_query_values() {
        let r = req("https://user:secret@example.com/p?token=abc&x=1").unwrap();
        let shown = r.display_url();
        assert_eq!(shown, "https://example.com/p?token=REDACTED&x=REDACTED");
    }
}
