//! `cloud502 trace URL`: probe the public URL, inspect every layer the audit file's `[[chain]]`
//! declares for its host (all at once, each under its own deadline), then walk the chain from the
//! edge inward to the layer that made the 502.
//!
//! Each hop's role comes from its own top finding (warning or above): a finding that says the
//! next layer returned the error (`cloudflare-origin-502`, `alb-target-returned-502`,
//! `appgw-backend-returned-502`, `nginx-upstream-returned-502`, `relayed-502`) makes it a relay
//! and moves the blame inward; any other finding means it made the error itself. The first hop
//! that made it is the answer; when every inspected hop relayed, it is the application behind the
//! last one. The probe's fingerprint of the error page (whose page the body is) is a second,
//! independent opinion, reported as agreeing or not.

use crate::config::{AuditFile, Chain};
use crate::run::{AuditOptions, run};
use cloud502_diagnose::{CollectCx, RunOptions};
use cloud502_model::{
    Finding, FindingCode, Hop, HopRole, Layer, ProviderKind, Report, Severity, SubjectRun,
    TraceReport, TraceVerdict,
};
use std::time::Instant;

/// Codes that say the layer passed on an error the next layer returned.
pub const RELAY_CODES: &[FindingCode] = &[
    FindingCode::CloudflareOrigin502,
    FindingCode::AlbTargetReturned502,
    FindingCode::AppgwBackendReturned502,
    FindingCode::NginxUpstreamReturned502,
    FindingCode::Relayed502,
];

/// Why a trace could not start (a usage error: exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TraceError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// The chain declared for `url`'s host.
pub fn chain_for<'a>(file: &'a AuditFile, url: &str) -> Result<(&'a Chain, String), TraceError> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| TraceError {
        message: format!("`{url}` is not a URL ({e})"),
        hint: "pass the public URL, like https://shop.example.com/checkout".to_owned(),
    })?;
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let declared: Vec<&str> = file.chains.iter().map(|c| c.host.as_str()).collect();
    file.chains
        .iter()
        .find(|c| c.host == host)
        .map(|c| (c, host.clone()))
        .ok_or_else(|| TraceError {
            message: format!(
                "{} declares no [[chain]] for host `{host}`",
                file.path.display()
            ),
            hint: if declared.is_empty() {
                "add a [[chain]] with host and layers (subject names, edge first)".to_owned()
            } else {
                format!("chains are declared for: {}", declared.join(", "))
            },
        })
}

/// A hop's role and the finding that decided it.
pub fn role(report: &Report) -> (HopRole, Option<&Finding>) {
    if !report.summary.inspected {
        return (HopRole::NotInspected, None);
    }
    match report
        .findings
        .iter()
        .find(|f| f.severity >= Severity::Warning)
    {
        None => (HopRole::Clean, None),
        Some(f) if RELAY_CODES.contains(&f.code) => (HopRole::Relayed, Some(f)),
        Some(f) => (HopRole::Made, Some(f)),
    }
}

