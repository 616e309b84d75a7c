//! The report of `cloud502 audit` as table, json, jsonl, markdown and sarif: one row or record
//! per subject and the roll-up that decided the exit code. JUnit and Prometheus have their own
//! files.

use crate::{RenderOptions, audit_exit_meaning, printable};
use anstyle::Style;
use cloud502_model::{
    AuditReport, FindingCode, FindingCount, Report, Rollup, Severity, SubjectRun, Verdict,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// A single report as a one-subject audit (subject name = the report's subject id), so the
/// audit-only formats work for `cloud502 nginx -o junit` too.
pub(crate) fn single(report: &Report) -> AuditReport {
    let s = &report.summary;
    let mut counts: BTreeMap<(FindingCode, Severity), usize> = BTreeMap::new();
    for f in &report.findings {
        *counts.entry((f.code, f.severity)).or_default() += 1;
    }
    let findings = counts
        .into_iter()
        .map(|((code, severity), count)| FindingCount {
            provider: report.subject.kind,
            code,
            severity,
            count,
        })
        .collect();
    let is = |v: Verdict| usize::from(report.verdict == v);
    AuditReport {
        schema_version: report.schema_version,
        tool: report.tool.clone(),
        generated_at: report.generated_at.clone(),
        config: String::new(),
        shard: None,
        rollup: Rollup {
            exit_code: s.exit_code,
            fail_on: s.fail_on,
            subjects: 1,
            healthy: is(Verdict::Healthy),
            degraded: is(Verdict::Degraded),
            failing: is(Verdict::Failing),
            unknown: is(Verdict::Unknown),
            failing_findings: s.failing_findings,
            partial: s.partial,
            collection_errors: report.errors.len(),
            findings,
            requests: Vec::new(),
        },
        subjects: vec![SubjectRun {
            name: report.subject.id.clone(),
            provider: report.subject.kind,
            report: report.clone(),
            duration_ms: report.timings.total_ms,
        }],
        duration_ms: report.timings.total_ms,
    }
}

/// "3 subjects: 1 healthy, 0 degraded, 1 failing, 1 unknown".
fn counts(rollup: &Rollup) -> String {
    format!(
        "{} subject{}: {} healthy, {} degraded, {} failing, {} unknown",
        rollup.subjects,
        if rollup.subjects == 1 { "" } else { "s" },
        rollup.healthy,
        rollup.degraded,
        rollup.failing,
        rollup.unknown
    )
}

/// The one-line answer for a subject: its top finding, or why it could not be inspected.
fn answer(run: &SubjectRun) -> String {
    let s = &run.report.summary;
    match (&s.answer, run.report.errors.first()) {
        (Some(answer), _) => answer.clone(),
        (None, Some(gap)) if !s.inspected => format!("not inspected: {}", gap.message),
        (None, _) if !s.inspected => "not inspected".to_owned(),
        (None, _) => "no problem found".to_owned(),
    }
}

fn duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

// The same colours as the single-report table.
use crate::table::{BOLD, DIM, severity_style, verdict_style};

pub(crate) fn table(
    audit: &AuditReport,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Pad before painting: escapes would count towards the width.
    let paint = |style: Style, text: &str| {
        if options.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    };
    let rollup = &audit.rollup;
    let shard = audit
        .shard
        .map(|s| format!("  shard {s}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{} {}{shard}  {} in {}",
        paint(BOLD, "cloud502 audit"),
        printable(&audit.config),
        counts(rollup),
        duration(audit.duration_ms)
    )?;
    writeln!(out, "{}", paint(DIM, &audit_exit_meaning(rollup)))?;

    if !audit.subjects.is_empty() {
        let names: Vec<String> = audit.subjects.iter().map(|s| printable(&s.name)).collect();
        let name_w = names
            .iter()
            .map(|n| n.chars().count())
            .chain([7])
            .max()
            .unwrap_or(7);
        let provider_w = audit
            .subjects
            .iter()
            .map(|s| s.provider.as_str().len())
            .chain([8])
            .max()
            .unwrap_or(8);
        writeln!(out)?;
        writeln!(
            out,
            "  {}",
            paint(
                BOLD,
                &format!(
                    "{:<name_w$}  {:<provider_w$}  {:<8}  {:>7}  {:>8}  ANSWER",
                    "SUBJECT", "PROVIDER", "VERDICT", "FAILING", "TIME"
                )
            )
        )?;
        for (run, name) in audit.subjects.iter().zip(&names) {
            let verdict = run.report.verdict;
            let padded = format!("{:<8}", verdict.as_str().to_uppercase());
            writeln!(
                out,
                "  {name:<name_w$}  {:<provider_w$}  {}  {:>7}  {:>8}  {}",
                run.provider.as_str(),
                paint(verdict_style(verdict), &padded),
                run.report.summary.failing_findings,
                duration(run.duration_ms),
                printable(&answer(run))
            )?;
        }
    }

    if !rollup.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", paint(BOLD, "Findings by code"))?;
        for c in &rollup.findings {
            let severity = format!("{:<8}", c.severity.as_str().to_uppercase());
            writeln!(
                out,
                "  {:>5} x {} {} {}",
                c.count,
                paint(severity_style(c.severity), &severity),
                c.code,
                paint(DIM, &format!("({})", c.provider.as_str()))
            )?;
        }
    }

    if !rollup.requests.is_empty() {
        let requests: Vec<String> = rollup
            .requests
            .iter()
            .map(|r| match r.budget {
                Some(budget) => format!("{} {} of {budget}", r.provider.as_str(), r.sent),
                None => format!("{} {}", r.provider.as_str(), r.sent),
            })
            .collect();
        writeln!(out)?;
        writeln!(
            out,
            "{} {}",
            paint(BOLD, "API requests:"),
            requests.join(", ")
        )?;
    }
    Ok(())
}

pub(crate) fn json(audit: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(
        &mut *out,
        &cloud502_model::sorted(serde_json::to_value(audit)?),
    )?;
    writeln!(out)
}

/// One JSONL record: `type` and `schema_version`, then the fields of `body`, keys sorted.
fn line(out: &mut dyn Write, kind: &str, version: u32, body: impl Serialize) -> io::Result<()> {
    let mut record = json!({ "type": kind, "schema_version": version });
    if let (Some(map), Value::Object(fields)) =
        (record.as_object_mut(), serde_json::to_value(body)?)
    {
        for (k, v) in fields {
            // The record's own `type` and `schema_version` win over a body field of that name.
            map.entry(k).or_insert(v);
        }
    }
    serde_json::to_writer(&mut *out, &cloud502_model::sorted(record))?;
    writeln!(out)
}

/// `-o jsonl`: one record per finding or error (each naming its subject and provider), then one
/// `summary` record with the roll-up and a line per subject.
pub(crate) fn jsonl(audit: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let v = audit.schema_version;
    for run in &audit.subjects {
        let provider = run.provider.as_str();
        for (i, finding) in run.report.findings.iter().enumerate() {
            let mut record = serde_json::to_value(finding)?;
            if let Some(map) = record.as_object_mut() {
                map.insert("subject".into(), json!(run.name));
                map.insert("provider".into(), json!(provider));
                map.insert("rank".into(), json!(i + 1));
            }
            line(out, "finding", v, record)?;
        }
        for gap in &run.report.errors {
            let mut record = serde_json::to_value(gap)?;
            if let Some(map) = record.as_object_mut() {
                map.insert("subject".into(), json!(run.name));
                map.insert("provider".into(), json!(provider));
            }
            line(out, "error", v, record)?;
        }
    }
    let subjects: Vec<Value> = audit
        .subjects
        .iter()
        .map(|run| {
            let s = &run.report.summary;
            let mut subject = json!({
                "name": run.name,
                "provider": run.provider,
                "verdict": run.report.verdict,
                "exit_code": s.exit_code,
                "failing_findings": s.failing_findings,
                "partial": s.partial,
                "inspected": s.inspected,
                "duration_ms": run.duration_ms,
            });
            if let (Some(map), Some(answer)) = (subject.as_object_mut(), &s.answer) {
                map.insert("answer".into(), json!(answer));
            }
            subject
        })
        .collect();
    let mut summary = json!({
        "tool": audit.tool,
        "generated_at": audit.generated_at,
        "config": audit.config,
        "duration_ms": audit.duration_ms,
        "rollup": audit.rollup,
        "subjects": subjects,
    });
    if let (Some(map), Some(shard)) = (summary.as_object_mut(), audit.shard) {
        map.insert("shard".into(), serde_json::to_value(shard)?);
    }
    line(out, "summary", v, summary)
}

/// Escape `|` and line breaks so text stays inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// `-o markdown`: a table of subjects, then the top finding (or the unread sources) of each
/// subject that is not healthy. The single-report markdown has the details.
pub(crate) fn markdown(audit: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let rollup = &audit.rollup;
    writeln!(out, "# cloud502 audit: {}", cell(&audit.config))?;
    writeln!(out)?;
    if let Some(shard) = audit.shard {
        writeln!(out, "**Shard:** {shard}  ")?;
    }
    writeln!(out, "**Subjects:** {}  ", counts(rollup))?;
    writeln!(out, "**Exit:** {}", audit_exit_meaning(rollup))?;
    if !audit.subjects.is_empty() {
        writeln!(out)?;
        writeln!(out, "| Subject | Provider | Verdict | Failing | Answer |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for run in &audit.subjects {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&run.name),
                run.provider.as_str(),
                run.report.verdict.as_str(),
                run.report.summary.failing_findings,
                cell(&answer(run))
            )?;
        }
    }
    for run in audit
        .subjects
        .iter()
        .filter(|r| r.report.verdict != Verdict::Healthy)
    {
        writeln!(out)?;
        writeln!(
            out,
            "## {} ({}): {}",
            cell(&run.name),
            run.provider.as_str(),
            run.report.verdict.as_str()
        )?;
        writeln!(out)?;
        if let Some(top) = run.report.findings.first() {
            writeln!(
                out,
                "**{}** (`{}`, {})",
                cell(&top.title),
                top.code,
                top.severity.as_str()
            )?;
            if let Some(layer) = top.layer {
                writeln!(out)?;
                writeln!(out, "Layer: {}", layer.display_name())?;
            }
            if let Some(next) = &top.next_command {
                writeln!(out)?;
                writeln!(out, "Next: `{next}`")?;
            }
        }
        if !run.report.errors.is_empty() {
            if !run.report.findings.is_empty() {
                writeln!(out)?;
            }
            writeln!(out, "Could not read:")?;
            writeln!(out)?;
            for g in &run.report.errors {
                writeln!(out, "- **{}**: {}", cell(&g.scope), cell(&g.message))?;
            }
        }
    }
    Ok(())
}

