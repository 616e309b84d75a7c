//! The probe never got an HTTP response: DNS, refused, timed out, closed, malformed, unreachable.
//! These are the failures a proxy in front would turn into a 502 or 504 (KB 1.9, 4.7, 3.4).
//!
//! The check classifies the error into a `Failure`; a `NoResponse` words its finding, one arm per
//! failure.

use crate::remediation::{adjust_timeouts, check_backend, restart, review_config, scale_backend};
use crate::rules::{Rule, cite, front_probes};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Phase, Probe, ProbeError, ProbeErrorKind,
    Remediation, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "connection_failure",
    codes: &[
        FindingCode::DnsResolutionFailed,
        FindingCode::ConnectionRefused,
        FindingCode::ConnectTimeout,
        FindingCode::ResponseTimeout,
        FindingCode::ConnectionClosed,
        FindingCode::MalformedResponse,
        FindingCode::NetworkUnreachable,
    ],
    check,
};

fn check(evidence: &Evidence, out: &mut Vec<Finding>) {
    for probe in front_probes(evidence) {
        let Some(error) = &probe.error else { continue };
        if let Some(failure) = classify(error) {
            out.push(Finding::from(NoResponse {
                probe,
                error,
                failure,
                evidence: cite(evidence, probe, &["target", "error", "timing"]),
            }));
        }
    }
}

/// Which failure the probe's error is; `None` for those other rules judge.
fn classify(error: &ProbeError) -> Option<Failure> {
    use ProbeErrorKind as K;
    Some(match (error.kind, error.phase) {
        (K::Dns, _) | (K::Timeout, Phase::Dns) => Failure::Dns,
        (K::Refused, _) => Failure::Refused,
        (K::Timeout, Phase::Connect) => Failure::ConnectTimeout,
        // A TLS handshake that timed out is tls_handshake's.
        (K::Timeout, Phase::Tls) => return None,
        (K::Timeout, _) => Failure::ResponseTimeout,
        (K::Closed, _) | (K::Io, Phase::ResponseHeader | Phase::ResponseBody | Phase::Tls) => {
            Failure::Closed
        }
        (K::MalformedResponse, _) => Failure::Malformed,
        (K::Io, _) => Failure::Unreachable,
        // Unix sockets: only backend probes connect to them, and the provider's rules judge those.
        (K::TlsHandshake | K::TlsCertificate | K::NotFound | K::PermissionDenied, _) => {
            return None;
        }
    })
}

// ---- facts ----

/// A front probe that got no HTTP response.
struct NoResponse<'a> {
    probe: &'a Probe,
    error: &'a ProbeError,
    failure: Failure,
    /// The probe's target, error and timing items.
    evidence: Vec<String>,
}

/// How the probe failed.
enum Failure {
    Dns,
    Refused,
    ConnectTimeout,
    ResponseTimeout,
    Closed,
    Malformed,
    Unreachable,
}

// ---- text ----

/// The words of one failure's finding.
struct Text {
    code: FindingCode,
    title: String,
    explanation: String,
    disproved: &'static str,
    steps: Vec<Remediation>,
}

