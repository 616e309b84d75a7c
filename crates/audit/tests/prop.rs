//! Property tests over audit.toml parsing (issue 14): no input panics, and a file that is refused
//! gets one line per problem, each `file:line: what` with a line of the file.
//!
//! Real inputs are `examples/scheduling/audit.toml` and the example of docs/audit.md; generated
//! ones are files built from the documented keys (docs/audit.md) with odd values: huge durations
//! and numbers, wrong types, duplicate names, chains naming unknown subjects.
//!
//! Each property runs a bounded number of cases (256 unless `PROPTEST_CASES` says otherwise) with
//! a seed printed at its start (`--nocapture` shows it; a failure's output always does);
//! `PROPTEST_RNG_SEED=N` replays one. Failing inputs are kept in `tests/prop.proptest-regressions`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use cloud502_audit::config::{AuditFile, ConfigError, Registered, parse};

/// The built-in providers (the binary takes them from `cloud502::PROVIDERS`).
const BUILT_IN: &[Registered] = &[
    Registered::of::<cloud502_aws::AwsArgs>(),
    Registered::of::<cloud502_azure::AzureArgs>(),
    Registered::of::<cloud502_cloudflare::CloudflareArgs>(),
    Registered::of::<cloud502_nginx::NginxArgs>(),
    Registered::of::<cloud502_probe::ProbeArgs>(),
];
use proptest::prelude::*;
use std::path::Path;

#[path = "../../../tests/support/proptest_config.rs"]
mod proptest_config;
use proptest_config::config;

const EXAMPLE: &str = include_str!("../../../examples/scheduling/audit.toml");

/// The ```toml block of docs/audit.md.
fn doc_example() -> String {
    let doc = include_str!("../../../docs/audit.md");
    let start = doc
        .find("```toml\n")
        .expect("docs/audit.md has a toml example")
        + 8;
    let end = start + doc[start..].find("```").expect("closed");
    doc[start..end].to_string()
}

/// Parse `src` as `audit.toml` under a base that holds no files.
fn load(src: &str) -> Result<AuditFile, ConfigError> {
    parse(
        src,
        "audit.toml",
        Path::new("/nonexistent/cloud502-prop"),
        BUILT_IN,
    )
}

/// Parse, and check that a refusal is one line per problem, each naming a line of the file.
fn parses_or_names_lines(src: &str) -> Result<(), TestCaseError> {
    let lines = src.split('\n').count();
    match load(src) {
        // What a run relies on: subjects named once, at a line of the file, chains of them.
        Ok(file) => {
            prop_assert!(file.concurrency >= 1);
            let mut names = std::collections::HashSet::new();
            for s in &file.subjects {
                prop_assert!(names.insert(s.name.as_str()), "{} twice", s.name);
                prop_assert!(s.line >= 1 && s.line <= lines, "line {}", s.line);
                let _ = s.spec.kind();
            }
            for c in &file.chains {
                for l in &c.layers {
                    prop_assert!(file.subject(l).is_some(), "chain layer {} is no subject", l);
                }
            }
        }
        Err(e) => {
            prop_assert!(!e.problems.is_empty(), "a refusal names a problem");
            for p in &e.problems {
                // one line, and no control character that a terminal would act on
                prop_assert!(!p.contains(char::is_control), "one line: {:?}", p);
                let rest = p.strip_prefix("audit.toml:");
                prop_assert!(rest.is_some(), "file:line: what, got {:?}", p);
                let line: Option<usize> = rest
                    .and_then(|r| r.split(':').next())
                    .and_then(|n| n.parse().ok());
                prop_assert!(
                    line.is_some_and(|l| l >= 1 && l <= lines),
                    "line of a {}-line file: {:?}",
                    lines,
                    p
                );
            }
            prop_assert_eq!(e.to_string().lines().count(), e.problems.len());
        }
    }
    Ok(())
}

/// One edit of a file: what a hand edit, a bad merge or a cut file does to real text.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
    Truncate(usize),
}

const TOKENS: &[&str] = &[
    "\n",
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "#",
    ",",
    "{",
    "}",
    ".",
    "\\",
    "\\u0000",
    "\\n",
    "0",
    "-1",
    "18446744073709551615",
    "1e400",
    "nan",
    "inf",
    "true",
    "\"18446744073709551615s\"",
    "\"9999999999h\"",
    "\"0s\"",
    "\"1h\"",
    "[[subject]]\n",
    "name = \"x\"\n",
    "provider = \"nginx\"\n",
    "[audit]\n",
    "deadline = ",
    "since = ",
    "concurrency = ",
    "\u{00e9}",
    "\u{feff}",
    "\r\n",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..80).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), 0usize..300).prop_map(|(a, n)| Edit::Duplicate(a, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// The nearest char boundary at or below `i % (len + 1)`.
fn boundary(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(s: &mut String, e: &Edit) {
    match e {
        Edit::Delete(a, n) => {
            let from = boundary(s, *a);
            let to = boundary(s, from + n).max(from);
            s.replace_range(from..to, "");
        }
        Edit::Insert(a, t) => {
            let at = boundary(s, *a);
            s.insert_str(at, t);
        }
        Edit::Duplicate(a, n) => {
            let from = boundary(s, *a);
            let to = boundary(s, from + n).max(from);
            let copy = s[from..to].to_string();
            s.insert_str(to, &copy);
        }
        Edit::Truncate(a) => {
            let at = boundary(s, *a);
            s.truncate(at);
        }
    }
}

/// Values of every TOML type, and the strings that sit on the checks' edges.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "\"2m\"",
            "\"0s\"",
            "\"18446744073709551615s\"",
            "\"9999999999h\"",
            "\"1.5h\"",
            "\"-1s\"",
            "\"\"",
            "\"a\\nb\"",
            "\"warning\"",
            "\"never\"",
            "\"bogus\"",
            "\"us-east-1\"",
            "\"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef\"",
            "\"http://127.0.0.1:1/\"",
            "\"/etc/nginx/nginx.conf\"",
            "\"relative/x.log\"",
            "true",
            "[]",
            "[\"a\", \"b\"]",
            "[1, 2]",
            "{ a = 1 }",
            "1970-01-01T00:00:00Z",
        ])
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[a-z0-9 ._/:-]{0,20}".prop_map(|s| format!("{s:?}")),
    ]
}