/// `-o sarif`: one run over every subject's findings, each result naming its subject in
/// `properties.subject`. The single-report renderer does the work on a report holding all the
/// findings; the run's category becomes `cloud502/audit/`.
pub(crate) fn sarif(audit: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let first = audit.subjects.first();
    let mut all = match first {
        Some(run) => run.report.clone(),
        None => single_empty(audit),
    };
    all.tool = audit.tool.clone();
    all.findings = audit
        .subjects
        .iter()
        .flat_map(|r| r.report.findings.iter().cloned())
        .collect();
    // sarif.rs keeps exactly the findings with a config location, in order.
    let subjects: Vec<&str> = audit
        .subjects
        .iter()
        .flat_map(|r| {
            r.report
                .findings
                .iter()
                .filter(|f| !f.locations.is_empty())
                .map(|_| r.name.as_str())
        })
        .collect();
    let mut buf = Vec::new();
    crate::sarif::render(&all, &mut buf)?;
    let mut doc: Value = serde_json::from_slice(&buf)?;
    if let Some(run) = doc.pointer_mut("/runs/0") {
        run["automationDetails"] = json!({ "id": "cloud502/audit/" });
        if let Some(results) = run.get_mut("results").and_then(Value::as_array_mut) {
            if results.len() == subjects.len() {
                for (result, subject) in results.iter_mut().zip(subjects) {
                    result["properties"]["subject"] = json!(subject);
                }
            }
        }
    }
    serde_json::to_writer_pretty(&mut *out, &cloud502_model::sorted(doc))?;
    writeln!(out)
}

