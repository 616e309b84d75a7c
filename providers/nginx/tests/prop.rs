//! Property tests over the nginx config parser and the `nginx -T` dump loader (issue 14): no input
//! panics or overflows the stack, errors name a line of the text, and what parses reads back the
//! same when written out again.
//!
//! Real inputs are this repository's fixtures: `tests/fixtures/config/full.conf`,
//! `tests/fixtures/config/debian-1.22.1-default.nginx-T.txt` (the `nginx -T` of Debian 12's nginx
//! 1.22.1 package, default site), `examples/demo/nginx.conf` and `examples/incident/nginx-T.txt`
//! (captured from a real nginx in the incident replay).
//!
//! Each property runs a bounded number of cases (256 unless `PROPTEST_CASES` says otherwise) with
//! a seed printed at its start (`--nocapture` shows it; a failure's output always does);
//! `PROPTEST_RNG_SEED=N` replays one. Failing inputs are kept in `tests/prop.proptest-regressions`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use cloud502_nginx::conf::{ConfigError, Directive, NginxConfig, load_dump, parse_str};
use proptest::prelude::*;

#[path = "../../../tests/support/proptest_config.rs"]
mod proptest_config;
use proptest_config::config;

const FULL: &str = include_str!("fixtures/config/full.conf");
const DEMO: &str = include_str!("../../../examples/demo/nginx.conf");
const DEBIAN_DUMP: &str = include_str!("fixtures/config/debian-1.22.1-default.nginx-T.txt");
const INCIDENT_DUMP: &str = include_str!("../../../examples/incident/nginx-T.txt");

/// A directive tree without locations: what the text says, wherever it says it.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    name: String,
    args: Vec<String>,
    block: Option<Vec<Shape>>,
}

fn shape(ds: &[Directive]) -> Vec<Shape> {
    ds.iter()
        .map(|d| Shape {
            name: d.name.clone(),
            args: d.args.clone(),
            block: d.block.as_deref().map(shape),
        })
        .collect()
}

/// Write directives back as nginx text, every word double-quoted with `\` and `"` escaped.
fn render(ds: &[Directive], out: &mut String) {
    for d in ds {
        for (i, w) in std::iter::once(&d.name).chain(&d.args).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push('"');
            for c in w.chars() {
                if c == '\\' || c == '"' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        match &d.block {
            None => out.push_str(";\n"),
            Some(b) => {
                out.push_str(" {\n");
                render(b, out);
                out.push_str("}\n");
            }
        }
    }
}

fn walk(ds: &[Directive], f: &mut dyn FnMut(&Directive)) {
    for d in ds {
        f(d);
        walk(d.children(), f);
    }
}

/// Every accessor a provider calls on a loaded config; none may panic.
fn use_all(c: &NginxConfig) {
    let _ = c.snapshot(Some("nginx/1.22.1"));
    let _ = c.snapshot(None);
    let _ = c.error_logs();
    let _ = c.access_logs();
    let _ = c.log_formats();
    let _ = c.worker_connections();
    let _ = c.worker_rlimit_nofile();
    let _ = c.worker_processes();
}

/// An error is one line with a hint; a syntax error names a line of the text (of a dump's section,
/// which is shorter than the dump).
fn check_error(e: &ConfigError, text: &str) -> Result<(), TestCaseError> {
    let shown = e.to_string();
    // no line break: it would forge a second `error:` line
    prop_assert!(
        !shown.contains(['\n', '\r']),
        "a one-line error: {:?}",
        shown
    );
    prop_assert!(!e.hint().is_empty());
    if let ConfigError::Syntax { line, message, .. } = e {
        // what the parser says quotes the text escaped; the file name is the dump's own (the
        // terminal layer strips control characters from it)
        prop_assert!(!message.contains(char::is_control), "{:?}", message);
        let lines = text.split('\n').count() as u32;
        prop_assert!(*line >= 1 && *line <= lines, "line {} of {}", line, lines);
    }
    Ok(())
}

/// Parse one file's text: an error names a line; a config reads back the same when rendered again.
fn parses_consistently(text: &str) -> Result<(), TestCaseError> {
    match parse_str(text, "prop.conf") {
        Err(e) => check_error(&e, text)?,
        Ok(c) => {
            use_all(&c);
            let lines = text.split('\n').count() as u32;
            let mut bad = None;
            walk(&c.root, &mut |d| {
                if d.location.line < 1 || d.location.line > lines {
                    bad = Some(d.location.line);
                }
            });
            prop_assert_eq!(bad, None, "a directive's line is outside the text");
            let mut again = String::new();
            render(&c.root, &mut again);
            let back = parse_str(&again, "again.conf");
            prop_assert!(
                back.is_ok(),
                "rendered text fails: {:?}\n{}",
                back.err(),
                again
            );
            prop_assert_eq!(shape(&back.unwrap().root), shape(&c.root), "{}", again);
        }
    }
    Ok(())
}

/// Load a dump: an error names a line; every directive comes from a file the config lists.
fn loads_consistently(text: &str) -> Result<(), TestCaseError> {
    match load_dump(text, "prop-dump.txt") {
        Err(e) => {
            check_error(&e, text)?;
        }
        Ok(c) => {
            use_all(&c);
            let mut stray = None;
            walk(&c.root, &mut |d| {
                if !c.files.contains(&d.location.file) || d.location.line < 1 {
                    stray = Some(d.location.clone());
                }
            });
            prop_assert_eq!(stray, None, "files: {:?}", c.files);
        }
    }
    Ok(())
}

/// One edit of a config: what a hand edit, a bad merge or a cut file does to real text.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
    Truncate(usize),
}