/// Walk the hops from the edge to the layer that made the 502.
pub fn verdict(probe: &Report, hops: &[Hop]) -> TraceVerdict {
    let status = probe_status(probe);
    // Whose error page the probe got back, when it got a 502.
    let probe_view = (status == Some(502))
        .then(|| {
            probe
                .probes
                .iter()
                .find_map(|p| p.fingerprint.as_ref())
                .map(|f| f.error_page_by.unwrap_or(Layer::Application))
        })
        .flatten();
    let agrees = |layer: Layer| probe_view.map(|v| v == layer);
    if let Some(hop) = hops.iter().find(|h| h.role == HopRole::Made) {
        let (_, finding) = role(&hop.report);
        let why = finding.map_or_else(String::new, |f| f.title.clone());
        return TraceVerdict {
            layer: hop.layer,
            hop: Some(hop.name.clone()),
            code: hop.code,
            answer: format!("{} ({}) made the 502: {why}", hop.name, hop.layer),
            probe_agrees: agrees(hop.layer),
        };
    }
    if let Some(last) = hops.iter().rev().find(|h| h.role == HopRole::Relayed) {
        let deeper_unread = hops
            .iter()
            .skip_while(|h| h.name != last.name)
            .skip(1)
            .any(|h| h.role == HopRole::NotInspected);
        let answer = if deeper_unread {
            format!(
                "{} ({}) relayed the 502 from the layer behind it, which could not be inspected",
                last.name, last.layer
            )
        } else {
            format!(
                "the application behind {} ({}) returned the 502 itself; every proxy relayed it",
                last.name, last.layer
            )
        };
        return TraceVerdict {
            layer: if deeper_unread {
                Layer::Unknown
            } else {
                Layer::Application
            },
            hop: None,
            code: last.code,
            answer,
            probe_agrees: if deeper_unread {
                None
            } else {
                agrees(Layer::Application)
            },
        };
    }
    // No hop's evidence explains it: say what the probe saw.
    let unread: Vec<&str> = hops
        .iter()
        .filter(|h| h.role == HopRole::NotInspected)
        .map(|h| h.name.as_str())
        .collect();
    let unread = if unread.is_empty() {
        String::new()
    } else {
        format!(" (not inspected: {})", unread.join(", "))
    };
    match (status, probe_view) {
        (Some(502), Some(layer)) => TraceVerdict {
            layer,
            hop: hops
                .iter()
                .find(|h| h.layer == layer)
                .map(|h| h.name.clone()),
            code: probe.findings.first().map(|f| f.code),
            answer: format!(
                "the probe got {}'s 502 page, but no layer's evidence says why{unread}",
                layer
            ),
            probe_agrees: None,
        },
        (Some(s), _) => TraceVerdict {
            layer: Layer::Unknown,
            hop: None,
            code: probe.findings.first().map(|f| f.code),
            answer: format!("the URL answered HTTP {s} and no layer shows a 502 cause{unread}"),
            probe_agrees: None,
        },
        (None, _) => TraceVerdict {
            layer: Layer::Unknown,
            hop: None,
            code: probe.findings.first().map(|f| f.code),
            answer: format!(
                "the URL gave no HTTP answer ({}) and no layer shows a 502 cause{unread}",
                probe.summary.answer.as_deref().unwrap_or("no response")
            ),
            probe_agrees: None,
        },
    }
}

fn probe_status(probe: &Report) -> Option<u16> {
    probe
        .probes
        .iter()
        .find_map(|p| p.http.as_ref().map(|h| h.status))
}

