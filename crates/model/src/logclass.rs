//! The closed set of things a log line can say about a failed proxied request, shared by every dialect.
//!
//! Error-log classes follow the nginx message catalogue (KB 4.2); access-log classes follow the upstream
//! timing signatures (KB 4.4). ALB, AppGW and Cloudflare dialects map onto the same classes where the
//! meaning is the same, so one rule reads them all.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! log_classes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $status:expr;)*) => {
        /// What a log line says happened.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum LogClass {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl LogClass {
            /// Every class, in declaration order.
            pub const ALL: &'static [LogClass] = &[$(LogClass::$variant,)*];

            /// The kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(LogClass::$variant => $name,)*
                }
            }

            /// The status the client gets for a request that failed this way (KB 4.3), if it is fixed.
            pub fn client_status(self) -> Option<u16> {
                match self {
                    $(LogClass::$variant => $status,)*
                }
            }
        }
    };
}

log_classes! {
    /// `connect() failed (111: Connection refused)`: nothing listens on the upstream port.
    ConnectRefused = "connect-refused", Some(502);
    /// `connect() to unix:... failed (2: No such file or directory)`: the socket file is missing.
    ConnectNoSocket = "connect-no-socket", Some(502);
    /// `(13: Permission denied)` on connect: socket owner or mode, or SELinux.
    ConnectPermission = "connect-permission", Some(502);
    /// `(11: Resource temporarily unavailable)` on connect: the unix socket's backlog is full.
    ConnectBacklog = "connect-backlog", Some(502);
    /// `No route to host` / `Network is unreachable`: the network path.
    ConnectUnreachable = "connect-unreachable", Some(502);
    /// `(99: Cannot assign requested address)`: ephemeral ports exhausted.
    ConnectNoPorts = "connect-no-ports", Some(502);
    /// Any other `connect() failed`.
    ConnectFailed = "connect-failed", Some(502);
    /// `upstream timed out ... while connecting to upstream`: 504.
    ConnectTimeout = "connect-timeout", Some(504);
    /// `upstream prematurely closed connection while reading response header`.
    PrematureClose = "premature-close", Some(502);
    /// `recv() failed (104: Connection reset by peer)` before the header.
    ConnectionReset = "connection-reset", Some(502);
    /// `writev()/send() failed (32: Broken pipe)` while sending the request.
    BrokenPipe = "broken-pipe", Some(502);
    /// `upstream sent too big header`.
    TooBigHeader = "too-big-header", Some(502);
    /// `upstream sent invalid header`, duplicate or conflicting framing headers, invalid chunking.
    InvalidHeader = "invalid-header", Some(502);
    /// `upstream sent no valid HTTP/1.0 header`: an HTTP/0.9 answer, not a 502.
    NoValidHeader = "no-valid-header", None;
    /// `upstream server temporarily disabled`: max_fails reached for a peer.
    UpstreamDisabled = "upstream-disabled", None;
    /// `no live upstreams`: every peer of the pool is marked down.
    NoLiveUpstreams = "no-live-upstreams", Some(502);
    /// `SSL_do_handshake() failed` / `peer closed connection in SSL handshake`.
    TlsHandshake = "tls-handshake", Some(502);
    /// `upstream SSL certificate verify error`.
    TlsVerify = "tls-verify", Some(502);
    /// `upstream SSL certificate does not match`.
    TlsNameMismatch = "tls-name-mismatch", Some(502);
    /// `could not be resolved`: runtime DNS failure.
    ResolveFailed = "resolve-failed", Some(502);
    /// `no resolver defined to resolve`: a variable upstream with no `resolver`.
    NoResolver = "no-resolver", Some(502);
    /// `host not found in upstream` at load: nginx did not start or reload.
    HostNotFoundAtLoad = "host-not-found-at-load", None;
    /// `upstream timed out ... while reading response header` or sending the request: 504.
    ReadTimeout = "read-timeout", Some(504);
    /// `upstream timed out ... while reading upstream`: the body was cut, the status already sent.
    BodyTimeout = "body-timeout", None;
    /// `upstream prematurely closed connection while reading upstream`: a truncated body, not a 502.
    BodyTruncated = "body-truncated", None;
    /// `FastCGI sent in stderr`: the application wrote an error.
    FastcgiStderr = "fastcgi-stderr", None;
    /// Another upstream error.
    UpstreamOther = "upstream-other", None;
    /// Access log: 502 and the upstream was never connected (nginx: `$upstream_connect_time` `-`;
    /// ALB: `target_status_code` `-` and all three processing times -1, KB 1.9 #1, #2, #5).
    Status502NoConnect = "status-502-no-connect", Some(502);
    /// Access log: 502, connected but no header came back (nginx: `$upstream_header_time` `-`;
    /// ALB: `target_status_code` `-`, `request_processing_time` >= 0 and
    /// `target_processing_time` -1: the target closed the connection, KB 1.9 #3, #4).
    Status502NoHeader = "status-502-no-header", Some(502);
    /// Access log: 502 with an upstream header: the upstream itself answered 502 (ALB:
    /// `target_status_code` 502, KB 1.9 #10).
    Status502FromUpstream = "status-502-from-upstream", Some(502);
    /// Access log: 502 with no upstream timing in the format.
    Status502 = "status-502", Some(502);
    /// Access log: 504.
    Status504 = "status-504", Some(504);
    /// Access log: 499, the client gave up first.
    Status499 = "status-499", Some(499);
    /// Access log: another 5xx (500, 503, ...).
    Status5xx = "status-5xx", None;
    /// Access log: an upstream attempt failed (`$upstream_status` `502, 200`) and nginx retried
    /// it (`proxy_next_upstream`): the client got the final status, not a 502. The group's
    /// `status` is the client's, its upstream the one that failed.
    UpstreamRetried = "upstream-retried", None;
    /// Cloudflare (analytics or Logpush `http_requests`): the edge made the error itself, with no
    /// origin response (`OriginResponseStatus` 0, KB 0.3, 3.3): a 52x, 530, or an edge-made
    /// 502/504. The group's `status` is the edge's status.
    EdgeError = "edge-error", None;
    /// ALB access log: a Lambda target failed; the `error_reason` (`LambdaInvalidResponse`,
    /// `LambdaResponseTooLarge`, ...) is the group's detail (KB 1.4, 1.7).
    LambdaError = "lambda-error", None;
    /// ALB access log: an authenticate action failed (`Auth*` `error_reason`, KB 1.4).
    AuthError = "auth-error", None;
    /// ALB access log: the WAF call failed (`WAF*` `error_reason`, KB 1.4).
    WafError = "waf-error", None;
    /// ALB access log: weighted target group routing failed (`AWSALBTGCookieInvalid`,
    /// `WeightedTargetGroupsUnhandledException`, KB 1.4).
    RoutingError = "routing-error", None;
}

impl std::fmt::Display for LogClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for class in LogClass::ALL {
            let json = serde_json::to_value(class).unwrap_or_default();
            assert_eq!(json.as_str(), Some(class.as_str()));
        }
    }
}
