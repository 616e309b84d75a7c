//! Property tests over the five log dialects (issue 14): no input panics, and every line read is
//! accounted for (`lines` = blank + binary + invalid UTF-8 + unparsed + parsed).
//!
//! Inputs are arbitrary bytes, mutations of real lines and real logs cut at any byte. The real lines
//! are this repository's fixtures: `tests/fixtures/*.log` (ALB, AppGW, Cloudflare Logpush records
//! in the documented field layouts) and `examples/incident/{error,access}.log` (written by a real
//! nginx in the incident replay, in the `log_format` of `examples/incident/nginx-T.txt`).
//!
//! Each property runs a bounded number of cases (256 unless `PROPTEST_CASES` says otherwise) with
//! a seed printed at its start (`--nocapture` shows it; a failure's output always does);
//! `PROPTEST_RNG_SEED=N` replays one. proptest also prints the minimal failing input and keeps it
//! in `tests/prop.proptest-regressions`, which is replayed first on later runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use cloud502_logs::{
    AccessFormat, Dialect, LogSummary, Options, detect, parse_alb_line, parse_appgw_line,
    parse_cloudflare_line, parse_error_line, summarize,
};
use proptest::prelude::*;

#[path = "../../../tests/support/proptest_config.rs"]
mod proptest_config;
use proptest_config::config;

const ERROR_LOG: &str = include_str!("../../../examples/incident/error.log");
const ACCESS_LOG: &str = include_str!("../../../examples/incident/access.log");
const ALB_LOG: &str = include_str!("fixtures/alb-incident.log");
const APPGW_LOG: &str = include_str!("fixtures/appgw-incident.log");
const CLOUDFLARE_LOG: &str = include_str!("fixtures/cloudflare-http-requests.log");
/// The `log_format` of `examples/incident/access.log`, as `examples/incident/nginx-T.txt` has it.
const UPSTREAM_FORMAT: &str = "$remote_addr - $remote_user [$time_local] \"$request\" \
$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \
ua=\"$upstream_addr\" us=\"$upstream_status\" uct=\"$upstream_connect_time\" \
uht=\"$upstream_header_time\" urt=\"$upstream_response_time\" rid=$request_id";

fn corpus() -> Vec<&'static str> {
    [ERROR_LOG, ACCESS_LOG, ALB_LOG, APPGW_LOG, CLOUDFLARE_LOG]
        .iter()
        .flat_map(|l| l.lines())
        .filter(|l| !l.is_empty())
        .collect()
}

fn upstream_format() -> AccessFormat {
    AccessFormat::parse("upstream", UPSTREAM_FORMAT).expect("the incident's log_format")
}

/// Every dialect, nginx access in both the `combined` and the incident's format.
fn dialects() -> Vec<Dialect> {
    vec![
        Dialect::NginxError,
        Dialect::NginxAccess(AccessFormat::combined()),
        Dialect::NginxAccess(upstream_format()),
        Dialect::AlbAccess,
        Dialect::AppgwAccess,
        Dialect::CloudflareHttpRequests,
    ]
}

/// What a line reader must make of `input`: the line heads it hands out, as the crate documents
/// them (split at `\n`, no line after a final `\n`, the first `max_line` bytes kept, one trailing
/// `\r` dropped), and how many were longer than the cap.
fn heads(input: &[u8], max_line: usize) -> (Vec<&[u8]>, u64) {
    let mut segs: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    if segs.last().is_some_and(|s| s.is_empty()) {
        segs.pop();
    }
    let too_long = segs.iter().filter(|s| s.len() > max_line).count() as u64;
    let heads = segs
        .into_iter()
        .map(|s| {
            let h = &s[..s.len().min(max_line)];
            h.strip_suffix(b"\r").unwrap_or(h)
        })
        .collect();
    (heads, too_long)
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    lines: u64,
    blank: u64,
    binary: u64,
    invalid_utf8: u64,
    /// Text lines, for the dialects with a public line parser: (parsed, unparsed).
    parsed: Option<(u64, u64)>,
    /// Parsed lines the dialect counts by status (AppGW drops the gateway's own requests,
    /// Cloudflare records without `EdgeResponseStatus`).
    counted: Option<u64>,
}