/// A report with nothing in it, for the SARIF of an audit without subjects.
fn single_empty(audit: &AuditReport) -> Report {
    Report {
        schema_version: audit.schema_version,
        tool: audit.tool.clone(),
        generated_at: audit.generated_at.clone(),
        subject: cloud502_model::Subject {
            kind: cloud502_model::ProviderKind::Probe,
            id: String::new(),
        },
        verdict: Verdict::Unknown,
        summary: cloud502_model::Summary {
            exit_code: audit.rollup.exit_code,
            fail_on: audit.rollup.fail_on,
            failing_findings: 0,
            partial: false,
            inspected: false,
            layer: None,
            answer: None,
        },
        targets: Vec::new(),
        probes: Vec::new(),
        logs: Vec::new(),
        config: Default::default(),
        checks: Vec::new(),
        metrics: Vec::new(),
        findings: Vec::new(),
        evidence: Vec::new(),
        errors: Vec::new(),
        timings: Default::default(),
    }
}

/// Reports and audits built in code, for the renderers' unit tests.
#[cfg(test)]
pub(crate) mod fixture {
    use cloud502_model::{
        AuditReport, Confidence, FailOn, Finding, FindingCode, FindingCount, Gap, GapKind,
        ProviderKind, Report, RequestCount, Rollup, Severity, Shard, Subject, SubjectRun, Summary,
        Timings, ToolInfo, Verdict,
    };

