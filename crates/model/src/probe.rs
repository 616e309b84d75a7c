//! A direct probe of one URL or port: timings, the response, TLS facts and the layer fingerprint.

use crate::Layer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What was probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeScheme {
    /// Plain HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS.
    Https,
    /// A TCP connect only.
    Tcp,
}

/// The step of a probe, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Name resolution.
    Dns,
    /// TCP connect.
    Connect,
    /// TLS handshake.
    Tls,
    /// Sending the request and waiting for the response header.
    ResponseHeader,
    /// Reading the response body.
    ResponseBody,
}

impl Phase {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::ResponseHeader => "response-header",
            Phase::ResponseBody => "response-body",
        }
    }
}

/// Why a probe stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeErrorKind {
    /// The name did not resolve.
    Dns,
    /// Connection refused (RST, or a unix socket nobody accepts on).
    Refused,
    /// The unix socket file does not exist.
    NotFound,
    /// Connecting was not permitted (unix socket owner or mode, SELinux).
    PermissionDenied,
    /// The phase's time ran out.
    Timeout,
    /// The peer closed or reset the connection.
    Closed,
    /// The TLS handshake failed before or apart from certificate checks.
    TlsHandshake,
    /// The certificate failed verification.
    TlsCertificate,
    /// The response was not valid HTTP (or too large to be).
    MalformedResponse,
    /// Any other I/O error (network unreachable, no route, ...).
    Io,
}

/// Why and where a probe stopped early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeError {
    /// The phase that failed.
    pub phase: Phase,
    /// The kind of failure.
    pub kind: ProbeErrorKind,
    /// The error as the system or library reported it.
    pub message: String,
}

/// Per-phase durations in milliseconds; a phase that did not run is absent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ProbeTimings {
    /// Name resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_ms: Option<f64>,
    /// TCP connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<f64>,
    /// TLS handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ms: Option<f64>,
    /// From sending the request to the end of the response header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<f64>,
    /// The whole probe.
    pub total_ms: f64,
}

impl ProbeTimings {
    /// The phases formatted for people: dns, connect, tls, first byte, total; `-` for a phase
    /// that did not run.
    pub fn phases(&self) -> [String; 5] {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"));
        [
            ms(self.dns_ms),
            ms(self.connect_ms),
            ms(self.tls_ms),
            ms(self.first_byte_ms),
            ms(Some(self.total_ms)),
        ]
    }
}

/// A response header, as received (values of secret-bearing headers are redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    /// Lower-case name.
    pub name: String,
    /// Value (lossy UTF-8).
    pub value: String,
}

/// The HTTP response a probe received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// The status's standard reason phrase (`Bad Gateway`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// HTTP version, e.g. `HTTP/1.1`.
    pub version: String,
    /// Response headers in order.
    pub headers: Vec<Header>,
    /// The first bytes of the body, for error responses (status >= 400) only: lossy UTF-8, at
    /// most 1 KiB. Empty for successful responses, whose bodies are application data.
    pub body_excerpt: String,
    /// Body bytes read.
    pub body_bytes: u64,
    /// Whether the whole body was read (false: cut at the size limit or the deadline).
    pub body_complete: bool,
}

impl HttpResponse {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

/// Facts about the TLS session and the server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsFacts {
    /// Negotiated protocol (`TLSv1.3`), when the handshake finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Negotiated cipher suite, when the handshake finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// The SNI name sent.
    pub sni: String,
    /// Leaf certificate subject.
    pub subject: String,
    /// Leaf certificate subject alternative names (DNS and IP).
    pub sans: Vec<String>,
    /// Leaf certificate issuer.
    pub issuer: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days until `not_after` at probe time (negative: expired).
    pub days_remaining: i64,
    /// Whether `not_after` had passed at probe time.
    pub expired: bool,
    /// Whether `not_before` was still in the future at probe time.
    pub not_yet_valid: bool,
    /// Whether the certificate covers the host name probed.
    pub hostname_match: bool,
    /// Whether the chain verified against the trust roots in use.
    pub verified: bool,
    /// Why verification failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_error: Option<String>,
}

/// Whose error page a body is, as far as Cloudflare's two styles go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CloudflarePage {
    /// Cloudflare-branded page (`<title>host | 502: Bad gateway</title>`): used for origin errors and 52x.
    Branded,
    /// Plain nginx-style page with a `cloudflare` footer: the edge made the error itself.
    Plain,
}

/// One observation that points to a layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Signal {
    /// `header` or `body`.
    pub source: String,
    /// What was matched (`Server`, `CF-RAY`, `footer`, `alb-page`, ...).
    pub name: String,
    /// The observed value, quoted.
    pub value: String,
    /// The layer it points to.
    pub layer: Layer,
}

/// Which layer answered and whose error page the body is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Fingerprint {
    /// The outermost layer that answered (from headers; Cloudflare wins when `CF-RAY` is present).
    pub answered_by: Layer,
    /// The layer whose built-in error page the body is, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_page_by: Option<Layer>,
    /// Cloudflare's page style, when the body is a Cloudflare page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudflare_page: Option<CloudflarePage>,
    /// `cf-error-type` header: present only on errors Cloudflare generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cf_error_type: Option<String>,
    /// Everything that was matched.
    pub signals: Vec<Signal>,
}

/// One direct probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Probe {
    /// Stable id within the report, e.g. `probe.0`; evidence item ids start with it.
    pub id: String,
    /// The URL probed (user info removed).
    pub url: String,
    /// What was probed.
    pub scheme: ProbeScheme,
    /// Host name from the URL.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Addresses the name resolved to (or the `--resolve` address).
    pub resolved: Vec<String>,
    /// The address connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<String>,
    /// Whether `--resolve` chose the address.
    pub resolve_override: bool,
    /// Phase durations.
    pub timings: ProbeTimings,
    /// The response, when one arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpResponse>,
    /// TLS facts, for https.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFacts>,
    /// Which layer answered, for HTTP responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// Why the probe stopped early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProbeError>,
}
