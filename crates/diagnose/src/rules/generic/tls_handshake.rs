//! The TLS handshake failed (or timed out) for a reason the certificate rule does not explain.
//! Behind a proxy this is the ALB's TargetTLSNegotiationErrorCount, nginx's "SSL_do_handshake()
//! failed", or Cloudflare 525 (KB 1.9 #5, 4.7 #10, 3.4 #9).
//!
//! The check gathers a `HandshakeFailed` fact; its text is beside it.

use crate::remediation::{check_backend, update_tls};
use crate::rules::{Rule, cite, front_probes};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Phase, Probe, ProbeError, ProbeErrorKind, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "tls_handshake",
    codes: &[FindingCode::TlsHandshakeFailed],
    check,
};

fn check(evidence: &Evidence, out: &mut Vec<Finding>) {
    for probe in front_probes(evidence) {
        let Some(error) = &probe.error else { continue };
        let handshake = match error.kind {
            ProbeErrorKind::TlsHandshake => true,
            ProbeErrorKind::Timeout => error.phase == Phase::Tls,
            // A certificate rejection with a certificate we could read is tls_certificate's.
            ProbeErrorKind::TlsCertificate => probe.tls.is_none(),
            _ => false,
        };
        if !handshake {
            continue;
        }
        out.push(Finding::from(HandshakeFailed {
            probe,
            error,
            evidence: cite(evidence, probe, &["error", "tls"]),
        }));
    }
}

// ---- facts ----

/// A front probe whose TLS handshake failed or timed out.
struct HandshakeFailed<'a> {
    probe: &'a Probe,
    error: &'a ProbeError,
    /// The probe's error and TLS items.
    evidence: Vec<String>,
}

// ---- text ----

impl From<HandshakeFailed<'_>> for Finding {
    fn from(f: HandshakeFailed<'_>) -> Finding {
        let probe = f.probe;
        Finding {
            code: FindingCode::TlsHandshakeFailed,
            severity: Severity::Critical,
            confidence: Confidence::High,
            layer: None,
            title: format!("TLS handshake with {}:{} failed", probe.host, probe.port),
            explanation: format!(
                "The TCP connection succeeded but the TLS handshake did not ({}): the port may \
                 speak plain HTTP, offer no protocol or cipher in common, or require SNI. A proxy \
                 talking TLS to this backend answers 502 (nginx \"SSL_do_handshake() failed\", \
                 ALB TargetTLSNegotiationErrorCount, Cloudflare 525).",
                f.error.message
            ),
            evidence: f.evidence,
            locations: Vec::new(),
            disproved_by: "openssl s_client with the same SNI completes a handshake.".to_owned(),
            remediation: vec![
                check_backend(
                    "Test the handshake with the same SNI",
                    Some(&format!(
                        "openssl s_client -connect {}:{} -servername {} </dev/null",
                        probe.connected.as_deref().map_or(probe.host.as_str(), |a| a
                            .rsplit_once(':')
                            .map_or(a, |(h, _)| h)),
                        probe.port,
                        probe.host
                    )),
                ),
                update_tls(
                    "Fix the listener: serve TLS on this port, enable TLS 1.2+, and a certificate \
                     for the SNI name; for nginx upstreams set proxy_ssl_server_name on",
                    None,
                ),
            ],
            next_command: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;
    use cloud502_model::ProbeError;

    #[test]
    fn handshake_errors_and_tls_timeouts_fire_other_errors_do_not() {
        let cases = [
            (ProbeErrorKind::TlsHandshake, Phase::Tls, true),
            (ProbeErrorKind::Timeout, Phase::Tls, true),
            (ProbeErrorKind::TlsCertificate, Phase::Tls, true),
            (ProbeErrorKind::Timeout, Phase::Connect, false),
            (ProbeErrorKind::Refused, Phase::Connect, false),
        ];
        for (kind, phase, fires) in cases {
            let mut p = probe("https://example.com/");
            p.error = Some(ProbeError {
                phase,
                kind,
                message: "alert".into(),
            });
            let mut out = Vec::new();
            check(&evidence(p), &mut out);
            assert_eq!(out.len(), usize::from(fires), "{kind:?} {phase:?}");
        }
    }
}
