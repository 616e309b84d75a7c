//! Rule tests over fixture evidence: every `tests/fixtures/<family>/<case>.json` is diagnosed and
//! its ranked findings compared with the insta snapshot `snapshots/rules__<family>__<case>.snap`.
//!
//! A fixture is the `Evidence` of a real run (its `_provenance` field, which `Evidence` ignores,
//! names the command and the e2e scenario it came from), so a snapshot pins what a user saw for
//! that scenario: a change in wording, order or citations shows up as a snapshot diff.
//! New case: drop its evidence file in its family's folder, run with `INSTA_UPDATE=always` (or
//! `cargo insta test`), review the new `.snap` and commit both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_diagnose::diagnose;
use cloud502_model::Evidence;
use std::path::{Path, PathBuf};

/// The rule families, one fixture folder each.
const FAMILIES: &[&str] = &["generic", "nginx", "alb", "appgw", "cloudflare"];

fn fixtures(family: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(family);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_fixture_matches_its_snapshot() {
    let mut seen = 0;
    for family in FAMILIES {
        let files = fixtures(family);
        assert!(!files.is_empty(), "no fixture for the {family} rules");
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let raw: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                raw["_provenance"].as_str().is_some_and(|p| !p.is_empty()),
                "{} has no _provenance line",
                path.display()
            );
            let evidence: Evidence =
                serde_json::from_value(raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let findings = diagnose(&evidence);
            let case = path.file_stem().unwrap().to_string_lossy();
            let name = format!("{family}__{case}");
            insta::with_settings!({
                description => format!("diagnose(tests/fixtures/{family}/{case}.json)"),
                omit_expression => true,
            }, {
                insta::assert_json_snapshot!(name, findings);
            });
            seen += 1;
        }
    }
    assert!(seen >= FAMILIES.len());
}