fn tally(input: &[u8], max_line: usize, dialect: &Dialect) -> Tally {
    let (heads, _) = heads(input, max_line);
    let mut t = Tally {
        lines: heads.len() as u64,
        ..Tally::default()
    };
    let mut text = Vec::new();
    for h in heads {
        if h.is_empty() {
            t.blank += 1;
        } else if h.iter().any(|&b| b < 0x20 && b != b'\t') {
            t.binary += 1;
        } else if std::str::from_utf8(h).is_err() {
            t.invalid_utf8 += 1;
        } else {
            text.push(h);
        }
    }
    let n = text.len() as u64;
    let split = |ok: &dyn Fn(&[u8]) -> bool| {
        let p = text.iter().filter(|h| ok(h)).count() as u64;
        (p, n - p)
    };
    match dialect {
        Dialect::NginxError => t.parsed = Some(split(&|h| parse_error_line(h).is_some())),
        Dialect::AlbAccess => {
            t.parsed = Some(split(&|h| parse_alb_line(h).is_some()));
            t.counted = t.parsed.map(|p| p.0);
        }
        Dialect::AppgwAccess => {
            t.parsed = Some(split(&|h| parse_appgw_line(h).is_some()));
            t.counted = Some(
                text.iter()
                    .filter(|h| parse_appgw_line(h).is_some_and(|r| !r.is_internal()))
                    .count() as u64,
            );
        }
        Dialect::CloudflareHttpRequests => {
            t.parsed = Some(split(&|h| parse_cloudflare_line(h).is_some()));
            t.counted = Some(
                text.iter()
                    .filter(|h| parse_cloudflare_line(h).is_some_and(|r| r.edge_status().is_some()))
                    .count() as u64,
            );
        }
        // No public line parser: every parsed line is counted by status, so the counts must
        // make up the lines that were text and not unparsed (checked in `accounted`).
        Dialect::NginxAccess(_) | Dialect::CloudflareCsv(_) => {}
    }
    t
}

fn run(input: &[u8], max_line: usize, dialect: &Dialect) -> LogSummary {
    let opts = Options {
        max_line,
        ..Options::default()
    };
    summarize(input, "prop", "log.0", dialect, &opts, &mut |_| {})
        .expect("reading from memory cannot fail")
}

/// Summarize `input` as `dialect` and check that every line is accounted for.
fn accounted(input: &[u8], max_line: usize, dialect: &Dialect) -> Result<(), TestCaseError> {
    let s = run(input, max_line, dialect);
    let t = tally(input, max_line, dialect);
    let (_, too_long) = heads(input, max_line);
    let name = dialect.name();
    prop_assert_eq!(s.lines, t.lines, "{}: lines", name);
    prop_assert_eq!(s.bytes, input.len() as u64, "{}: bytes", name);
    prop_assert_eq!(s.skipped.too_long, too_long, "{}: too_long", name);
    prop_assert_eq!(s.skipped.binary, t.binary, "{}: binary", name);
    prop_assert_eq!(
        s.skipped.invalid_utf8,
        t.invalid_utf8,
        "{}: invalid UTF-8",
        name
    );
    prop_assert_eq!(s.skipped.outside_window, 0, "{}: no --since", name);
    let counted: u64 = s.counts.iter().map(|c| c.count).sum();
    let text = t.lines - t.blank - t.binary - t.invalid_utf8;
    prop_assert!(
        s.skipped.unparsed <= text,
        "{}: unparsed > text lines",
        name
    );
    let parsed = text - s.skipped.unparsed;
    prop_assert!(
        s.matched <= parsed,
        "{}: matched {} > parsed {}",
        name,
        s.matched,
        parsed
    );
    if let Some((p, u)) = t.parsed {
        prop_assert_eq!(
            (parsed, s.skipped.unparsed),
            (p, u),
            "{}: (parsed, unparsed)",
            name
        );
    }
    match dialect {
        Dialect::NginxError => prop_assert_eq!(counted, s.matched, "error: class counts"),
        Dialect::NginxAccess(_) => prop_assert_eq!(counted, parsed, "access: status counts"),
        _ => prop_assert_eq!(Some(counted), t.counted, "{}: status counts", name),
    }
    let grouped: u64 = s.groups.iter().map(|g| g.count).sum();
    prop_assert_eq!(grouped, s.matched, "{}: groups add up to matched", name);
    for g in &s.groups {
        prop_assert!(
            g.sample.line >= 1 && g.sample.line <= s.lines,
            "{}: sample line",
            name
        );
    }
    Ok(())
}

/// One edit of a line: what a damaged or unusual log does to real lines.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Replace(usize, u8),
    Duplicate(usize, usize),
    Token(usize, &'static str),
}

/// Bytes and tokens that sit on the parsers' boundaries.
const TOKENS: &[&str] = &[
    " ",
    "\"",
    "\\\"",
    "-",
    "\t",
    "\r",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"\"",
    "null",
    "99999",
    "1000",
    "5020",
    "-1",
    "0.000",
    "1e309",
    "NaN",
    "\u{00e9}",
    "\u{fffd}",
    "\\u0000",
    "\\x22",
    "upstream: ",
    "502",
    "[error]",
    "2026/13/45 99:99:99",
    "\"time\":",
    "\"HttpStatus\":",
    "\"EdgeResponseStatus\":",
    "\"httpStatus\":\"",
    ", ",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(a, b)| Edit::Insert(a, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Edit::Replace(a, b)),
        (any::<usize>(), 0usize..60).prop_map(|(a, n)| Edit::Duplicate(a, n)),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(a, t)| Edit::Token(a, t)),
    ]
}

