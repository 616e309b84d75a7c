//! The JSON Schema is a contract: a change without a `SCHEMA_VERSION` bump fails here.
//!
//! Each version's schema is recorded in `crates/model/schema/report.v<N>.json`. To change the
//! schema: bump `SCHEMA_VERSION` in `src/lib.rs`, then record the new file with
//! `CLOUD502_RECORD_SCHEMA=1 cargo test -p cloud502-model --test schema`. Recorded files are
//! never overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_model::{SCHEMA_VERSION, report_schema_pretty};
use std::path::PathBuf;

fn recorded(version: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("schema/report.v{version}.json"))
}

#[test]
fn schema_changes_need_a_version_bump() {
    let current = format!("{}\n", report_schema_pretty());
    let path = recorded(SCHEMA_VERSION);
    match std::fs::read_to_string(&path) {
        Ok(saved) => assert!(
            saved == current,
            "the JSON Schema changed but SCHEMA_VERSION is still {SCHEMA_VERSION}: bump it in \
             crates/model/src/lib.rs, then record schema/report.v{}.json with \
             CLOUD502_RECORD_SCHEMA=1 cargo test -p cloud502-model --test schema",
            SCHEMA_VERSION + 1
        ),
        Err(_) if std::env::var_os("CLOUD502_RECORD_SCHEMA").is_some() => {
            std::fs::write(&path, current).unwrap();
        }
        Err(e) => panic!(
            "{} is missing ({e}): record it with CLOUD502_RECORD_SCHEMA=1 cargo test -p \
             cloud502-model --test schema",
            path.display()
        ),
    }
}

#[test]
fn schema_describes_the_report() {
    let schema: serde_json::Value = serde_json::from_str(&report_schema_pretty()).unwrap();
    assert_eq!(schema["title"], "Report");
    let required = schema["required"].as_array().unwrap();
    for field in [
        "schema_version",
        "subject",
        "verdict",
        "summary",
        "findings",
        "errors",
    ] {
        assert!(required.iter().any(|r| r == field), "{field} is required");
    }
    // Finding codes are strings of a documented pattern, not a closed enum: adding a code is
    // not a schema change (since v6).
    let code = &schema["$defs"]["FindingCode"];
    assert_eq!(code["type"], "string", "{code}");
    assert_eq!(code["pattern"], cloud502_model::CODE_PATTERN, "{code}");
    // So are provider kinds (since v7): a library user's own provider names itself.
    let kind = &schema["$defs"]["ProviderKind"];
    assert_eq!(kind["type"], "string", "{kind}");
    assert_eq!(kind["pattern"], cloud502_model::CODE_PATTERN, "{kind}");
    let text = schema.to_string();
    assert!(
        !text.contains("\"nginx-502\""),
        "codes are not enumerated in the schema"
    );
    let pattern = regex_lite(cloud502_model::CODE_PATTERN);
    for c in cloud502_model::FindingCode::ALL {
        assert!(
            pattern(c.as_str()),
            "{} does not match the pattern",
            c.as_str()
        );
    }
}

/// The code pattern `^[a-z0-9]+(-[a-z0-9]+)*$`, checked without a regex engine.
fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
    assert_eq!(
        pattern, "^[a-z0-9]+(-[a-z0-9]+)*$",
        "update this checker with the pattern"
    );
    |s: &str| {
        !s.is_empty()
            && s.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    }
}
