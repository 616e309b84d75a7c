//! A gateway answered 504: its upstream did not answer in time (KB 4.3, 1.9 "Not 502", 2.5 #8).
//! Not a 502, but the neighbouring failure an engineer chasing 502s needs told apart.
//!
//! The check gathers a `Timeout504` fact; each layer's reading of a 504 is one arm of
//! `timeout_text`.

use crate::remediation::{adjust_timeouts, check_backend, scale_backend};
use crate::rules::{Rule, cite, front_probes};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, Layer, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "gateway_timeout",
    codes: &[FindingCode::GatewayTimeout504],
    check,
};

fn check(evidence: &Evidence, out: &mut Vec<Finding>) {
    for probe in front_probes(evidence) {
        let (Some(http), Some(fp)) = (&probe.http, &probe.fingerprint) else {
            continue;
        };
        if http.status != 504 {
            continue;
        }
        out.push(Finding::from(Timeout504 {
            layer: match (fp.answered_by, fp.error_page_by) {
                (Layer::Unknown | Layer::Application, Some(page)) => page,
                (answered, _) => answered,
            },
            evidence: cite(evidence, probe, &["status", "header", "body", "timing"]),
        }));
    }
}

// ---- facts ----

/// A front probe answered 504.
struct Timeout504 {
    /// The layer that answered (or whose page it is).
    layer: Layer,
    /// The probe's status, header, body and timing items.
    evidence: Vec<String>,
}

// ---- text ----

/// Why a layer answers 504, and the timeout step for it: (why, fix).
fn timeout_text(layer: Layer) -> (&'static str, &'static str) {
    match layer {
        Layer::Nginx => (
            "nginx timed out connecting to or reading from its upstream (proxy_connect_timeout / \
             proxy_read_timeout, 60 s by default)",
            "Raise proxy_read_timeout only if the slow request is expected; otherwise fix the \
             slow upstream",
        ),
        Layer::AwsAlb => (
            "the ALB timed out connecting to the target (10 s) or the request exceeded the idle \
             timeout (60 s by default)",
            "Raise idle_timeout.timeout_seconds only if long requests are expected",
        ),
        Layer::AzureAppgw => (
            "Application Gateway v2 retried the request on a second backend after the backend \
             request timeout (requestTimeout) and gave up",
            "Raise requestTimeout in the backend HTTP settings if the slow request is expected",
        ),
        Layer::Cloudflare => (
            "a layer behind Cloudflare timed out and Cloudflare relayed its 504",
            "Find which origin layer timed out and fix that layer's timeout or slowness",
        ),
        Layer::Application | Layer::Unknown | Layer::Custom(_) => (
            "a gateway timed out waiting for the layer behind it",
            "Find the slow hop and fix it, or raise that gateway's timeout",
        ),
    }
}

impl From<Timeout504> for Finding {
    fn from(f: Timeout504) -> Finding {
        let (why, timeout_fix) = timeout_text(f.layer);
        Finding {
            code: FindingCode::GatewayTimeout504,
            severity: Severity::Critical,
            confidence: if f.layer == Layer::Unknown {
                Confidence::Low
            } else {
                Confidence::High
            },
            layer: Some(f.layer),
            title: format!(
                "{} returned 504, not 502: its upstream did not answer in time",
                f.layer.display_name()
            ),
            explanation: format!(
                "The response is 504 Gateway Time-out: {why}. The upstream is slow or hung rather \
                 than refusing or breaking connections."
            ),
            evidence: f.evidence,
            locations: Vec::new(),
            disproved_by: "The same request answered directly by the upstream completes quickly."
                .to_owned(),
            remediation: vec![
                check_backend(
                    "Time the upstream directly to find the slow hop",
                    Some(
                        "curl -s -o /dev/null -w '%{time_starttransfer}\\n' http://<upstream-host>:<port>/",
                    ),
                ),
                adjust_timeouts(timeout_fix, None),
                scale_backend("Add capacity if the upstream is saturated", None),
            ],
            next_command: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;

    #[test]
    fn a_504_names_the_layer_and_a_502_does_not_trip_it() {
        let mut p = probe("http://example.com/");
        p.http = Some(response(504, ""));
        p.fingerprint = Some(fingerprint(Layer::Nginx, Some(Layer::Nginx)));
        let mut out = Vec::new();
        check(&evidence(p.clone()), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].title,
            "nginx returned 504, not 502: its upstream did not answer in time"
        );
        p.http = Some(response(502, ""));
        out.clear();
        check(&evidence(p), &mut out);
        assert!(out.is_empty());
    }
}