const PROVIDERS: &[&str] = &["aws", "azure", "cloudflare", "nginx", "probe", "gcp", ""];
const KEYS: &[&str] = &[
    "name",
    "provider",
    "fail_on",
    "deadline",
    "since",
    "timeout",
    "tg",
    "lb",
    "region",
    "profile",
    "endpoint_url",
    "log_group",
    "access_logs",
    "metrics",
    "security_groups",
    "max_log_objects",
    "resource_group",
    "gateway",
    "subscription",
    "auth",
    "workspace",
    "arm_endpoint",
    "logs_endpoint",
    "network",
    "backend_health",
    "zone",
    "host",
    "origins",
    "allow_private",
    "http_port",
    "https_port",
    "ca_files",
    "origin_timeout",
    "origin_check",
    "analytics",
    "api_base",
    "max_requests",
    "config",
    "dump",
    "error_log",
    "access_log",
    "probe",
    "local",
    "nginx_bin",
    "prefix",
    "url",
    "resolve",
    "header",
    "insecure",
    "bogus_key",
];
const AUDIT_KEYS: &[&str] = &[
    "concurrency",
    "deadline",
    "fail_on",
    "since",
    "timeout",
    "nope",
];
const NAMES: &[&str] = &["a", "b", "web", "edge", "a", ""];

/// A file of `[audit]`, `[budget]`, provider defaults, subjects and chains from documented keys.
fn generated() -> impl Strategy<Value = String> {
    let pair = |keys: &'static [&'static str]| (prop::sample::select(keys), value());
    (
        prop::collection::vec(pair(AUDIT_KEYS), 0..4),
        prop::collection::vec((prop::sample::select(PROVIDERS), value()), 0..3),
        prop::collection::vec(
            (
                prop::sample::select(NAMES),
                prop::sample::select(PROVIDERS),
                prop::collection::vec(pair(KEYS), 0..6),
            ),
            0..6,
        ),
        prop::collection::vec(
            (
                prop::sample::select(vec!["shop.example.com", "", "*.example.com"]),
                prop::collection::vec(prop::sample::select(NAMES), 0..4),
            ),
            0..3,
        ),
    )
        .prop_map(|(audit, budget, subjects, chains)| {
            let mut out = String::from("[audit]\n");
            for (k, v) in audit {
                out.push_str(&format!("{k} = {v}\n"));
            }
            out.push_str("\n[budget]\n");
            for (k, v) in budget {
                out.push_str(&format!("{k:?} = {v}\n"));
            }
            for (name, provider, keys) in subjects {
                out.push_str(&format!(
                    "\n[[subject]]\nname = {name:?}\nprovider = {provider:?}\n"
                ));
                for (k, v) in keys {
                    if k != "name" && k != "provider" {
                        out.push_str(&format!("{k} = {v}\n"));
                    }
                }
            }
            for (host, layers) in chains {
                out.push_str(&format!(
                    "\n[[chain]]\nhost = {host:?}\nlayers = {layers:?}\n"
                ));
            }
            out
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_text_never_panics(src in "(?s).{0,400}") {
        parses_or_names_lines(&src)?;
    }

    #[test]
    fn edited_and_cut_real_files_parse_or_name_their_lines(
        src in (
            prop::sample::select(vec![EXAMPLE.to_string(), doc_example()]),
            prop::collection::vec(edit(), 1..6),
        )
            .prop_map(|(mut s, edits)| {
                for e in &edits {
                    apply(&mut s, e);
                }
                s
            }),
    ) {
        parses_or_names_lines(&src)?;
    }

    #[test]
    fn files_of_documented_keys_with_odd_values_parse_or_name_their_lines(src in generated()) {
        parses_or_names_lines(&src)?;
    }
}

/// The example file loads: the mutations start from text the parser accepts (the docs' example
/// is a fragment whose chain names subjects it leaves out, so it is only edited).
#[test]
fn the_example_loads() {
    let file = load(EXAMPLE).unwrap();
    assert_eq!(file.subjects.len(), 4);
    parses_or_names_lines(EXAMPLE).unwrap();
}
