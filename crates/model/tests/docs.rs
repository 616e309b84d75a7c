//! The finding pages `cloud502 explain` prints are user-facing: they cite sources a reader can
//! follow, never the project's internal section numbers or source keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_model::FindingCode;

#[test]
fn no_finding_page_cites_internal_sections_or_source_keys() {
    let internal = [
        "KB 0",
        "KB 1",
        "KB 2",
        "KB 3",
        "KB 4",
        "KB 5",
        "KB 6",
        "KB 7",
        "KB 8",
        "KB 9",
        "KB sections",
        "[N-src]",
        "[N-doc]",
        "[N-git]",
        "[A1]",
        "[A2]",
        "[A12]",
        "[Z1]",
        "[Z2]",
        "[C3]",
        "[C19]",
        "[C-obs]",
        "[Z-obs]",
    ];
    let mut offenders = Vec::new();
    for code in FindingCode::ALL {
        let page = code.docs();
        for needle in internal {
            if page.contains(needle) {
                offenders.push(format!("{}: {needle}", code.as_str()));
            }
        }
    }
    assert!(offenders.is_empty(), "internal citations: {offenders:?}");
}
