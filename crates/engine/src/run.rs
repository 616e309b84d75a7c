//! `run()`: collect, diagnose, and assemble the report.

use crate::outcome::summarize;
use crate::{CollectCx, Provider, diagnose};
use cloud502_model::{
    Evidence, FailOn, FindingCode, Report, SCHEMA_VERSION, Severity, Timings, ToolInfo,
};
use std::collections::BTreeMap;
use std::time::Instant;

/// Options that shape the report (not the collection).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Severity threshold for exit code 1.
    pub fail_on: FailOn,
    /// User overrides of a code's severity (`--severity CODE=LEVEL`).
    pub severity_overrides: BTreeMap<FindingCode, Severity>,
}

/// Collect evidence with `provider`, diagnose it and return the report.
///
/// A provider error that is not a usage error becomes a gap: the report says nothing could be
/// inspected (exit code 4) instead of failing. Usage errors are returned to the caller.
pub async fn run(
    provider: &dyn Provider,
    cx: &CollectCx,
    opts: &RunOptions,
) -> crate::Result<Report> {
    let started = Instant::now();
    let generated_at = now_rfc3339();
    let evidence = match provider.collect(cx).await {
        Ok(evidence) => evidence,
        Err(e) if e.is_usage() => return Err(e),
        Err(e) => {
            let mut evidence = Evidence::new(provider.subject());
            evidence.gaps.push(e.to_gap(provider.kind().as_str()));
            evidence
        }
    };
    let collect_ms = ms(started.elapsed());
    let mut report = build_report(evidence, opts, generated_at);
    report.timings.collect_ms = collect_ms;
    report.timings.total_ms = ms(started.elapsed());
    Ok(report)
}

/// Diagnose `evidence` and assemble the report (pure apart from the diagnose timing).
pub fn build_report(evidence: Evidence, opts: &RunOptions, generated_at: String) -> Report {
    let diagnose_started = Instant::now();
    let mut findings = diagnose(&evidence);
    if !opts.severity_overrides.is_empty() {
        for f in &mut findings {
            if let Some(s) = opts.severity_overrides.get(&f.code) {
                f.severity = *s;
            }
        }
        crate::rules::rank(&mut findings);
    }
    let diagnose_ms = ms(diagnose_started.elapsed());
    let inspected = evidence.inspected();
    let (verdict, summary) = summarize(&findings, &evidence.gaps, inspected, opts.fail_on);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "cloud502".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        generated_at,
        subject: evidence.subject,
        verdict,
        summary,
        targets: evidence.targets,
        probes: evidence.probes,
        logs: evidence.logs,
        findings,
        evidence: evidence.items,
        errors: evidence.gaps,
        timings: Timings {
            collect_ms: 0.0,
            diagnose_ms,
            total_ms: diagnose_ms,
        },
    }
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
