//! The rooms stay as built: no file-level import cycle inside any crate, and no crate depends on
//! one after it in the data flow (model → collect → logs, probe → providers → diagnose → render →
//! audit → facade → cli). See docs/architecture.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The crates' source folders, `crates/*/src` and `providers/*/src`.
fn crates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["crates", "providers"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let src = entry.unwrap().path().join("src");
            if src.is_dir() {
                out.push(src);
            }
        }
    }
    out.sort();
    out
}

/// Module path (`rules::alb::shared`) of every `.rs` file under `src`.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                out.insert(parts.join("::"), path);
            }
        }
    }
    out
}

/// The modules a file's code (not its comments, not its tests) names with `crate::` or `super::`.
fn imports(module: &str, text: &str, all: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (prefix, base) in [("crate::", String::new()), ("super::", parent(module))] {
            let mut rest = line;
            while let Some(i) = rest.find(prefix) {
                rest = &rest[i + prefix.len()..];
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
                // The longest prefix that is a module of this crate.
                for k in (1..=parts.len()).rev() {
                    let name = parts[..k].join("::");
                    let name = if base.is_empty() {
                        name
                    } else {
                        format!("{base}::{name}")
                    };
                    if all.contains_key(&name)
                        && name != module
                        && !module.starts_with(&format!("{name}::"))
                    {
                        out.insert(name);
                        break;
                    }
                }
            }
        }
    }
    out
}

fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_owned())
}

/// A cycle in the graph, if any (depth-first search with colours).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut found = stack[from..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(node, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_file_level_import_cycle_in_any_crate() {
    let mut checked = 0;
    for src in crates() {
        let all = modules(&src);
        let graph: BTreeMap<String, BTreeSet<String>> = all
            .iter()
            .map(|(m, p)| {
                (
                    m.clone(),
                    imports(m, &std::fs::read_to_string(p).unwrap(), &all),
                )
            })
            .collect();
        checked += graph.len();
        if let Some(c) = cycle(&graph) {
            panic!("{}: import cycle {}", src.display(), c.join(" -> "));
        }
    }
    assert!(checked > 100, "only {checked} files checked");
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let all: BTreeMap<String, PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|m| (m.to_string(), PathBuf::new()))
        .collect();
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", "use crate::b::X;"),
        (
            "b",
            "// use crate::a; is a comment\nuse crate::c::{self, Y};",
        ),
        ("c", "fn f() { crate::a::g() }"),
    ]
    .iter()
    .map(|(m, t)| (m.to_string(), imports(m, t, &all)))
    .collect();
    assert_eq!(cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

/// Each crate's place in the data flow; a crate may depend only on crates with a lower number.
const FLOW: &[(&str, u8)] = &[
    ("cloud502-model", 0),
    ("cloud502-collect", 1),
    ("cloud502-logs", 2),
    ("cloud502-probe", 2),
    ("cloud502-nginx", 3),
    ("cloud502-aws", 3),
    ("cloud502-azure", 3),
    ("cloud502-cloudflare", 3),
    ("cloud502-diagnose", 4),
    ("cloud502-render", 5),
    ("cloud502-audit", 6),
    ("cloud502", 7),
    ("cloud502-cli", 8),
];

#[test]
fn no_crate_depends_on_one_after_it_in_the_data_flow() {
    let rank = |name: &str| FLOW.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
    let mut edges = 0;
    for src in crates() {
        let manifest = std::fs::read_to_string(src.join("../Cargo.toml")).unwrap();
        let name = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .unwrap();
        let mine = rank(name).unwrap_or_else(|| panic!("{name} has no place in FLOW"));
        // Only [dependencies]: dev-dependencies may reach further for tests.
        let deps = manifest
            .split("\n[")
            .find(|s| s.starts_with("dependencies]"))
            .unwrap_or_default();
        for line in deps.lines().skip(1) {
            let dep = line.split([' ', '.', '=']).next().unwrap_or_default();
            if let Some(theirs) = rank(dep) {
                assert!(
                    theirs < mine,
                    "{name} depends on {dep}, which comes after it"
                );
                edges += 1;
            }
        }
    }
    assert!(
        edges > 25,
        "only {edges} dependencies between the crates read"
    );
}
