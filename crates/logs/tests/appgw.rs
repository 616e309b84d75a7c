//! End-to-end: an Azure Application Gateway v2 incident log (diagnostic-setting records and
//! `AGWAccessLogs` rows mixed, plain and gzip) through `summarize_path` with auto-detection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{
    Dialect, ERRORINFO_UPSTREAM_CLOSED_CONNECTION, FormatChoice, LogClass, LogSummary, Options,
    classify_appgw, detect, parse_appgw_line, summarize_path,
};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/appgw-incident.log")
}

fn run(path: &Path, choice: FormatChoice, opts: &Options) -> LogSummary {
    summarize_path(path, "logs.0", choice, &[], opts, &mut |_| {}).unwrap()
}

fn group(s: &LogSummary, class: LogClass) -> &cloud502_model::LogGroup {
    let v: Vec<_> = s.groups_of(class).collect();
    assert_eq!(v.len(), 1, "{class}: {:?}", s.groups);
    v[0]
}

/// What the fixture holds, whichever way it is read.
fn check_incident(s: &LogSummary) {
    assert_eq!(s.dialect, "appgw-access");
    assert_eq!(s.lines, 18);
    // 4 closed-connection, 3 no-live, 2 backend-made 502s, 1 timeout; not the internal probe
    assert_eq!(s.matched, 10);
    let skipped = cloud502_model::LogSkips {
        unparsed: 1,
        ..Default::default()
    };
    assert_eq!(s.skipped, skipped, "the garbage line");
    assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:00:00Z"));
    assert_eq!(s.last_seen.as_deref(), Some("2026-11-20T10:00:32Z"));
    let counts: Vec<(&str, u64)> = s.counts.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(counts, [("502", 9), ("200", 6), ("504", 1)]);

    assert_eq!(s.groups.len(), 4);
    let classes: Vec<_> = s.groups.iter().map(|g| g.class).collect();
    assert_eq!(
        classes,
        [
            LogClass::PrematureClose,
            LogClass::NoLiveUpstreams,
            LogClass::Status502FromUpstream,
            LogClass::ReadTimeout,
        ]
    );

    let pc = group(s, LogClass::PrematureClose);
    assert_eq!(pc.upstream.as_deref(), Some("10.0.1.4:443"));
    assert_eq!((pc.count, pc.status, pc.sample.line), (4, Some(502), 3));
    assert_eq!(
        pc.detail.as_deref().map(str::as_bytes),
        Some(ERRORINFO_UPSTREAM_CLOSED_CONNECTION)
    );
    assert_eq!((pc.level.as_deref(), pc.reused), (None, None));
    assert_eq!(pc.first_seen.as_deref(), Some("2026-11-20T10:00:01Z"));
    assert_eq!(pc.last_seen.as_deref(), Some("2026-11-20T10:00:09Z"));
    assert!(
        pc.sample
            .text
            .starts_with("{\"time\":\"2026-11-20T10:00:01.123Z\"")
    );

    let nl = group(s, LogClass::NoLiveUpstreams);
    assert_eq!(nl.upstream, None);
    assert_eq!((nl.count, nl.status, nl.sample.line), (3, Some(502), 4));
    assert_eq!(nl.detail.as_deref(), Some("ERRORINFO_UPSTREAM_NO_LIVE"));
    assert_eq!(nl.first_seen.as_deref(), Some("2026-11-20T10:00:02Z"));
    assert_eq!(nl.last_seen.as_deref(), Some("2026-11-20T10:00:05Z"));

    let fu = group(s, LogClass::Status502FromUpstream);
    assert_eq!(fu.upstream.as_deref(), Some("10.0.1.5:80"));
    assert_eq!((fu.count, fu.status, fu.sample.line), (2, Some(502), 7));
    assert_eq!(fu.detail, None);
    assert_eq!(fu.first_seen.as_deref(), Some("2026-11-20T10:00:03Z"));
    assert_eq!(fu.last_seen.as_deref(), Some("2026-11-20T10:00:08Z"));

    let to = group(s, LogClass::ReadTimeout);
    assert_eq!(to.upstream.as_deref(), Some("10.0.1.4:443"));
    assert_eq!((to.count, to.status, to.sample.line), (1, Some(504), 16));
    assert_eq!(to.detail.as_deref(), Some("ERRORINFO_UPSTREAM_TIMED_OUT"));

    assert_eq!(s.count_of(LogClass::Status502), 0);
    assert_eq!(s.samples.len(), 5);
    assert!(s.samples.iter().all(|l| !l.contains("127.0.0.1")));
}

#[test]
fn fixture_is_detected_and_summarized() {
    let text = std::fs::read(fixture()).unwrap();
    assert_eq!(detect(&text, &[]), Some(Dialect::AppgwAccess));
    // every line but the garbage one parses, and the classifier agrees with the summary
    let lines: Vec<_> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 18);
    let parsed: Vec<_> = lines.iter().filter_map(|l| parse_appgw_line(l)).collect();
    assert_eq!(parsed.len(), 17);
    assert_eq!(parsed.iter().filter(|r| r.is_internal()).count(), 1);
    assert_eq!(
        parsed
            .iter()
            .filter(|r| classify_appgw(r).is_some())
            .count(),
        10
    );

    let s = run(&fixture(), FormatChoice::Auto, &Options::default());
    check_incident(&s);
    assert_eq!(s.bytes, text.len() as u64);
    assert_eq!(
        s,
        run(&fixture(), FormatChoice::AppgwAccess, &Options::default())
    );
    assert_eq!(
        "appgw-access".parse::<FormatChoice>(),
        Ok(FormatChoice::AppgwAccess)
    );
}

#[test]
fn gzip_is_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(fixture()).unwrap();
    let path = dir.path().join("PT1H.json.gz");
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
        since: Some(time::macros::datetime!(2026-11-20 10:00:05 UTC)),
        ..Options::default()
    };
    let s = run(&fixture(), FormatChoice::Auto, &opts);
    // 7 records are stamped before 10:00:05 (the internal one is not counted at all)
    assert_eq!(s.skipped.outside_window, 7);
    assert_eq!(s.matched, 6);
    let nl = group(&s, LogClass::NoLiveUpstreams);
    assert_eq!(nl.count, 2);
    assert_eq!(nl.first_seen.as_deref(), Some("2026-11-20T10:00:05Z"));
    assert_eq!(s.count_of(LogClass::PrematureClose), 2);
    assert_eq!(s.count_of(LogClass::Status502FromUpstream), 1);
    assert_eq!(s.count_of(LogClass::ReadTimeout), 1);
    // the file's span still covers every dated record
    assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:00:00Z"));
}
