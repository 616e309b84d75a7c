//! End-to-end: the Cloudflare Logpush incident log (`fixtures/cloudflare-http-requests.log`)
//! written again as a CSV job writes it, and read through `summarize_path`: with a header line
//! (the job's `batch_prefix`), tab-separated, and without a header in a given layout. Each must
//! give the summary the NDJSON records give.
//!
//! The CSV shape follows Cloudflare's "Log Output Options" page (cloudflare/cloudflare-docs
//! `src/content/docs/logs/logpush/logpush-job/log-output-options.mdx`, commit
//! 0be487de54d9287d8b4c7563afbc0ff761b8ae3d): values in `field_names` order joined by
//! `field_delimiter`, strings quoted, numbers and booleans bare, the header a `batch_prefix`
//! written before each batch. The conversion below is ours; the records are the fixture's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{
    CsvLayout, Dialect, FormatChoice, LogSummary, Options, summarize, summarize_path,
};
use cloud502_model::LogGroup;
use std::path::{Path, PathBuf};

/// The job's `field_names`: the fields the fixture holds, a few the reader ignores among them.
const FIELDS: [&str; 19] = [
    "EdgeStartTimestamp",
    "ClientIP",
    "ClientRequestHost",
    "ClientRequestMethod",
    "ClientRequestPath",
    "ClientRequestUserAgent",
    "EdgeColoCode",
    "EdgeResponseStatus",
    "OriginResponseStatus",
    "OriginIP",
    "OriginResponseDurationMs",
    "OriginSSLProtocol",
    "OriginTCPHandshakeDurationMs",
    "OriginTLSHandshakeDurationMs",
    "CacheCacheStatus",
    "RayID",
    "ParentRayID",
    "WorkerSubrequest",
    "WorkerSubrequestCount",
];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cloudflare-http-requests.log")
}

/// A value as Logpush's CSV writes it: strings quoted (inner quotes doubled), others bare, a
/// missing field empty.
fn csv_value(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => format!("\"{}\"", s.replace('"', "\"\"")),
        Some(other) => other.to_string(),
    }
}

/// The fixture's records as CSV rows joined by `delimiter` (the record cut short is left out).
fn rows(delimiter: &str) -> Vec<String> {
    std::fs::read_to_string(fixture())
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|r| {
            FIELDS
                .iter()
                .map(|f| csv_value(r.get(*f)))
                .collect::<Vec<_>>()
                .join(delimiter)
        })
        .collect()
}

/// What must be the same however the records are written: counts, span, and each group
/// without its sample (whose line number and text differ).
fn answer(s: &LogSummary) -> impl PartialEq + std::fmt::Debug {
    let groups: Vec<LogGroup> = s
        .groups
        .iter()
        .cloned()
        .map(|mut g| {
            g.sample = cloud502_model::LogSample {
                line: 0,
                text: String::new(),
            };
            g
        })
        .collect();
    (
        s.dialect.clone(),
        s.matched,
        s.counts.clone(),
        s.first_seen.clone(),
        s.last_seen.clone(),
        groups,
    )
}

fn read(path: &Path, choice: FormatChoice) -> LogSummary {
    summarize_path(
        path,
        "logs.0",
        choice,
        &[],
        &Options::default(),
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn csv_with_a_header_reads_as_the_ndjson_records() {
    let ndjson = read(&fixture(), FormatChoice::Auto);
    assert_eq!(
        ndjson.matched, 17,
        "the fixture as tests/cloudflare.rs knows it"
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, delimiter) in [("http_requests.csv", ","), ("http_requests.tsv", "\t")] {
        let rows = rows(delimiter);
        assert_eq!(rows.len(), 29);
        // two batches, each with its header line, as a job with a batch_prefix writes them
        let header = FIELDS.join(delimiter);
        let text = format!(
            "{header}\n{}\n{header}\n{}\n",
            rows[..10].join("\n"),
            rows[10..].join("\n")
        );
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        for choice in [FormatChoice::Auto, FormatChoice::CloudflareHttpRequests] {
            let csv = read(&path, choice);
            assert_eq!(answer(&csv), answer(&ndjson), "{name} {choice}");
            // the header lines are read, not counted as unparsed
            assert_eq!((csv.lines, csv.skipped.unparsed), (31, 0), "{name}");
        }
    }
}

#[test]
fn csv_without_a_header_reads_in_the_given_layout_and_not_without_it() {
    let ndjson = read(&fixture(), FormatChoice::Auto);
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("20261120T100000Z_20261120T100500Z_a1b2c3.log");
    std::fs::write(&path, rows(",").join("\n") + "\n").unwrap();
    let layout = CsvLayout::from_names(&FIELDS, b',').unwrap();
    let csv = summarize(
        std::fs::File::open(&path).unwrap(),
        "x",
        "logs.0",
        &Dialect::CloudflareCsv(layout),
        &Options::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(answer(&csv), answer(&ndjson));
    // without the layout nothing is read: not a healthy summary, every line unparsed
    let blind = read(&path, FormatChoice::CloudflareHttpRequests);
    assert_eq!((blind.matched, blind.skipped.unparsed), (0, 29));
    assert_eq!(
        cloud502_logs::detect(&std::fs::read(&path).unwrap(), &[]),
        None
    );
}
