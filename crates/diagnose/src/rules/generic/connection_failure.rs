//! The probe never got an HTTP response: DNS, refused, timed out, closed, malformed, unreachable.
//! These are the failures a proxy in front would turn into a 502 or 504 (KB 1.9, 4.7, 3.4).

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
        if let Some(f) = finding(
            probe,
            error,
            cite(evidence, probe, &["target", "error", "timing"]),
        ) {
            out.push(f);
        }
    }
}

fn finding(probe: &Probe, error: &ProbeError, evidence: Vec<String>) -> Option<Finding> {
    use ProbeErrorKind as K;
    let target = format!("{}:{}", probe.host, probe.port);
    let addr = probe.connected.clone().unwrap_or_else(|| target.clone());
    let listen_check = format!("ss -ltnp | grep ':{} '", probe.port);
    let (code, title, explanation, disproved_by, remediation): (
        _,
        String,
        String,
        &str,
        Vec<Remediation>,
    ) = match (error.kind, error.phase) {
        (K::Dns, _) | (K::Timeout, Phase::Dns) => (
            FindingCode::DnsResolutionFailed,
            format!("{} does not resolve", probe.host),
            format!(
                "Resolving {} failed ({}). A proxy configured with this name answers 502 \
                     (nginx: \"could not be resolved\"; Cloudflare 530/1016; AppGW health \
                     Unknown).",
                probe.host, error.message
            ),
            "The name resolves from the proxy's own resolver (it may differ from this \
                 machine's).",
            vec![
                check_backend(
                    "Query the name from this machine and from the proxy host",
                    Some(&format!("dig +short {}", probe.host)),
                ),
                review_config("Fix the DNS record or the resolver configuration", None),
            ],
        ),
        (K::Refused, _) => (
            FindingCode::ConnectionRefused,
            format!(
                "Connection refused by {addr}: nothing listens on port {}",
                probe.port
            ),
            format!(
                "The TCP connection to {addr} was refused ({}): the host answered with a \
                     reset, so no process listens on that port, or a firewall rejects it. A \
                     proxy in front answers this with 502 (nginx: \"connect() failed (111: \
                     Connection refused)\"; ALB: elb 502 with target \"-\").",
                error.message
            ),
            "A process is listening on that address and port (ss -ltn), and a local \
                 connection succeeds.",
            vec![
                check_backend(
                    "Check that the service runs and listens on the port",
                    Some(&listen_check),
                ),
                restart("Start or restart the service", None),
                review_config(
                    "If it listens on another port or only on 127.0.0.1, fix the proxy's \
                         upstream address or the service's bind address",
                    None,
                ),
            ],
        ),
        (K::Timeout, Phase::Connect) => (
            FindingCode::ConnectTimeout,
            format!("Connecting to {addr} timed out"),
            format!(
                "No answer to the TCP connection attempt to {addr} ({}): packets are \
                     dropped by a firewall, security group or NACL, or the host is down or \
                     overloaded. Proxies turn this into 504 (nginx, ALB) or 522 (Cloudflare).",
                error.message
            ),
            "A connection from the proxy's own network succeeds quickly.",
            vec![
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
        ),
        // A TLS handshake that timed out is tls_handshake's.
        (K::Timeout, Phase::Tls) => return None,
        (K::Timeout, _) => (
            FindingCode::ResponseTimeout,
            format!("{target} accepted the request but sent no response in time"),
            format!(
                "The connection to {addr} succeeded but no complete response header arrived \
                     before the deadline ({}): the application is hung or very slow. Proxies \
                     turn this into 504 (nginx proxy_read_timeout, ALB idle timeout) or 524 \
                     (Cloudflare).",
                error.message
            ),
            "The same request completes when retried with a longer --timeout.",
            vec![
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
        ),
        (K::Closed, _) | (K::Io, Phase::ResponseHeader | Phase::ResponseBody | Phase::Tls) => (
            FindingCode::ConnectionClosed,
            format!("{target} closed the connection without a response"),
            format!(
                "{addr} accepted the connection but closed or reset it before sending a \
                     response ({}): a crashing worker, a process killed by the OOM killer, or a \
                     keep-alive timeout shorter than the proxy's. nginx logs this as \
                     \"upstream prematurely closed connection\" or \"recv() failed (104: \
                     Connection reset by peer)\", and answers 502.",
                error.message
            ),
            "A retried request gets a complete response, and the application logs no crash.",
            vec![
                check_backend(
                    "Read the application's logs and the kernel log for crashes and OOM kills",
                    Some("dmesg -T | grep -i -E 'killed process|oom' | tail"),
                ),
                adjust_timeouts(
                    "Make the application's keep-alive timeout longer than the proxy's \
                         (ALB idle timeout 60 s, nginx upstream keepalive_timeout 60 s)",
                    None,
                ),
            ],
        ),
        (K::MalformedResponse, _) => (
            FindingCode::MalformedResponse,
            format!("{target} sent a response that is not valid HTTP"),
            format!(
                "The response from {addr} could not be parsed ({}): an invalid status line, \
                     an invalid header or a header section over the size limit. nginx answers \
                     this with 502 (\"upstream sent invalid header\", \"upstream sent too big \
                     header\"); so does the ALB.",
                error.message
            ),
            "curl -v against the same address shows a well-formed response.",
            vec![
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
        ),
        (K::Io, _) => (
            FindingCode::NetworkUnreachable,
            format!("{addr} is unreachable from here"),
            format!(
                "Connecting to {addr} failed at the network layer ({}): no route to the \
                     host, or the network is down. nginx logs \"(113: No route to host)\" or \
                     \"(101: Network is unreachable)\" and answers 502.",
                error.message
            ),
            "The address is reachable from the proxy's own network.",
            vec![
                check_backend(
                    "Trace the route to the host",
                    Some(&format!("ip route get {}", probe.host)),
                ),
                review_config(
                    "Fix routes, security groups, NACLs or firewalls on the path",
                    None,
                ),
            ],
        ),
        // Unix sockets: only backend probes connect to them, and the provider's rules judge those.
        (K::TlsHandshake | K::TlsCertificate | K::NotFound | K::PermissionDenied, _) => {
            return None;
        }
    };
    Some(Finding {
        code,
        severity: Severity::Critical,
        confidence: Confidence::High,
        layer: None,
        title,
        explanation,
        evidence,
        locations: Vec::new(),
        disproved_by: disproved_by.to_owned(),
        remediation,
        next_command: None,
    })
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
