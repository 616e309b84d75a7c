//! Every renderer's output for every fixture report, as insta snapshots.
//! Fixtures are reports saved from real runs (timings normalised) in tests/fixtures/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_model::Report;
use cloud502_render::{Format, RenderOptions, render};

fn fixture(name: &str) -> Report {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rendered(report: &Report, format: Format, color: bool) -> String {
    let mut out = Vec::new();
    render(report, format, &RenderOptions { color }, &mut out).unwrap();
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
