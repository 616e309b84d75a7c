//! The verdict and the exit code, computed once from findings and gaps (never by a rule).

use cloud502_model::{
    FailOn, Finding, FindingCount, Gap, RequestCount, Rollup, Severity, SubjectRun, Summary,
    Verdict,
};
use std::collections::BTreeMap;

/// Exit code: nothing at or above `--fail-on`.
pub const EXIT_OK: u8 = 0;
/// Exit code: findings at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: partial: some sources could not be read; results still printed.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code: nothing could be inspected.
pub const EXIT_NOTHING_INSPECTED: u8 = 4;

/// Compute the verdict and the summary. Findings must already be ranked.
///
/// Exit code 1 wins over 3 (partial); the summary states both facts.
pub fn summarize(
    findings: &[Finding],
    gaps: &[Gap],
    inspected: bool,
    fail_on: FailOn,
) -> (Verdict, Summary) {
    let failing_findings = findings
        .iter()
        .filter(|f| fail_on.trips(f.severity))
        .count();
    let partial = inspected && !gaps.is_empty();
    let exit_code = if failing_findings > 0 {
        EXIT_FINDINGS
    } else if !inspected {
        EXIT_NOTHING_INSPECTED
    } else if partial {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    };
    let worst = findings.iter().map(|f| f.severity).max();
    let verdict = if !inspected {
        Verdict::Unknown
    } else if worst == Some(Severity::Critical) {
        Verdict::Failing
    } else if worst == Some(Severity::Warning) || partial {
        Verdict::Degraded
    } else {
        Verdict::Healthy
    };
    let top = findings.first();
    let summary = Summary {
        exit_code,
        fail_on,
        failing_findings,
        partial,
        inspected,
        layer: top.and_then(|f| f.layer),
        answer: top.map(|f| f.title.clone()),
    };
    (verdict, summary)
}

