//! End-to-end: an ALB incident log (S3 form, plain and gzip) through `summarize_path` with
//! auto-detection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{
    Dialect, FormatChoice, LogClass, LogSummary, Options, classify_alb, detect, parse_alb_line,
    summarize_path,
};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alb-incident.log")
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
    assert_eq!(s.dialect, "alb-access");
    assert_eq!(s.lines, 20);
    assert_eq!(s.matched, 10);
    assert_eq!(s.skipped, Default::default());
    assert_eq!(s.first_seen.as_deref(), Some("2026-11-20T10:14:58Z"));
    assert_eq!(s.last_seen.as_deref(), Some("2026-11-20T10:16:07Z"));
    let counts: Vec<(&str, u64)> = s.counts.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(
        counts,
        [("200", 9), ("502", 8), ("404", 1), ("460", 1), ("504", 1)]
    );

    let nc = group(s, LogClass::Status502NoConnect);
    assert_eq!(nc.upstream.as_deref(), Some("10.0.1.12:8080"));
    assert_eq!((nc.count, nc.status, nc.sample.line), (3, Some(502), 4));
    assert_eq!(nc.first_seen.as_deref(), Some("2026-11-20T10:15:00Z"));
    assert_eq!(nc.last_seen.as_deref(), Some("2026-11-20T10:15:05Z"));
    assert_eq!(nc.detail, None);
    assert_eq!(s.groups[0].class, LogClass::Status502NoConnect);

    let nh = group(s, LogClass::Status502NoHeader);
    assert_eq!(nh.upstream.as_deref(), Some("10.0.1.13:8080"));
    assert_eq!(nh.count, 2);
    assert_eq!(nh.first_seen.as_deref(), Some("2026-11-20T10:15:01Z"));
    assert_eq!(nh.last_seen.as_deref(), Some("2026-11-20T10:15:07Z"));

    let fu = group(s, LogClass::Status502FromUpstream);
    assert_eq!(fu.upstream.as_deref(), Some("10.0.1.14:8080"));
    assert_eq!(fu.count, 2);

    let to = group(s, LogClass::Status504);
    assert_eq!(
        (to.upstream.as_deref(), to.status),
        (Some("10.0.1.14:8080"), Some(504))
    );

    let la = group(s, LogClass::LambdaError);
    assert_eq!(la.upstream, None);
    assert_eq!(la.status, Some(502));
    assert_eq!(la.detail.as_deref(), Some("LambdaInvalidResponse"));
    assert_eq!(la.sample.line, 12);

    let cc = group(s, LogClass::Status499);
    assert_eq!(
        (cc.upstream.as_deref(), cc.status),
        (Some("10.0.1.13:8080"), Some(460))
    );

    assert_eq!(s.groups.len(), 6);
    assert_eq!(s.count_of(LogClass::Status502), 0);
}

#[test]
fn fixture_is_detected_and_summarized() {
    let text = std::fs::read(fixture()).unwrap();
    assert_eq!(detect(&text, &[]), Some(Dialect::AlbAccess));
    // every line parses, and the classifier agrees with the summary
    let classes: Vec<_> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| classify_alb(&parse_alb_line(l).unwrap()))
        .collect();
    assert_eq!(classes.len(), 20);
    assert_eq!(classes.iter().filter(|c| c.is_some()).count(), 10);

    let s = run(&fixture(), FormatChoice::Auto, &Options::default());
    check_incident(&s);
    assert_eq!(s.bytes, text.len() as u64);
    assert_eq!(
        s,
        run(&fixture(), FormatChoice::AlbAccess, &Options::default())
    );
}

#[test]
fn gzip_s3_delivery_is_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(fixture()).unwrap();
    let path = dir.path().join(
        "123456789012_elasticloadbalancing_eu-west-1_app.shop-prod.50dc6c495c0c9188_20261120T1015Z_10.0.0.5_2k3j4h5g.log.gz",
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&text).unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    let s = run(&path, FormatChoice::Auto, &Options::default());
    check_incident(&s);
    assert_eq!(s.bytes, text.len() as u64, "bytes after decompression");

    // an empty delivery is named like one
    let empty = dir
        .path()
        .join("123456789012_elasticloadbalancing_eu-west-1_app.x.y_20261120T1015Z_10.0.0.5_a.log");
    std::fs::write(&empty, "").unwrap();
    let s = run(&empty, FormatChoice::Auto, &Options::default());
    assert_eq!((s.dialect.as_str(), s.lines), ("alb-access", 0));
}

#[test]
fn since_drops_the_early_lines() {
    let opts = Options {
        since: Some(time::macros::datetime!(2026-11-20 10:15:05 UTC)),
        ..Options::default()
    };
    let s = run(&fixture(), FormatChoice::Auto, &opts);
    // 11 lines are stamped before 10:15:05
    assert_eq!(s.skipped.outside_window, 11);
    let nc = group(&s, LogClass::Status502NoConnect);
    assert_eq!(nc.count, 1);
    assert_eq!(nc.first_seen.as_deref(), Some("2026-11-20T10:15:05Z"));
    assert_eq!(s.count_of(LogClass::Status502FromUpstream), 0);
    assert_eq!(s.count_of(LogClass::LambdaError), 1);
    assert_eq!(s.count_of(LogClass::Status504), 1);
    assert_eq!(s.matched, 5);
}