    pub(crate) fn finding(code: FindingCode, severity: Severity, title: &str) -> Finding {
        Finding {
            code,
            severity,
            confidence: Confidence::High,
            layer: None,
            title: title.to_owned(),
            explanation: format!("Because of {code}."),
            evidence: vec!["probe.0.status".to_owned()],
            locations: Vec::new(),
            disproved_by: "a probe that succeeds".to_owned(),
            remediation: Vec::new(),
            next_command: None,
        }
    }

    pub(crate) fn gap(scope: &str, kind: GapKind, message: &str) -> Gap {
        Gap {
            scope: scope.to_owned(),
            kind,
            message: message.to_owned(),
            hint: None,
        }
    }

    /// A report whose summary and verdict follow from its findings and gaps, as the engine
    /// computes them.
    pub(crate) fn report(
        kind: ProviderKind,
        id: &str,
        findings: Vec<Finding>,
        errors: Vec<Gap>,
        inspected: bool,
    ) -> Report {
        let fail_on = FailOn::Warning;
        let failing = findings
            .iter()
            .filter(|f| fail_on.trips(f.severity))
            .count();
        let partial = !errors.is_empty();
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
        let exit_code = if failing > 0 {
            1
        } else if !inspected {
            4
        } else if partial {
            3
        } else {
            0
        };
        Report {
            schema_version: Report::SCHEMA_VERSION,
            tool: ToolInfo {
                name: "cloud502".into(),
                version: "0.1.0".into(),
            },
            generated_at: "2026-11-21T10:00:00Z".into(),
            subject: Subject {
                kind,
                id: id.to_owned(),
            },
            verdict,
            summary: Summary {
                exit_code,
                fail_on,
                failing_findings: failing,
                partial,
                inspected,
                layer: findings.first().and_then(|f| f.layer),
                answer: findings.first().map(|f| f.title.clone()),
            },
            targets: Vec::new(),
            probes: Vec::new(),
            logs: Vec::new(),
            config: Default::default(),
            checks: Vec::new(),
            metrics: Vec::new(),
            findings,
            evidence: Vec::new(),
            errors,
            timings: Timings {
                collect_ms: 1200.0,
                diagnose_ms: 3.0,
                total_ms: 1250.0,
            },
        }
    }