impl NoResponse<'_> {
    fn text(&self) -> Text {
        let (probe, msg) = (self.probe, &self.error.message);
        let target = format!("{}:{}", probe.host, probe.port);
        let addr = probe.connected.clone().unwrap_or_else(|| target.clone());
        match self.failure {
            Failure::Dns => Text {
                code: FindingCode::DnsResolutionFailed,
                title: format!("{} does not resolve", probe.host),
                explanation: format!(
                    "Resolving {} failed ({msg}). A proxy configured with this name answers 502 \
                     (nginx: \"could not be resolved\"; Cloudflare 530/1016; AppGW health \
                     Unknown).",
                    probe.host
                ),
                disproved: "The name resolves from the proxy's own resolver (it may differ from \
                            this machine's).",
                steps: vec![
                    check_backend(
                        "Query the name from this machine and from the proxy host",
                        Some(&format!("dig +short {}", probe.host)),
                    ),
                    review_config("Fix the DNS record or the resolver configuration", None),
                ],
            },
            Failure::Refused => Text {
                code: FindingCode::ConnectionRefused,
                title: format!(
                    "Connection refused by {addr}: nothing listens on port {}",
                    probe.port
                ),
                explanation: format!(
                    "The TCP connection to {addr} was refused ({msg}): the host answered with a \
                     reset, so no process listens on that port, or a firewall rejects it. A \
                     proxy in front answers this with 502 (nginx: \"connect() failed (111: \
                     Connection refused)\"; ALB: elb 502 with target \"-\")."
                ),
                disproved: "A process is listening on that address and port (ss -ltn), and a \
                            local connection succeeds.",
                steps: vec![
                    check_backend(
                        "Check that the service runs and listens on the port",
                        Some(&format!("ss -ltnp | grep ':{} '", probe.port)),
                    ),
                    restart("Start or restart the service", None),
                    review_config(
                        "If it listens on another port or only on 127.0.0.1, fix the proxy's \
                         upstream address or the service's bind address",
                        None,
                    ),
                ],
            },
            Failure::ConnectTimeout => Text {
                code: FindingCode::ConnectTimeout,
                title: format!("Connecting to {addr} timed out"),
                explanation: format!(
                    "No answer to the TCP connection attempt to {addr} ({msg}): packets are \
                     dropped by a firewall, security group or NACL, or the host is down or \
                     overloaded. Proxies turn this into 504 (nginx, ALB) or 522 (Cloudflare)."
                ),
                disproved: "A connection from the proxy's own network succeeds quickly.",
                steps: vec![
                    check_backend(
                        "Test the port from the proxy host",
                        Some(&format!("nc -vz -w 5 {} {}", probe.host, probe.port)),
                    ),
                    review_config(
                        "Allow the proxy's addresses in firewalls, security groups and NACLs",
                        None,
                    ),
                    scale_backend(
                        "If the host is overloaded (accept queue full), add capacity",
                        None,
                    ),
                ],
            },
            Failure::ResponseTimeout => Text {
                code: FindingCode::ResponseTimeout,
                title: format!("{target} accepted the request but sent no response in time"),
                explanation: format!(
                    "The connection to {addr} succeeded but no complete response header arrived \
                     before the deadline ({msg}): the application is hung or very slow. Proxies \
                     turn this into 504 (nginx proxy_read_timeout, ALB idle timeout) or 524 \
                     (Cloudflare)."
                ),
                disproved: "The same request completes when retried with a longer --timeout.",
                steps: vec![
                    check_backend(
                        "Check the application's workers and logs for hung requests",
                        None,
                    ),
                    adjust_timeouts(
                        "Raise the proxy's read timeout only if slow requests are expected",
                        None,
                    ),
                    scale_backend("Add capacity if workers are saturated", None),
                ],
            },
            Failure::Closed => Text {
                code: FindingCode::ConnectionClosed,
                title: format!("{target} closed the connection without a response"),
                explanation: format!(
                    "{addr} accepted the connection but closed or reset it before sending a \
                     response ({msg}): a crashing worker, a process killed by the OOM killer, or \
                     a keep-alive timeout shorter than the proxy's. nginx logs this as \
                     \"upstream prematurely closed connection\" or \"recv() failed (104: \
                     Connection reset by peer)\", and answers 502."
                ),
                disproved: "A retried request gets a complete response, and the application logs \
                            no crash.",
                steps: vec![
                    check_backend(
                        "Read the application's logs and the kernel log for crashes and OOM kills",
                        Some("dmesg -T | grep -i -E 'killed process|oom' | tail"),
                    ),
                    adjust_timeouts(
                        "Make the application's keep-alive timeout longer than the proxy's (ALB \
                         idle timeout 60 s, nginx upstream keepalive_timeout 60 s)",
                        None,
                    ),
                ],
            },
            Failure::Malformed => Text {
                code: FindingCode::MalformedResponse,
                title: format!("{target} sent a response that is not valid HTTP"),
                explanation: format!(
                    "The response from {addr} could not be parsed ({msg}): an invalid status \
                     line, an invalid header or a header section over the size limit. nginx \
                     answers this with 502 (\"upstream sent invalid header\", \"upstream sent too \
                     big header\"); so does the ALB."
                ),
                disproved: "curl -v against the same address shows a well-formed response.",
                steps: vec![
                    check_backend(
                        "Look at the raw response",
                        Some(&format!("curl -sv -o /dev/null {}", probe.url)),
                    ),
                    review_config(
                        "Fix the application's headers; if they are only large, raise \
                         proxy_buffer_size (nginx) or shrink cookies",
                        None,
                    ),
                ],
            },
            Failure::Unreachable => Text {
                code: FindingCode::NetworkUnreachable,
                title: format!("{addr} is unreachable from here"),
                explanation: format!(
                    "Connecting to {addr} failed at the network layer ({msg}): no route to the \
                     host, or the network is down. nginx logs \"(113: No route to host)\" or \
                     \"(101: Network is unreachable)\" and answers 502."
                ),
                disproved: "The address is reachable from the proxy's own network.",
                steps: vec![
                    check_backend(
                        "Trace the route to the host",
                        Some(&format!("ip route get {}", probe.host)),
                    ),
                    review_config(
                        "Fix routes, security groups, NACLs or firewalls on the path",
                        None,
                    ),
                ],
            },
        }
    }
}

