//! The server certificate: expired, not yet valid, wrong host, untrusted, expiring soon.
//! Behind a proxy these are AppGW's certificate health messages, nginx's "upstream SSL
//! certificate verify error" and Cloudflare 526 (KB 2.2, 4.2, 3.1).
//!
//! The check lists each `Problem` of the certificate; a `CertProblem` words its own finding, one
//! arm per problem.

use crate::remediation::{check_backend, update_tls};
use crate::rules::{Rule, cite, front_probes};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Probe, Remediation, Severity, TlsFacts,
};

/// Certificates closer to expiry than this many days get a warning.
const EXPIRY_WARNING_DAYS: i64 = 14;

pub(crate) const RULE: Rule = Rule {
    name: "tls_certificate",
    codes: &[
        FindingCode::TlsCertExpired,
        FindingCode::TlsCertNotYetValid,
        FindingCode::TlsCertHostnameMismatch,
        FindingCode::TlsCertUntrusted,
        FindingCode::TlsCertExpiringSoon,
    ],
    check,
};

fn check(evidence: &Evidence, out: &mut Vec<Finding>) {
    for probe in front_probes(evidence) {
        let Some(tls) = &probe.tls else { continue };
        let ids = cite(evidence, probe, &["tls"]);
        for problem in problems(tls) {
            out.push(Finding::from(CertProblem {
                probe,
                tls,
                problem,
                evidence: ids.clone(),
            }));
        }
    }
}

/// What is wrong with the certificate, in the order the findings are listed.
fn problems(tls: &TlsFacts) -> Vec<Problem<'_>> {
    let mut found = Vec::new();
    if tls.expired {
        found.push(Problem::Expired);
    }
    if tls.not_yet_valid {
        found.push(Problem::NotYetValid);
    }
    if !tls.hostname_match {
        found.push(Problem::HostnameMismatch);
    }
    let explained = tls.expired || tls.not_yet_valid || !tls.hostname_match;
    // The probe words an unknown issuer as "not signed by a trusted authority"; any other
    // verification error (a CA certificate served as the leaf, a bad signature, a wrong key
    // usage) is a different problem, named as the verifier gave it.
    let other_reason = tls
        .verify_error
        .as_deref()
        .filter(|e| !e.contains("trusted authority"));
    if !tls.verified && !explained {
        found.push(match other_reason {
            None => Problem::Untrusted,
            Some(reason) => Problem::Rejected(reason),
        });
    }
    if !tls.expired && (0..EXPIRY_WARNING_DAYS).contains(&tls.days_remaining) {
        found.push(Problem::ExpiringSoon);
    }
    found
}

// ---- facts ----

/// One problem with the certificate a front probe was served.
struct CertProblem<'a> {
    probe: &'a Probe,
    tls: &'a TlsFacts,
    problem: Problem<'a>,
    /// The probe's TLS items.
    evidence: Vec<String>,
}

/// A certificate problem.
enum Problem<'a> {
    Expired,
    NotYetValid,
    HostnameMismatch,
    /// The chain leads to no trusted root.
    Untrusted,
    /// Verification failed for another reason, as the verifier named it.
    Rejected(&'a str),
    ExpiringSoon,
}

// ---- text ----

impl CertProblem<'_> {
    fn code(&self) -> FindingCode {
        match self.problem {
            Problem::Expired => FindingCode::TlsCertExpired,
            Problem::NotYetValid => FindingCode::TlsCertNotYetValid,
            Problem::HostnameMismatch => FindingCode::TlsCertHostnameMismatch,
            Problem::Untrusted | Problem::Rejected(_) => FindingCode::TlsCertUntrusted,
            Problem::ExpiringSoon => FindingCode::TlsCertExpiringSoon,
        }
    }

    fn title(&self) -> String {
        let (tls, name) = (self.tls, format!("{}:{}", self.probe.host, self.probe.port));
        match self.problem {
            Problem::Expired => format!(
                "The certificate served by {name} expired on {}",
                tls.not_after
            ),
            Problem::NotYetValid => format!(
                "The certificate served by {name} is not valid until {}",
                tls.not_before
            ),
            Problem::HostnameMismatch => format!(
                "The certificate served by {name} does not cover {}",
                self.probe.host
            ),
            Problem::Untrusted => {
                format!("The certificate served by {name} is not signed by a trusted authority")
            }
            Problem::Rejected(reason) => {
                format!("The certificate served by {name} was rejected: {reason}")
            }
            Problem::ExpiringSoon => format!(
                "The certificate served by {name} expires in {} days",
                tls.days_remaining
            ),
        }
    }

    fn explanation(&self) -> String {
        let tls = self.tls;
        match self.problem {
            Problem::Expired => format!(
                "The leaf certificate ({}) was valid until {} ({} days ago). Clients and proxies \
                 that verify (AppGW: \"Current date is not within the Valid from and Valid to \
                 date range\"; Cloudflare Full strict: 526) reject it.",
                tls.subject, tls.not_after, -tls.days_remaining
            ),
            Problem::NotYetValid => format!(
                "The leaf certificate ({}) becomes valid on {}: the server clock or the issuing \
                 process is wrong.",
                tls.subject, tls.not_before
            ),
            Problem::HostnameMismatch => format!(
                "The leaf certificate names {} (subject {}), not {}. Verifying clients reject \
                 it; proxies report it as \"upstream SSL certificate does not match\" (nginx), a \
                 CN mismatch (AppGW) or 526 (Cloudflare).",
                if tls.sans.is_empty() {
                    "no DNS names".to_owned()
                } else {
                    tls.sans.join(", ")
                },
                tls.subject,
                self.probe.host
            ),
            Problem::Untrusted => format!(
                "Verification failed ({}): the chain served (issuer {}) does not lead to a \
                 trusted root: self-signed, a private CA, or a missing intermediate.",
                tls.verify_error.as_deref().unwrap_or("unknown error"),
                tls.issuer
            ),
            Problem::Rejected(reason) => format!(
                "Verification failed: {reason}. The leaf certificate is {} (issuer {}); clients \
                 and proxies that verify reject it as well.",
                tls.subject, tls.issuer
            ),
            Problem::ExpiringSoon => format!(
                "The leaf certificate ({}) is valid until {}; once it expires, verifying proxies \
                 and clients will reject it.",
                tls.subject, tls.not_after
            ),
        }
    }

    fn disproved_by(&self) -> &'static str {
        match self.problem {
            Problem::Expired => {
                "The certificate served for this SNI name has a not_after in the future \
                 (another address behind the same name may serve a renewed one)."
            }
            Problem::NotYetValid => "The probing machine's clock is wrong (check with `date -u`).",
            Problem::HostnameMismatch => {
                "The server serves a different certificate when asked with the right SNI (check \
                 the proxy's proxy_ssl_name / host name setting)."
            }
            Problem::Untrusted => {
                "Verification succeeds with the organisation's CA bundle (--cacert), which means \
                 only this machine lacks the root."
            }
            Problem::Rejected(_) => {
                "The same certificate verifies with another client (openssl s_client \
                 -verify_return_error), which would point at this machine's trust store."
            }
            Problem::ExpiringSoon => {
                "A renewed certificate is already deployed on every server behind this name."
            }
        }
    }
}