/// Probe `request`'s URL and inspect every layer of `chain`, at once; then the verdict.
pub async fn trace(
    file: &AuditFile,
    chain: &Chain,
    host: &str,
    request: cloud502_probe::ProbeRequest,
    opts: &AuditOptions,
) -> TraceReport {
    let started = Instant::now();
    let generated_at = crate::now_rfc3339();
    let url = request.display_url();
    let timeout = request.timeout;
    let subjects: Vec<_> = chain
        .layers
        .iter()
        .filter_map(|name| file.subject(name))
        .collect();
    let opts = AuditOptions {
        concurrency: Some(subjects.len().max(1)),
        ..opts.clone()
    };
    let provider = cloud502_probe::ProbeProvider::new(request);
    let cx = CollectCx {
        deadline: timeout,
        ..CollectCx::default()
    };
    let run_opts = RunOptions {
        fail_on: opts.fail_on.unwrap_or_default(),
        severity_overrides: opts.severity_overrides.clone(),
        rules: opts.rules.clone(),
    };
    let (probe, audit) = tokio::join!(
        cloud502_diagnose::run(&provider, &cx, &run_opts),
        run(file, &subjects, &opts)
    );
    let probe = match probe {
        Ok(r) => r,
        Err(e) => {
            let mut ev =
                cloud502_model::Evidence::new(cloud502_diagnose::Provider::subject(&provider));
            ev.gaps.push(e.to_gap("probe"));
            cloud502_diagnose::build_report(ev, &run_opts, generated_at.clone())
        }
    };
    let hops: Vec<Hop> = audit
        .subjects
        .iter()
        .map(|s| {
            let (role, finding) = role(&s.report);
            Hop {
                name: s.name.clone(),
                provider: s.provider,
                layer: file.layer_of(s.provider),
                role,
                code: finding.map(|f| f.code),
                report: s.report.clone(),
            }
        })
        .collect();
    let verdict = verdict(&probe, &hops);
    let mut runs: Vec<SubjectRun> = vec![SubjectRun {
        name: "probe".into(),
        provider: ProviderKind::Probe,
        report: probe.clone(),
        duration_ms: probe.timings.total_ms,
    }];
    runs.extend(audit.subjects);
    let exit_code =
        cloud502_diagnose::outcome::rollup(&runs, run_opts.fail_on, Vec::new()).exit_code;
    TraceReport {
        schema_version: cloud502_model::SCHEMA_VERSION,
        tool: audit.tool,
        generated_at,
        url,
        host: host.to_owned(),
        status: probe_status(&probe),
        probe,
        hops,
        verdict,
        exit_code,
        duration_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud502_model::{Confidence, Evidence, Subject};

    fn report(codes: &[(FindingCode, Severity)], inspected: bool) -> Report {
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::Nginx,
            id: "x".into(),
        });
        if !inspected {
            ev.gaps.push(cloud502_model::Gap {
                scope: "nginx".into(),
                kind: cloud502_model::GapKind::Unreachable,
                message: "down".into(),
                hint: None,
            });
        }
        let mut r = cloud502_diagnose::build_report(ev, &RunOptions::default(), String::new());
        r.summary.inspected = inspected;
        r.findings = codes
            .iter()
            .map(|(code, severity)| Finding {
                code: *code,
                severity: *severity,
                confidence: Confidence::High,
                layer: None,
                title: format!("{} title", code.as_str()),
                explanation: String::new(),
                evidence: vec![],
                locations: vec![],
                disproved_by: String::new(),
                remediation: vec![],
                next_command: None,
            })
            .collect();
        r
    }

    fn hop(name: &str, provider: ProviderKind, report: Report) -> Hop {
        let (role, f) = role(&report);
        Hop {
            name: name.into(),
            provider,
            layer: crate::config::TEST_PROVIDERS
                .iter()
                .find(|r| r.kind == provider)
                .map_or(Layer::Unknown, |r| r.layer),
            role,
            code: f.map(|f| f.code),
            report,
        }
    }

    #[test]
    fn the_first_hop_that_made_it_is_the_answer_past_relays() {
        let probe = report(&[], true);
        let hops = [
            hop(
                "edge",
                ProviderKind::Cloudflare,
                report(
                    &[(FindingCode::CloudflareOrigin502, Severity::Critical)],
                    true,
                ),
            ),
            hop(
                "alb",
                ProviderKind::AwsAlb,
                report(
                    &[(FindingCode::AlbTargetReturned502, Severity::Critical)],
                    true,
                ),
            ),
            hop(
                "web",
                ProviderKind::Nginx,
                report(
                    &[
                        (FindingCode::NginxUpstreamRefused, Severity::Critical),
                        (FindingCode::NginxKeepaliveWithoutHttp11, Severity::Info),
                    ],
                    true,
                ),
            ),
        ];
        assert_eq!(hops[0].role, HopRole::Relayed);
        let v = verdict(&probe, &hops);
        assert_eq!(v.layer, Layer::Nginx);
        assert_eq!(v.hop.as_deref(), Some("web"));
        assert_eq!(v.code, Some(FindingCode::NginxUpstreamRefused));
        assert!(
            v.answer.starts_with("web (nginx) made the 502"),
            "{}",
            v.answer
        );
    }

    #[test]
    fn all_relays_blame_the_application_unless_a_deeper_hop_was_not_read() {
        let probe = report(&[], true);
        let relay = || {
            report(
                &[(FindingCode::NginxUpstreamReturned502, Severity::Warning)],
                true,
            )
        };
        let hops = [
            hop("a", ProviderKind::Nginx, relay()),
            hop("b", ProviderKind::Nginx, relay()),
        ];
        let v = verdict(&probe, &hops);
        assert_eq!(v.layer, Layer::Application);
        assert!(v.answer.contains("behind b"), "{}", v.answer);
        let hops = [
            hop("a", ProviderKind::Nginx, relay()),
            hop("b", ProviderKind::AwsAlb, report(&[], false)),
        ];
        let v = verdict(&probe, &hops);
        assert_eq!(v.layer, Layer::Unknown);
        assert!(v.answer.contains("could not be inspected"), "{}", v.answer);
        // Clean hops and info findings blame nobody.
        let hops = [hop(
            "a",
            ProviderKind::Nginx,
            report(
                &[(FindingCode::NginxKeepaliveWithoutHttp11, Severity::Info)],
                true,
            ),
        )];
        assert_eq!(hops[0].role, HopRole::Clean);
        assert_eq!(verdict(&probe, &hops).layer, Layer::Unknown);
    }
}