/// The roll-up of an audit: counts per verdict and per finding, and the job's exit code.
///
/// Exit code 1 when any subject has findings at or above its own `fail_on`; else 4 when no
/// subject could be inspected; else 3 when some subject or source could not be read; else 0.
/// With no subjects at all (an empty shard), 0.
pub fn rollup(subjects: &[SubjectRun], fail_on: FailOn, requests: Vec<RequestCount>) -> Rollup {
    let count = |v: Verdict| subjects.iter().filter(|s| s.report.verdict == v).count();
    let failing_findings = subjects
        .iter()
        .map(|s| s.report.summary.failing_findings)
        .sum();
    let inspected = subjects
        .iter()
        .filter(|s| s.report.summary.inspected)
        .count();
    let partial = subjects
        .iter()
        .any(|s| s.report.summary.partial || !s.report.summary.inspected);
    let mut by_code: BTreeMap<(&str, &str, Severity), FindingCount> = BTreeMap::new();
    for s in subjects {
        for f in &s.report.findings {
            by_code
                .entry((s.provider.as_str(), f.code.as_str(), f.severity))
                .or_insert_with(|| FindingCount {
                    provider: s.provider,
                    code: f.code,
                    severity: f.severity,
                    count: 0,
                })
                .count += 1;
        }
    }
    let exit_code = if failing_findings > 0 {
        EXIT_FINDINGS
    } else if !subjects.is_empty() && inspected == 0 {
        EXIT_NOTHING_INSPECTED
    } else if partial {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    };
    Rollup {
        exit_code,
        fail_on,
        subjects: subjects.len(),
        healthy: count(Verdict::Healthy),
        degraded: count(Verdict::Degraded),
        failing: count(Verdict::Failing),
        unknown: count(Verdict::Unknown),
        failing_findings,
        partial,
        collection_errors: subjects.iter().map(|s| s.report.errors.len()).sum(),
        findings: by_code.into_values().collect(),
        requests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud502_model::{Confidence, FindingCode, GapKind};

    fn finding(severity: Severity) -> Finding {
        Finding {
            code: FindingCode::Nginx502,
            severity,
            confidence: Confidence::High,
            layer: None,
            title: "t".into(),
            explanation: String::new(),
            evidence: vec![],
            locations: Vec::new(),
            disproved_by: String::new(),
            remediation: vec![],
            next_command: None,
        }
    }

    fn gap() -> Gap {
        Gap {
            scope: "s".into(),
            kind: GapKind::Timeout,
            message: "m".into(),
            hint: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_documented_table() {
        let crit = [finding(Severity::Critical)];
        let warn = [finding(Severity::Warning)];
        let info = [finding(Severity::Info)];
        // (findings, gaps, inspected, fail_on) -> (exit, verdict, partial)
        type Case<'a> = (&'a [Finding], &'a [Gap], bool, FailOn, u8, Verdict, bool);
        let cases: &[Case<'_>] = &[
            (
                &[],
                &[],
                true,
                FailOn::Warning,
                EXIT_OK,
                Verdict::Healthy,
                false,
            ),
            (
                &info,
                &[],
                true,
                FailOn::Warning,
                EXIT_OK,
                Verdict::Healthy,
                false,
            ),
            (
                &info,
                &[],
                true,
                FailOn::Info,
                EXIT_FINDINGS,
                Verdict::Healthy,
                false,
            ),
            (
                &warn,
                &[],
                true,
                FailOn::Warning,
                EXIT_FINDINGS,
                Verdict::Degraded,
                false,
            ),
            (
                &warn,
                &[],
                true,
                FailOn::Critical,
                EXIT_OK,
                Verdict::Degraded,
                false,
            ),
            (
                &crit,
                &[],
                true,
                FailOn::Never,
                EXIT_OK,
                Verdict::Failing,
                false,
            ),
            (
                &[],
                &[gap()],
                true,
                FailOn::Warning,
                EXIT_PARTIAL,
                Verdict::Degraded,
                true,
            ),
            // 1 wins over 3, and the summary still says partial.
            (
                &crit,
                &[gap()],
                true,
                FailOn::Warning,
                EXIT_FINDINGS,
                Verdict::Failing,
                true,
            ),
            (
                &[],
                &[gap()],
                false,
                FailOn::Warning,
                EXIT_NOTHING_INSPECTED,
                Verdict::Unknown,
                false,
            ),
        ];
        for (i, (f, g, inspected, fail_on, exit, verdict, partial)) in cases.iter().enumerate() {
            let (v, s) = summarize(f, g, *inspected, *fail_on);
            assert_eq!(s.exit_code, *exit, "case {i}");
            assert_eq!(v, *verdict, "case {i}");
            assert_eq!(s.partial, *partial, "case {i}");
        }
    }

    fn subject(name: &str, findings: &[Finding], gaps: &[Gap], inspected: bool) -> SubjectRun {
        use cloud502_model::{Evidence, ProviderKind, Subject};
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::Nginx,
            id: name.into(),
        });
        ev.gaps = gaps.to_vec();
        let mut report = crate::build_report(ev, &crate::RunOptions::default(), String::new());
        report.findings = findings.to_vec();
        let (verdict, summary) = summarize(findings, gaps, inspected, FailOn::Warning);
        report.verdict = verdict;
        report.summary = summary;
        SubjectRun {
            name: name.into(),
            provider: cloud502_model::ProviderKind::Nginx,
            report,
            duration_ms: 1.0,
        }
    }

    #[test]
    fn the_rollup_exit_code_prefers_findings_then_nothing_inspected_then_partial() {
        let crit = [finding(Severity::Critical), finding(Severity::Critical)];
        let ok = subject("ok", &[], &[], true);
        let down = subject("down", &[], &[gap()], false);
        let failing = subject("bad", &crit, &[], true);
        let r = rollup(
            &[ok.clone(), down.clone(), failing.clone()],
            FailOn::Warning,
            vec![],
        );
        assert_eq!(
            (r.exit_code, r.failing_findings, r.partial),
            (EXIT_FINDINGS, 2, true)
        );
        assert_eq!(
            (r.healthy, r.failing, r.unknown, r.collection_errors),
            (1, 1, 1, 1)
        );
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].count, 2);
        let r = rollup(&[ok.clone(), down.clone()], FailOn::Warning, vec![]);
        assert_eq!(r.exit_code, EXIT_PARTIAL);
        let r = rollup(&[down], FailOn::Warning, vec![]);
        assert_eq!(r.exit_code, EXIT_NOTHING_INSPECTED);
        let r = rollup(&[ok], FailOn::Warning, vec![]);
        assert_eq!((r.exit_code, r.partial), (EXIT_OK, false));
        assert_eq!(rollup(&[], FailOn::Warning, vec![]).exit_code, EXIT_OK);
    }
}
