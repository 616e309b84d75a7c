//! The verdict and the exit code, computed once from findings and gaps (never by a rule).

use cloud502_model::{FailOn, Finding, Gap, Severity, Summary, Verdict};

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
}