    /// An audit over `subjects` with its roll-up computed.
    pub(crate) fn audit(subjects: Vec<(&str, Report)>, shard: Option<Shard>) -> AuditReport {
        let runs: Vec<SubjectRun> = subjects
            .into_iter()
            .map(|(name, report)| SubjectRun {
                name: name.to_owned(),
                provider: report.subject.kind,
                duration_ms: report.timings.total_ms,
                report,
            })
            .collect();
        let verdicts = |v: Verdict| runs.iter().filter(|r| r.report.verdict == v).count();
        let mut findings: Vec<FindingCount> = Vec::new();
        for run in &runs {
            for f in &run.report.findings {
                match findings.iter_mut().find(|c| {
                    c.provider == run.provider && c.code == f.code && c.severity == f.severity
                }) {
                    Some(c) => c.count += 1,
                    None => findings.push(FindingCount {
                        provider: run.provider,
                        code: f.code,
                        severity: f.severity,
                        count: 1,
                    }),
                }
            }
        }
        let failing_findings = runs.iter().map(|r| r.report.summary.failing_findings).sum();
        let partial = runs.iter().any(|r| r.report.summary.partial);
        let exit_code = if failing_findings > 0 {
            1
        } else if runs.iter().all(|r| !r.report.summary.inspected) {
            4
        } else if partial {
            3
        } else {
            0
        };
        AuditReport {
            schema_version: Report::SCHEMA_VERSION,
            tool: ToolInfo {
                name: "cloud502".into(),
                version: "0.1.0".into(),
            },
            generated_at: "2026-11-21T10:00:00Z".into(),
            config: "audit.toml".into(),
            shard,
            rollup: Rollup {
                exit_code,
                fail_on: FailOn::Warning,
                subjects: runs.len(),
                healthy: verdicts(Verdict::Healthy),
                degraded: verdicts(Verdict::Degraded),
                failing: verdicts(Verdict::Failing),
                unknown: verdicts(Verdict::Unknown),
                failing_findings,
                partial,
                collection_errors: runs.iter().map(|r| r.report.errors.len()).sum(),
                findings,
                requests: vec![RequestCount {
                    provider: ProviderKind::AwsAlb,
                    sent: 7,
                    budget: Some(100),
                }],
            },
            subjects: runs,
            duration_ms: 2500.0,
        }
    }