/// The tokens nginx's lexer turns on.
const TOKENS: &[&str] = &[
    ";",
    "{",
    "}",
    "\"",
    "'",
    "\\",
    "$",
    "${",
    "#",
    "\n",
    "\r\n",
    "\t",
    " ",
    ")",
    "(",
    "\\\"",
    "include ",
    "include /etc/nginx/nginx.conf;",
    "include *;",
    "content_by_lua_block {",
    "--",
    "location ~ \\.php$ {",
    "upstream u {",
    "server ",
    "proxy_pass http://",
    ":",
    "# configuration file /etc/nginx/conf.d/x.conf:\n",
    "\u{00e9}",
    "\u{feff}",
    "\0",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..80).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), 0usize..200).prop_map(|(a, n)| Edit::Duplicate(a, n)),
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
            let to = boundary(s, from + n);
            if to >= from {
                s.replace_range(from..to, "");
            }
        }
        Edit::Insert(a, t) => {
            let at = boundary(s, *a);
            s.insert_str(at, t);
        }
        Edit::Duplicate(a, n) => {
            let from = boundary(s, *a);
            let to = boundary(s, from + n);
            if to >= from {
                let copy = s[from..to].to_string();
                s.insert_str(to, &copy);
            }
        }
        Edit::Truncate(a) => {
            let at = boundary(s, *a);
            s.truncate(at);
        }
    }
}

fn mutated(sources: Vec<&'static str>) -> impl Strategy<Value = String> {
    (
        prop::sample::select(sources),
        prop::collection::vec(edit(), 1..6),
    )
        .prop_map(|(src, edits)| {
            let mut s = src.to_string();
            for e in &edits {
                apply(&mut s, e);
            }
            s
        })
}

/// A dump of a few sections that include each other by name or glob: loops, diamonds and fan-out.
fn include_web() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::collection::vec(0usize..6, 0..4), 1..6).prop_map(|files| {
        let n = files.len();
        let mut out =
            String::from("nginx: configuration file /etc/nginx/f0.conf test is successful\n");
        for (i, incs) in files.iter().enumerate() {
            out.push_str(&format!("# configuration file /etc/nginx/f{i}.conf:\n"));
            for &j in incs {
                if j >= n {
                    out.push_str("include f*.conf;\n");
                } else {
                    out.push_str(&format!("include /etc/nginx/f{j}.conf;\n"));
                }
            }
            out.push_str(&format!("worker_connections {i};\n\n"));
        }
        out
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
        parses_consistently(&text)?;
        loads_consistently(&text)?;
        loads_consistently(&format!("# configuration file /etc/nginx/nginx.conf:\n{text}"))?;
    }

    #[test]
    fn arbitrary_bytes_read_as_nginx_reads_them_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let text = String::from_utf8_lossy(&bytes);
        parses_consistently(&text)?;
        loads_consistently(&text)?;
    }

    #[test]
    fn edited_real_configs_parse_consistently_or_fail_at_a_line(
        text in mutated(vec![FULL, DEMO]),
    ) {
        parses_consistently(&text)?;
    }

    #[test]
    fn edited_and_cut_real_dumps_load_or_fail_cleanly(
        text in mutated(vec![DEBIAN_DUMP, INCIDENT_DUMP]),
    ) {
        loads_consistently(&text)?;
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow(
        depth in 0usize..3000,
        closed in any::<bool>(),
        word in "[a-z_]{1,12}",
    ) {
        let mut text = format!("{word} {{").repeat(depth);
        if closed {
            text.push_str(&"}".repeat(depth));
        }
        parses_consistently(&text)?;
        loads_consistently(&format!("# configuration file /etc/nginx/nginx.conf:\n{text}"))?;
    }

    #[test]
    fn includes_that_loop_or_fan_out_end(text in include_web()) {
        loads_consistently(&text)?;
    }
}

/// The real inputs load, and read back the same when rendered again: the mutations start from text
/// the parser accepts.
#[test]
fn the_fixtures_load() {
    for text in [FULL, DEMO] {
        let c = parse_str(text, "fixture.conf").unwrap();
        assert!(!c.root.is_empty());
        parses_consistently(text).unwrap();
    }
    for text in [DEBIAN_DUMP, INCIDENT_DUMP] {
        let c = load_dump(text, "fixture.txt").unwrap();
        assert!(c.files.len() >= 2, "{:?}", c.files);
        loads_consistently(text).unwrap();
    }
}
