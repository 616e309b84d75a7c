//! `run()`: collect, diagnose, and assemble the report.

use crate::outcome::summarize;
use crate::{CollectCx, Provider};
use cloud502_model::{
    Evidence, FailOn, FindingCode, Report, SCHEMA_VERSION, Severity, Timings, ToolInfo,
};
use cloud502_model::{Gap, GapKind};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Time a provider gets past its deadline before `run` gives up on it.
const DEADLINE_GRACE: Duration = Duration::from_secs(5);

/// Options that shape the report (not the collection).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Severity threshold for exit code 1.
    pub fail_on: FailOn,
    /// User overrides of a code's severity (`--severity CODE=LEVEL`).
    pub severity_overrides: BTreeMap<FindingCode, Severity>,
    /// Rules of your own, run after the built-in ones (see [`crate::rules::CustomRule`]).
    pub rules: Vec<std::sync::Arc<dyn crate::rules::CustomRule>>,
}

/// Collect evidence with `provider`, diagnose it and return the report.
///
/// A provider error that is not a usage error becomes a gap: the report says nothing could be
/// inspected (exit code 4) instead of failing. Usage errors are returned to the caller. A
/// provider that overruns `cx.deadline` by more than 5 s is abandoned the same way. Needs a tokio
/// runtime with the time driver enabled.
pub async fn run(
    provider: &dyn Provider,
    cx: &CollectCx,
    opts: &RunOptions,
) -> crate::Result<Report> {
    let started = Instant::now();
    let generated_at = now_rfc3339();
    // Providers bound each call themselves; this is the backstop for the whole run, so a
    // provider that forgets a timeout cannot hang a scheduled audit.
    let backstop = cx.deadline.saturating_add(DEADLINE_GRACE);
    let evidence = match tokio::time::timeout(backstop, provider.collect(cx)).await {
        Ok(Ok(evidence)) => evidence,
        Ok(Err(e)) if e.is_usage() => return Err(e),
        Ok(Err(e)) => {
            let mut evidence = Evidence::new(provider.subject());
            evidence.gaps.push(e.to_gap(provider.kind().as_str()));
            evidence
        }
        Err(_) => {
            let mut evidence = Evidence::new(provider.subject());
            evidence.gaps.push(Gap {
                scope: provider.kind().as_str().to_owned(),
                kind: GapKind::Timeout,
                message: format!(
                    "collection did not finish within its {:.0} s deadline",
                    backstop.as_secs_f64()
                ),
                hint: Some("raise --timeout, or check that the endpoints answer".to_owned()),
            });
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
    let mut findings = crate::rules::diagnose_with(&evidence, &opts.rules);
    if !opts.severity_overrides.is_empty() {
        for f in &mut findings {
            if let Some(s) = opts.severity_overrides.get(&f.code) {
                f.severity = *s;
            }
        }
        crate::rules::rank(&mut findings);
    }
    let diagnose_ms = ms(diagnose_started.elapsed());
    let mut evidence = evidence;
    tidy_gaps(&mut evidence.gaps);
    let inspected = evidence.inspected();
    let (verdict, summary) = summarize(&findings, &evidence.gaps, inspected, opts.fail_on);
    let report = Report {
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
        config: evidence.config,
        checks: evidence.checks,
        metrics: evidence.metrics,
        findings,
        evidence: evidence.items,
        errors: evidence.gaps,
        timings: Timings {
            collect_ms: 0.0,
            diagnose_ms,
            total_ms: diagnose_ms,
        },
    };
    mask_secrets(report)
}

/// Gaps as users read them: no empty hint (it would print as `hint: ` with nothing after it),
/// and the same gap once, however many collectors ran into it.
fn tidy_gaps(gaps: &mut Vec<Gap>) {
    for gap in gaps.iter_mut() {
        if gap.hint.as_deref().is_some_and(|h| h.trim().is_empty()) {
            gap.hint = None;
        }
    }
    let mut seen = std::collections::HashSet::new();
    gaps.retain(|g| seen.insert((g.scope.clone(), g.kind, g.message.clone())));
}

/// The report with every registered secret masked in every string: API messages, response
/// headers and bodies, log excerpts and file names all come from outside and may quote a
/// credential back (see [`cloud502_model::secret`]).
pub fn mask_secrets<T>(value: T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    if !cloud502_model::secret::any() {
        return value;
    }
    match cloud502_model::secret::mask_value(&value) {
        Some(masked) => masked,
        None => {
            // Never silently: the binary still masks its whole output, but a library caller
            // would get the value as it is.
            tracing::warn!("a report did not round-trip through JSON: secrets not masked in it");
            value
        }
    }
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

/// Now, RFC 3339 UTC, whole seconds: the `generated_at` of reports.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProviderError;
    use async_trait::async_trait;
    use cloud502_model::{ProviderKind, Subject, Verdict};

    #[derive(Debug)]
    enum Fake {
        Hangs,
        NoCredentials,
        BadConfig,
    }

    #[async_trait]
    impl Provider for Fake {
        fn kind(&self) -> ProviderKind {
            ProviderKind::AwsAlb
        }
        fn subject(&self) -> Subject {
            Subject {
                kind: ProviderKind::AwsAlb,
                id: "tg".into(),
            }
        }
        async fn collect(&self, _cx: &CollectCx) -> crate::Result<Evidence> {
            match self {
                Fake::Hangs => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    unreachable!("the backstop fires first")
                }
                Fake::NoCredentials => Err(ProviderError::Auth {
                    message: "no credentials".into(),
                    hint: Some("run aws sso login".into()),
                }),
                Fake::BadConfig => Err(ProviderError::Config {
                    message: "bad ARN".into(),
                    hint: None,
                }),
            }
        }
    }

    #[test]
    fn reports_hold_no_empty_hint_no_repeated_gap_and_no_registered_secret() {
        cloud502_model::secret::register("run-rs-sentinel-31337");
        let mut evidence = Evidence::new(Subject {
            kind: ProviderKind::AwsAlb,
            id: "tg".into(),
        });
        let gap = Gap {
            scope: "aws-alb".into(),
            kind: GapKind::Permission,
            message: "rejected token run-rs-sentinel-31337".into(),
            hint: Some("  ".into()),
        };
        evidence.gaps.push(gap.clone());
        evidence.gaps.push(gap);
        let report = build_report(evidence, &RunOptions::default(), String::new());
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert_eq!(report.errors[0].hint, None);
        assert_eq!(report.errors[0].message, "rejected token <redacted>");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_provider_is_abandoned_as_a_timeout_gap() {
        let cx = CollectCx {
            deadline: Duration::from_secs(10),
            ..CollectCx::default()
        };
        let report = run(&Fake::Hangs, &cx, &RunOptions::default())
            .await
            .unwrap();
        assert_eq!(report.errors[0].kind, GapKind::Timeout);
        assert_eq!(
            report.summary.exit_code,
            crate::outcome::EXIT_NOTHING_INSPECTED
        );
        assert_eq!(report.verdict, Verdict::Unknown);
    }

    #[tokio::test]
    async fn provider_errors_become_gaps_and_usage_errors_are_returned() {
        let cx = CollectCx::default();
        let report = run(&Fake::NoCredentials, &cx, &RunOptions::default())
            .await
            .unwrap();
        assert_eq!(report.errors[0].kind, GapKind::Permission);
        assert_eq!(report.errors[0].hint.as_deref(), Some("run aws sso login"));
        assert_eq!(report.summary.exit_code, 4);
        assert!(
            run(&Fake::BadConfig, &cx, &RunOptions::default())
                .await
                .unwrap_err()
                .is_usage()
        );
    }
}