    /// Three subjects: an ALB failing on a critical finding (plus an info finding below the
    /// threshold), a healthy nginx, and an Application Gateway that could not be inspected.
    pub(crate) fn sample() -> AuditReport {
        let alb = report(
            ProviderKind::AwsAlb,
            "arn:aws:elasticloadbalancing:eu-west-1:123:targetgroup/web/1",
            vec![
                finding(
                    FindingCode::AlbAllTargetsUnhealthy,
                    Severity::Critical,
                    "Every target of web is unhealthy",
                ),
                finding(
                    FindingCode::AlbIdleTimeoutKeepalive,
                    Severity::Info,
                    "Keep-alive must outlast the idle timeout",
                ),
            ],
            Vec::new(),
            true,
        );
        let nginx = report(
            ProviderKind::Nginx,
            "/etc/nginx/nginx.conf",
            Vec::new(),
            Vec::new(),
            true,
        );
        let appgw = report(
            ProviderKind::AzureAppgw,
            "rg/gw",
            Vec::new(),
            vec![gap(
                "azure:ApplicationGateways/read",
                GapKind::Permission,
                "403 Forbidden",
            )],
            false,
        );
        audit(vec![("web", alb), ("edge", nginx), ("gw", appgw)], None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::fixture;
    use crate::{Format, RenderOptions, render_audit};
    use cloud502_model::AuditReport;

    fn rendered(audit: &AuditReport, format: Format) -> String {
        let mut out = Vec::new();
        render_audit(audit, format, &RenderOptions::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn jsonl_is_findings_and_errors_then_one_summary() {
        let audit = fixture::sample();
        let text = rendered(&audit, Format::Jsonl);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let findings: usize = audit.subjects.iter().map(|s| s.report.findings.len()).sum();
        let errors: usize = audit.subjects.iter().map(|s| s.report.errors.len()).sum();
        assert_eq!(lines.len(), findings + errors + 1);
        let (summary, records) = lines.split_last().unwrap();
        assert_eq!(summary["type"], "summary");
        assert_eq!(summary["config"], "audit.toml");
        assert_eq!(summary["rollup"]["exit_code"], 1);
        assert_eq!(summary["subjects"].as_array().unwrap().len(), 3);
        assert_eq!(summary["subjects"][0]["name"], "web");
        assert_eq!(summary["subjects"][0]["verdict"], "failing");
        assert_eq!(
            summary["subjects"][0]["answer"],
            "Every target of web is unhealthy"
        );
        assert!(summary["subjects"][1].get("answer").is_none());
        assert!(summary.get("shard").is_none());
        let count = |t: &str| records.iter().filter(|r| r["type"] == t).count();
        assert_eq!(count("finding"), findings);
        assert_eq!(count("error"), errors);
        assert_eq!(records[0]["subject"], "web");
        assert_eq!(records[0]["provider"], "aws-alb");
        assert_eq!(records[0]["rank"], 1);
        assert_eq!(records[0]["code"], "alb-all-targets-unhealthy");
        assert_eq!(records[1]["rank"], 2);
        assert_eq!(records[2]["type"], "error");
        assert_eq!(records[2]["subject"], "gw");
        assert_eq!(records[2]["kind"], "permission");
        assert!(
            lines
                .iter()
                .all(|l| l["schema_version"] == audit.schema_version)
        );
        // Keys are sorted, whatever serde_json's map order.
        let first = text.lines().next().unwrap();
        let keys: Vec<&String> = lines[0].as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{first}");
    }

    #[test]
    fn jsonl_summary_names_the_shard() {
        let mut audit = fixture::sample();
        audit.shard = Some(cloud502_model::Shard { index: 1, count: 4 });
        let text = rendered(&audit, Format::Jsonl);
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["shard"], serde_json::json!({ "index": 1, "count": 4 }));
    }

    #[test]
    fn json_round_trips() {
        let audit = fixture::sample();
        let back: AuditReport = serde_json::from_str(&rendered(&audit, Format::Json)).unwrap();
        assert_eq!(back, audit);
    }

    #[test]
    fn table_has_a_row_per_subject_and_the_rollup() {
        let mut audit = fixture::sample();
        audit.subjects[1].name = "edge\u{1b}[31m".into();
        let text = rendered(&audit, Format::Table);
        assert!(!text.contains('\u{1b}'), "{text}");
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("cloud502 audit audit.toml"), "{header}");
        assert!(
            header.contains("3 subjects: 1 healthy, 0 degraded, 1 failing, 1 unknown"),
            "{header}"
        );
        assert!(text.contains("exit 1: 1 finding(s) at or above --fail-on warning"));
        let row = |name: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap()
                .to_owned()
        };
        let web = row("web ");
        assert!(web.contains("aws-alb") && web.contains("FAILING"), "{web}");
        assert!(web.contains("Every target of web is unhealthy"), "{web}");
        assert!(row("gw ").contains("not inspected: 403 Forbidden"));
        assert!(row("edge").contains("no problem found"));
        assert!(text.contains("Findings by code"));
        assert!(text.contains("alb-all-targets-unhealthy (aws-alb)"));
        assert!(text.contains("API requests: aws-alb 7 of 100"));

        let coloured = {
            let mut out = Vec::new();
            render_audit(
                &audit,
                Format::Table,
                &RenderOptions {
                    color: true,
                    ascii: false,
                },
                &mut out,
            )
            .unwrap();
            String::from_utf8(out).unwrap()
        };
        assert!(coloured.contains('\u{1b}'));
    }

    #[test]
    fn markdown_lists_subjects_and_unhealthy_answers() {
        let text = rendered(&fixture::sample(), Format::Markdown);
        assert!(text.starts_with("# cloud502 audit: audit.toml\n"));
        assert!(
            text.contains("| web | aws-alb | failing | 1 | Every target of web is unhealthy |")
        );
        assert!(text.contains("## web (aws-alb): failing"));
        assert!(text.contains("## gw (azure-appgw): unknown"));
        assert!(text.contains("- **azure:ApplicationGateways/read**: 403 Forbidden"));
        assert!(!text.contains("## edge"), "healthy subjects get no section");
    }

    #[test]
    fn sarif_is_one_run_naming_each_subject() {
        let mut audit = fixture::sample();
        let location = cloud502_model::SourceLocation {
            file: "nginx.conf".into(),
            line: 12,
        };
        audit.subjects[0].report.findings[0]
            .locations
            .push(location.clone());
        audit.subjects[1].report.findings.push({
            let mut f = fixture::finding(
                cloud502_model::FindingCode::NginxKeepaliveWithoutHttp11,
                cloud502_model::Severity::Warning,
                "keepalive without HTTP/1.1",
            );
            f.locations.push(location);
            f
        });
        let doc: serde_json::Value =
            serde_json::from_str(&rendered(&audit, Format::Sarif)).unwrap();
        let runs = doc["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0]["automationDetails"]["id"], "cloud502/audit/");
        let results = runs[0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["properties"]["subject"], "web");
        assert_eq!(results[1]["properties"]["subject"], "edge");
        assert_eq!(results[1]["ruleId"], "nginx-keepalive-without-http11");
    }
}