fn remediation(probe: &Probe, code: FindingCode) -> Vec<Remediation> {
    let read_cert = format!(
        "openssl s_client -connect {}:{} -servername {} </dev/null | openssl x509 -noout -subject -issuer -dates -ext subjectAltName",
        probe.host, probe.port, probe.host
    );
    let fix = match code {
        FindingCode::TlsCertHostnameMismatch => {
            "Serve a certificate whose SANs include the host name, or fix the SNI / host name the \
             proxy sends"
        }
        FindingCode::TlsCertUntrusted => {
            "Serve the full chain (leaf first, then intermediates), or add the private root to \
             the proxy's trusted roots"
        }
        FindingCode::TlsCertNotYetValid => "Fix the clocks (NTP) and reissue the certificate",
        _ => "Renew the certificate and reload every server that serves it",
    };
    vec![
        check_backend("Read the certificate the server presents", Some(&read_cert)),
        update_tls(fix, None),
    ]
}

impl From<CertProblem<'_>> for Finding {
    fn from(f: CertProblem<'_>) -> Finding {
        let code = f.code();
        Finding {
            code,
            severity: match f.problem {
                Problem::ExpiringSoon => Severity::Warning,
                _ => Severity::Critical,
            },
            confidence: Confidence::High,
            layer: None,
            title: f.title(),
            explanation: f.explanation(),
            locations: Vec::new(),
            disproved_by: f.disproved_by().to_owned(),
            remediation: remediation(f.probe, code),
            next_command: None,
            evidence: f.evidence,
        }
    }
}

/// Whether the facts describe a certificate with no problem at all (used by tests).
#[cfg(test)]
fn clean(tls: &cloud502_model::TlsFacts) -> bool {
    tls.verified && tls.hostname_match && !tls.expired && tls.days_remaining >= EXPIRY_WARNING_DAYS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;
    use cloud502_model::TlsFacts;

    fn facts() -> TlsFacts {
        TlsFacts {
            protocol: Some("TLSv1.3".into()),
            cipher: None,
            sni: "example.com".into(),
            subject: "CN=example.com".into(),
            sans: vec!["example.com".into()],
            issuer: "CN=Test CA".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            days_remaining: 40,
            expired: false,
            not_yet_valid: false,
            hostname_match: true,
            verified: true,
            verify_error: None,
        }
    }

    fn codes(tls: TlsFacts) -> Vec<FindingCode> {
        let mut p = probe("https://example.com/");
        p.tls = Some(tls);
        let mut out = Vec::new();
        check(&evidence(p), &mut out);
        out.into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn each_problem_gives_its_code() {
        assert!(clean(&facts()));
        assert!(codes(facts()).is_empty());
        let expired = TlsFacts {
            expired: true,
            days_remaining: -3,
            verified: false,
            ..facts()
        };
        assert_eq!(codes(expired), vec![FindingCode::TlsCertExpired]);
        let wrong = TlsFacts {
            hostname_match: false,
            verified: false,
            ..facts()
        };
        assert_eq!(codes(wrong), vec![FindingCode::TlsCertHostnameMismatch]);
        let untrusted = TlsFacts {
            verified: false,
            verify_error: Some("UnknownIssuer".into()),
            ..facts()
        };
        assert_eq!(codes(untrusted), vec![FindingCode::TlsCertUntrusted]);
        let soon = TlsFacts {
            days_remaining: 3,
            ..facts()
        };
        assert_eq!(codes(soon), vec![FindingCode::TlsCertExpiringSoon]);
        let early = TlsFacts {
            not_yet_valid: true,
            verified: false,
            ..facts()
        };
        assert_eq!(codes(early), vec![FindingCode::TlsCertNotYetValid]);
    }
}
