//! `-o jsonl`: one JSON object per line, each with `type` and `schema_version`, for log
//! pipelines: a `report` header (subject, verdict, summary), then every probe, target, log,
//! finding (with its `rank`), evidence item and error.

use cloud502_model::Report;
use serde::Serialize;
use serde_json::{Value, json};
use std::io::{self, Write};

fn line(out: &mut dyn Write, kind: &str, version: u32, body: impl Serialize) -> io::Result<()> {
    let mut record = json!({ "type": kind, "schema_version": version });
    if let (Some(map), Ok(Value::Object(fields))) =
        (record.as_object_mut(), serde_json::to_value(body))
    {
        map.extend(fields);
    }
    serde_json::to_writer(&mut *out, &cloud502_model::sorted(record))?;
    writeln!(out)
}

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let v = report.schema_version;
    line(
        out,
        "report",
        v,
        json!({
            "tool": report.tool,
            "generated_at": report.generated_at,
            "subject": report.subject,
            "verdict": report.verdict,
            "summary": report.summary,
            "timings": report.timings,
        }),
    )?;
    for probe in &report.probes {
        line(out, "probe", v, probe)?;
    }
    for target in &report.targets {
        line(out, "target", v, target)?;
    }
    for log in &report.logs {
        line(out, "log", v, log)?;
    }
    for (i, finding) in report.findings.iter().enumerate() {
        let mut record = serde_json::to_value(finding)?;
        if let Some(map) = record.as_object_mut() {
            map.insert("rank".into(), json!(i + 1));
        }
        line(out, "finding", v, record)?;
    }
    for item in &report.evidence {
        line(out, "evidence", v, item)?;
    }
    for gap in &report.errors {
        line(out, "error", v, gap)?;
    }
    Ok(())
}
