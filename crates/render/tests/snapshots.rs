//! Every renderer's output for every fixture report, as insta snapshots.
//! Fixtures are reports saved from real runs (timings normalised) in tests/fixtures/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_model::{AuditReport, FindingCount, Report, Rollup, Shard, SubjectRun, Verdict};
use cloud502_render::{Format, RenderOptions, render, render_audit};

fn fixture(name: &str) -> Report {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rendered(report: &Report, format: Format, color: bool) -> String {
    let mut out = Vec::new();
    render(
        report,
        format,
        &RenderOptions {
            color,
            ascii: false,
        },
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_format_for_every_fixture() {
    for name in ["nginx-502", "refused-partial", "nginx-incident"] {
        let report = fixture(name);
        for format in Format::ALL {
            let text = rendered(&report, format, false);
            insta::assert_snapshot!(format!("{name}.{}", format.as_str()), text);
        }
    }
}

#[test]
fn table_colour_is_ansi_only_when_asked() {
    let report = fixture("nginx-502");
    let plain = rendered(&report, Format::Table, false);
    assert!(!plain.contains('\u{1b}'));
    let coloured = rendered(&report, Format::Table, true);
    assert!(coloured.contains("\u{1b}[1m"), "bold escape present");
    insta::assert_snapshot!("nginx-502.table-color", coloured);
    // Colour changes decoration only: strip escapes and the text is the same.
    let mut stripped = String::new();
    let mut chars = coloured.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            stripped.push(c);
        }
    }
    assert_eq!(stripped, plain);
}

#[test]
fn json_round_trips_and_jsonl_lines_each_carry_the_schema_version() {
    let report = fixture("nginx-502");
    let json = rendered(&report, Format::Json, false);
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);

    let jsonl = rendered(&report, Format::Jsonl, false);
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "report");
    assert!(
        lines
            .iter()
            .all(|l| l["schema_version"] == report.schema_version)
    );
    let findings: Vec<_> = lines.iter().filter(|l| l["type"] == "finding").collect();
    assert_eq!(findings.len(), report.findings.len());
    assert_eq!(findings[0]["rank"], 1);
    assert_eq!(findings[0]["code"], "nginx-502");
}

#[test]
fn remote_control_characters_never_reach_the_table() {
    let mut report = fixture("nginx-502");
    report.findings[0].title = "evil \u{1b}]0;pwned\u{7} title".into();
    let text = rendered(&report, Format::Table, false);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
}

/// The three fixtures as one audit (shard 0/2), the roll-up computed as `cloud502 audit` does.
fn fixture_audit() -> AuditReport {
    let subjects: Vec<SubjectRun> = [
        ("shop", "nginx-502"),
        ("local", "refused-partial"),
        ("incident", "nginx-incident"),
    ]
    .into_iter()
    .map(|(name, file)| {
        let report = fixture(file);
        SubjectRun {
            name: name.to_owned(),
            provider: report.subject.kind,
            duration_ms: report.timings.total_ms,
            report,
        }
    })
    .collect();
    let verdicts = |v: Verdict| subjects.iter().filter(|s| s.report.verdict == v).count();
    let mut findings: Vec<FindingCount> = Vec::new();
    for s in &subjects {
        for f in &s.report.findings {
            match findings
                .iter_mut()
                .find(|c| c.provider == s.provider && c.code == f.code && c.severity == f.severity)
            {
                Some(c) => c.count += 1,
                None => findings.push(FindingCount {
                    provider: s.provider,
                    code: f.code,
                    severity: f.severity,
                    count: 1,
                }),
            }
        }
    }
    let failing_findings = subjects
        .iter()
        .map(|s| s.report.summary.failing_findings)
        .sum();
    let first = &subjects[0].report;
    AuditReport {
        schema_version: first.schema_version,
        tool: first.tool.clone(),
        generated_at: first.generated_at.clone(),
        config: "audit.toml".into(),
        shard: Some(Shard { index: 0, count: 2 }),
        rollup: Rollup {
            exit_code: if failing_findings > 0 { 1 } else { 0 },
            fail_on: first.summary.fail_on,
            subjects: subjects.len(),
            healthy: verdicts(Verdict::Healthy),
            degraded: verdicts(Verdict::Degraded),
            failing: verdicts(Verdict::Failing),
            unknown: verdicts(Verdict::Unknown),
            failing_findings,
            partial: subjects.iter().any(|s| s.report.summary.partial),
            collection_errors: subjects.iter().map(|s| s.report.errors.len()).sum(),
            findings,
            requests: Vec::new(),
        },
        duration_ms: subjects.iter().map(|s| s.duration_ms).sum(),
        subjects,
    }
}

#[test]
fn every_format_for_an_audit() {
    let audit = fixture_audit();
    for format in Format::ALL {
        let mut out = Vec::new();
        render_audit(&audit, format, &RenderOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        insta::assert_snapshot!(format!("audit.{}", format.as_str()), text);
    }
}

#[test]
fn every_fixture_report_round_trips_so_secret_masking_applies_to_it() {
    // The engine masks secrets in a report by a JSON round trip (cloud502_diagnose::mask_secrets):
    // a report that does not round-trip would keep its secrets in library use.
    for name in ["nginx-502", "refused-partial", "nginx-incident"] {
        let report = fixture(name);
        let back = cloud502_model::secret::mask_value(&report);
        assert_eq!(back.as_ref(), Some(&report), "{name} does not round-trip");
    }
}
