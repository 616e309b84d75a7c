//! End-to-end: a Cloudflare Logpush `http_requests` incident log (origin-made 502s, edge-made 521s
//! and 522s in two colos, plain and gzip) through `summarize_path` with auto-detection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{
    Dialect, FormatChoice, LogClass, LogSummary, Options, classify_cloudflare, detect,
    parse_cloudflare_line, summarize_path,
};
use cloud502_model::LogGroup;
use std::io::Write;
use std::path::{Path, PathBuf};

const ORIGIN: &str = "203.0.113.10";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cloudflare-http-requests.log")
}

fn run(path: &Path, choice: FormatChoice, opts: &Options) -> LogSummary {
    summarize_path(path, "logs.0", choice, &[], opts, &mut |_| {}).unwrap()
}

/// The one group of this class, edge status and colo.
fn group<'s>(s: &'s LogSummary, class: LogClass, status: u16, colo: &str) -> &'s LogGroup {
    let detail = format!("colo {colo}");
    let v: Vec<_> = s
        .groups_of(class)
        .filter(|g| g.status == Some(status) && g.detail.as_deref() == Some(detail.as_str()))
        .collect();
    assert_eq!(v.len(), 1, "{class} {status} {colo}: {:#?}", s.groups);
    v[0]
}

/// What the fixture holds, whichever way it is read.
fn check_incident(s: &LogSummary) {
    assert_eq!(s.dialect, "cloudflare-http-requests");
    assert_eq!(s.lines, 30);
    // 6 origin-made 502s, 4 521s, 5 522s, 1 edge-made 502, 1 499
    assert_eq!(s.matched, 17);
    let skipped = cloud502_model::LogSkips {
        unparsed: 1,
        ..Default::default()
    };
    assert_eq!(s.skipped, skipped, "the record cut short");
    assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:00:00Z"));
    assert_eq!(s.last_seen.as_deref(), Some("2026-11-20T10:01:56Z"));
    let counts: Vec<(&str, u64)> = s.counts.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(
        counts,
        [
            ("200", 10),
            ("502", 7),
            ("522", 5),
            ("521", 4),
            ("304", 1),
            ("404", 1),
            ("499", 1)
        ]
    );

    let summary: Vec<_> = s
        .groups
        .iter()
        .map(|g| {
            (
                g.class,
                g.status,
                g.upstream.as_deref(),
                g.detail.as_deref(),
                g.count,
            )
        })
        .collect();
    use LogClass::*;
    assert_eq!(
        summary,
        [
            (
                Status502FromUpstream,
                Some(502),
                Some(ORIGIN),
                Some("colo SJC"),
                4
            ),
            (EdgeError, Some(521), None, Some("colo SJC"), 4),
            (EdgeError, Some(522), Some(ORIGIN), Some("colo LAX"), 4),
            (
                Status502FromUpstream,
                Some(502),
                Some(ORIGIN),
                Some("colo LAX"),
                2
            ),
            (Status499, Some(499), None, Some("colo SJC"), 1),
            (EdgeError, Some(502), None, Some("colo LAX"), 1),
            (EdgeError, Some(522), Some(ORIGIN), Some("colo SJC"), 1),
        ]
    );

    let fu = group(s, Status502FromUpstream, 502, "SJC");
    assert_eq!(fu.sample.line, 3);
    assert_eq!((fu.level.as_deref(), fu.reused), (None, None));
    assert_eq!(fu.first_seen.as_deref(), Some("2026-11-20T10:00:08Z"));
    assert_eq!(fu.last_seen.as_deref(), Some("2026-11-20T10:01:32Z"));
    assert!(
        fu.sample
            .text
            .starts_with("{\"CacheCacheStatus\":\"dynamic\"")
    );
    assert!(fu.sample.text.contains("\"EdgeResponseStatus\":502"));

    let refused = group(s, EdgeError, 521, "SJC");
    assert_eq!(refused.sample.line, 5);
    assert_eq!(refused.first_seen.as_deref(), Some("2026-11-20T10:00:16Z"));
    assert_eq!(refused.last_seen.as_deref(), Some("2026-11-20T10:01:36Z"));

    let timeout = group(s, EdgeError, 522, "LAX");
    assert_eq!(timeout.sample.line, 7);
    assert_eq!(timeout.last_seen.as_deref(), Some("2026-11-20T10:01:44Z"));

    // the edge-made 502 is not the origin's
    let edge_502 = group(s, EdgeError, 502, "LAX");
    assert_eq!(
        (edge_502.sample.line, edge_502.upstream.as_deref()),
        (10, None)
    );

    assert_eq!(s.count_of(EdgeError), 10);
    assert_eq!(s.count_of(Status502FromUpstream), 6);
    assert_eq!(s.count_of(Status502), 0);
    assert_eq!(s.samples.len(), 5);
}

#[test]
fn fixture_is_detected_and_summarized() {
    let text = std::fs::read(fixture()).unwrap();
    assert_eq!(detect(&text, &[]), Some(Dialect::CloudflareHttpRequests));
    // every line but the one cut short parses, and the classifier agrees with the summary
    let lines: Vec<_> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 30);
    let parsed: Vec<_> = lines
        .iter()
        .filter_map(|l| parse_cloudflare_line(l))
        .collect();
    assert_eq!(parsed.len(), 29);
    assert!(parsed.iter().all(|r| r.timestamp().is_some()));
    assert_eq!(
        parsed
            .iter()
            .filter(|r| classify_cloudflare(r).is_some())
            .count(),
        17
    );

    let s = run(&fixture(), FormatChoice::Auto, &Options::default());
    check_incident(&s);
    assert_eq!(s.bytes, text.len() as u64);
    assert_eq!(
        s,
        run(
            &fixture(),
            FormatChoice::CloudflareHttpRequests,
            &Options::default()
        )
    );
    assert_eq!(
        "cloudflare-http-requests".parse::<FormatChoice>(),
        Ok(FormatChoice::CloudflareHttpRequests)
    );
}