fn apply(line: &mut Vec<u8>, e: &Edit) {
    let at = |a: usize, len: usize| if len == 0 { 0 } else { a % (len + 1) };
    match e {
        Edit::Delete(a, n) => {
            let s = at(*a, line.len());
            let end = (s + n).min(line.len());
            line.drain(s..end);
        }
        Edit::Insert(a, b) => {
            let s = at(*a, line.len());
            line.splice(s..s, b.iter().copied());
        }
        Edit::Replace(a, b) => {
            if !line.is_empty() {
                let s = *a % line.len();
                line[s] = *b;
            }
        }
        Edit::Duplicate(a, n) => {
            let s = at(*a, line.len());
            let end = (s + n).min(line.len());
            let copy = line[s..end].to_vec();
            line.splice(end..end, copy);
        }
        Edit::Token(a, t) => {
            let s = at(*a, line.len());
            line.splice(s..s, t.bytes());
        }
    }
}

/// A few real lines of any dialect, each edited 0-4 times, joined by `\n` or `\r\n`.
fn mutated_log() -> impl Strategy<Value = Vec<u8>> {
    let corpus = corpus();
    (
        prop::collection::vec(
            (
                prop::sample::select(corpus),
                prop::collection::vec(edit(), 0..5),
            ),
            1..8,
        ),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline)| {
            let mut out = Vec::new();
            for (i, (line, edits)) in lines.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
                let mut l = line.as_bytes().to_vec();
                for e in edits {
                    apply(&mut l, e);
                }
                out.extend_from_slice(&l);
            }
            if final_newline {
                out.push(b'\n');
            }
            out
        })
}

/// A real log cut at any byte, mid-line and mid-UTF-8 character included.
fn truncated_log() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        ERROR_LOG,
        ACCESS_LOG,
        ALB_LOG,
        APPGW_LOG,
        CLOUDFLARE_LOG,
    ])
    .prop_flat_map(|log| (Just(log), 0..=log.len()))
    .prop_map(|(log, cut)| log.as_bytes()[..cut].to_vec())
}

/// The line cap: the default, or small enough to cut most lines.
fn max_line() -> impl Strategy<Value = usize> {
    prop_oneof![Just(64 * 1024), 1usize..300]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic_and_every_line_is_accounted_for(
        input in prop::collection::vec(any::<u8>(), 0..2048),
        max_line in max_line(),
    ) {
        for d in dialects() {
            accounted(&input, max_line, &d)?;
        }
        let _ = detect(&input, &[upstream_format()]);
    }

    #[test]
    fn mutated_real_lines_parse_or_count_as_unparsed(
        input in mutated_log(),
        max_line in max_line(),
    ) {
        for d in dialects() {
            accounted(&input, max_line, &d)?;
        }
        let _ = detect(&input, &[upstream_format(), AccessFormat::combined()]);
    }

    #[test]
    fn real_logs_cut_at_any_byte_never_panic(input in truncated_log(), max_line in max_line()) {
        for d in dialects() {
            accounted(&input, max_line, &d)?;
        }
    }

    #[test]
    fn log_format_strings_compile_or_fail_cleanly(
        format in prop_oneof![
            ".{0,120}",
            (Just(UPSTREAM_FORMAT), prop::collection::vec(edit(), 1..5)).prop_map(|(f, edits)| {
                let mut b = f.as_bytes().to_vec();
                for e in &edits {
                    apply(&mut b, e);
                }
                String::from_utf8_lossy(&b).into_owned()
            }),
        ],
        input in mutated_log(),
    ) {
        // A format that compiles reads any log without panicking, and its lines add up too.
        if let Ok(f) = AccessFormat::parse("prop", &format) {
            accounted(&input, 64 * 1024, &Dialect::NginxAccess(f))?;
        }
    }
}

/// The real logs themselves: each dialect parses its own lines (so the mutations start from lines
/// that parse, and the model above agrees with the reader on them). The AppGW and Cloudflare
/// fixtures hold one garbage line each on purpose (tests/appgw.rs and tests/cloudflare.rs count it).
#[test]
fn each_fixture_parses_in_its_own_dialect() {
    for (log, dialect, garbage) in [
        (ERROR_LOG, Dialect::NginxError, 0),
        (ACCESS_LOG, Dialect::NginxAccess(upstream_format()), 0),
        (ALB_LOG, Dialect::AlbAccess, 0),
        (APPGW_LOG, Dialect::AppgwAccess, 1),
        (CLOUDFLARE_LOG, Dialect::CloudflareHttpRequests, 1),
    ] {
        let s = run(log.as_bytes(), 64 * 1024, &dialect);
        assert_eq!(s.lines, log.lines().count() as u64, "{}", dialect.name());
        assert_eq!(s.skipped.unparsed, garbage, "{}", dialect.name());
        assert!(
            s.matched > 0,
            "{}: the incident has failures",
            dialect.name()
        );
        accounted(log.as_bytes(), 64 * 1024, &dialect).unwrap();
    }
}