impl From<NoResponse<'_>> for Finding {
    fn from(f: NoResponse<'_>) -> Finding {
        let text = f.text();
        Finding {
            code: text.code,
            severity: Severity::Critical,
            confidence: Confidence::High,
            layer: None,
            title: text.title,
            explanation: text.explanation,
            evidence: f.evidence,
            locations: Vec::new(),
            disproved_by: text.disproved.to_owned(),
            remediation: text.steps,
            next_command: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;

    #[test]
    fn each_error_kind_and_phase_maps_to_one_code() {
        use ProbeErrorKind as K;
        let cases = [
            (K::Dns, Phase::Dns, Some(FindingCode::DnsResolutionFailed)),
            (
                K::Timeout,
                Phase::Dns,
                Some(FindingCode::DnsResolutionFailed),
            ),
            (
                K::Refused,
                Phase::Connect,
                Some(FindingCode::ConnectionRefused),
            ),
            (
                K::Timeout,
                Phase::Connect,
                Some(FindingCode::ConnectTimeout),
            ),
            (
                K::Timeout,
                Phase::ResponseHeader,
                Some(FindingCode::ResponseTimeout),
            ),
            (
                K::Closed,
                Phase::ResponseHeader,
                Some(FindingCode::ConnectionClosed),
            ),
            (
                K::MalformedResponse,
                Phase::ResponseHeader,
                Some(FindingCode::MalformedResponse),
            ),
            (K::Io, Phase::Connect, Some(FindingCode::NetworkUnreachable)),
            (K::TlsHandshake, Phase::Tls, None),
            (K::Timeout, Phase::Tls, None),
        ];
        for (kind, phase, expected) in cases {
            let mut p = probe("http://127.0.0.1:1/");
            p.error = Some(ProbeError {
                phase,
                kind,
                message: "boom".into(),
            });
            let mut out = Vec::new();
            check(&evidence(p), &mut out);
            assert_eq!(
                out.first().map(|f| f.code),
                expected,
                "{kind:?} in {phase:?}"
            );
            if let Some(f) = out.first() {
                assert!(
                    f.explanation.contains("boom"),
                    "explanation quotes the error"
                );
                assert_eq!(f.evidence, vec!["probe.0.error"]);
            }
        }
    }
}