#[test]
fn gzip_is_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(fixture()).unwrap();
    // Logpush's S3 object names
    let path = dir
        .path()
        .join("20261120T100000Z_20261120T100200Z_6f1e2a3b.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&text).unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    let s = run(&path, FormatChoice::Auto, &Options::default());
    check_incident(&s);
    assert_eq!(s.bytes, text.len() as u64, "bytes after decompression");
}

#[test]
fn since_drops_the_early_records() {
    let opts = Options {
        since: Some(time::macros::datetime!(2026-11-20 10:01:00 UTC)),
        ..Options::default()
    };
    let s = run(&fixture(), FormatChoice::Auto, &opts);
    // lines 1-15 are stamped before 10:01:00 (line 16 is at 10:01:00)
    assert_eq!(s.skipped.outside_window, 15);
    assert_eq!(s.skipped.unparsed, 1);
    assert_eq!(s.matched, 8);
    let fu = group(&s, LogClass::Status502FromUpstream, 502, "SJC");
    assert_eq!(fu.count, 2);
    assert_eq!(fu.first_seen.as_deref(), Some("2026-11-20T10:01:00Z"));
    assert_eq!(s.count_of(LogClass::EdgeError), 4);
    assert_eq!(s.count_of(LogClass::Status499), 1);
    // the file's span still covers every dated record
    assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:00:00Z"));
}

#[test]
fn unix_timestamps_window_like_rfc3339() {
    // the same incident as a `timestamp_format` unixnano job, and a unix one
    let text = std::fs::read_to_string(fixture()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = time::macros::datetime!(2026-11-20 10:00:00 UTC).unix_timestamp();
    for (name, scale) in [("unixnano.log", 1_000_000_000i64), ("unix.log", 1)] {
        let mut out = String::new();
        for line in text.lines() {
            let mut l = line.to_string();
            for key in ["\"EdgeStartTimestamp\":\"", "\"EdgeEndTimestamp\":\""] {
                if let Some(at) = l.find(key) {
                    let v = at + key.len();
                    let end = v + l[v..].find('"').unwrap();
                    let t = time::OffsetDateTime::parse(
                        &l[v..end],
                        &time::format_description::well_known::Rfc3339,
                    )
                    .unwrap();
                    let n = t.unix_timestamp() * scale + 123 % scale;
                    l.replace_range(at + key.len() - 1..=end, &n.to_string());
                }
            }
            out.push_str(&l);
            out.push('\n');
        }
        assert!(out.contains(&format!("\"EdgeStartTimestamp\":{base}")));
        let path = dir.path().join(name);
        std::fs::write(&path, &out).unwrap();
        let all = run(&path, FormatChoice::Auto, &Options::default());
        assert_eq!(all.dialect, "cloudflare-http-requests", "{name}");
        assert_eq!(
            (all.lines, all.matched, all.skipped.unparsed),
            (30, 17, 1),
            "{name}"
        );
        assert_eq!(all.first_seen.as_deref(), Some("2026-11-20T10:00:00Z"));
        assert_eq!(all.last_seen.as_deref(), Some("2026-11-20T10:01:56Z"));
        let opts = Options {
            since: Some(time::macros::datetime!(2026-11-20 10:01:00 UTC)),
            ..Options::default()
        };
        let s = run(&path, FormatChoice::CloudflareHttpRequests, &opts);
        assert_eq!((s.skipped.outside_window, s.matched), (15, 8), "{name}");
    }
}

/// A Worker in front of the origin: each visitor request (parent, `WorkerSubrequestCount` 1,
/// `OriginResponseStatus` 0) has a subrequest record (`WorkerSubrequest` true, its
/// `ParentRayID`) that reached the origin, which answered 502. Each request counts once, as the
/// visitor saw it, and the 502s are the origin's, not the edge's (field names: Cloudflare's
/// Logpush `http_requests` dataset).
#[test]
fn a_worker_subrequest_and_its_parent_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workers.log");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..20 {
        let ray = format!("8e4f1c2a3b5d{i:04x}");
        writeln!(
            f,
            r#"{{"EdgeStartTimestamp":"2026-11-20T10:00:{i:02}Z","EdgeResponseStatus":502,"OriginResponseStatus":0,"EdgeColoCode":"SJC","RayID":"{ray}","ParentRayID":"00","WorkerSubrequest":false,"WorkerSubrequestCount":1}}"#
        )
        .unwrap();
        writeln!(
            f,
            r#"{{"EdgeStartTimestamp":"2026-11-20T10:00:{i:02}Z","EdgeResponseStatus":502,"OriginResponseStatus":502,"OriginIP":"{ORIGIN}","EdgeColoCode":"SJC","RayID":"9a{ray}","ParentRayID":"{ray}","WorkerSubrequest":true,"WorkerSubrequestCount":0}}"#
        )
        .unwrap();
    }
    drop(f);
    let s = run(&path, FormatChoice::Auto, &Options::default());
    let counts: Vec<(&str, u64)> = s.counts.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(counts, [("502", 20)], "{:#?}", s.counts);
    assert_eq!(
        s.groups_of(LogClass::EdgeError).count(),
        0,
        "{:#?}",
        s.groups
    );
    let origin: u64 = s
        .groups_of(LogClass::Status502FromUpstream)
        .map(|g| g.count)
        .sum();
    assert_eq!(origin, 20, "{:#?}", s.groups);
}
