//! `-o sarif`: SARIF 2.1.0 for GitHub code scanning and editors: one result per finding that points
//! at config lines (file:line), one rule per finding code.
//!
//! Findings about the running system (a refused probe, a log count) have no line to point at and
//! are left out: code scanning shows results on files. Relative config paths stay relative (GitHub
//! resolves them against the repository root); absolute ones become `file://` URIs.

use cloud502_model::{Finding, FindingCode, Report, Severity, SourceLocation};
use serde_json::{Value, json};
use std::io::{self, Write};

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const DOCS: &str = "https://github.com/cloud502/cloud502/blob/main/docs/findings/";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn uri(file: &str) -> String {
    if file.starts_with('/') {
        let escaped: String = file
            .chars()
            .map(|c| match c {
                ' ' => "%20".to_owned(),
                '#' => "%23".to_owned(),
                '?' => "%3F".to_owned(),
                '%' => "%25".to_owned(),
                c => c.to_string(),
            })
            .collect();
        format!("file://{escaped}")
    } else {
        file.trim_start_matches("./").to_owned()
    }
}

fn location(loc: &SourceLocation) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(&loc.file) },
            "region": { "startLine": loc.line.max(1) }
        }
    })
}

fn message(f: &Finding) -> String {
    let mut text = format!("{}\n\n{}", f.title, f.explanation);
    for (i, step) in f.remediation.iter().enumerate() {
        text.push_str(&format!("\n{}. {}", i + 1, step.step));
    }
    text
}

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let located: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| !f.locations.is_empty())
        .collect();
    let mut codes = Vec::new();
    for f in &located {
        if !codes.contains(&f.code) {
            codes.push(f.code);
        }
    }
    let rules: Vec<Value> = codes
        .iter()
        .map(|code| {
            let mut rule = json!({
                "id": code.as_str(),
                "name": code.as_str(),
                "shortDescription": { "text": code.summary() },
                "fullDescription": { "text": code.summary() },
                "help": { "text": code.docs(), "markdown": code.docs() },
            });
            // Only built-in codes have a page in this project's docs; a registered code brings
            // its own text.
            if FindingCode::ALL.contains(code) {
                rule["helpUri"] = json!(format!("{DOCS}{}.md", code.as_str()));
            }
            rule
        })
        .collect();
    let results: Vec<Value> = located
        .iter()
        .map(|f| {
            let index = codes.iter().position(|c| *c == f.code).unwrap_or(0);
            let first = &f.locations[0];
            json!({
                "ruleId": f.code.as_str(),
                "ruleIndex": index,
                "level": level(f.severity),
                "message": { "text": message(f) },
                "locations": f.locations.iter().map(location).collect::<Vec<_>>(),
                "partialFingerprints": {
                    "cloud502/v1": format!("{}:{}:{}", f.code, first.file, first.line)
                },
                "properties": {
                    "confidence": f.confidence,
                    "evidence": f.evidence,
                }
            })
        })
        .collect();
    let doc = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": report.tool.name,
                    "version": report.tool.version,
                    "informationUri": "https://github.com/cloud502/cloud502",
                    "rules": rules,
                }
            },
            "automationDetails": { "id": format!("cloud502/{}/", report.subject.kind.as_str()) },
            "results": results,
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &cloud502_model::sorted(doc))?;
    writeln!(out)
}
