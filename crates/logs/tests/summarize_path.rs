//! End-to-end tests of the public API on real files: gzip, detection, errors, the two-thread path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{
    AccessFormat, Dialect, FormatChoice, LogClass, LogError, Options, classify_error, detect, open,
    parse_error_line, summarize, summarize_path,
};
use std::io::{Read, Write};
use std::path::Path;

const REFUSED: &str = "2026/05/01 12:00:00 [error] 1234#1234: *56 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: example.com, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:8080/\", host: \"example.com\"";

const TIMED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" ua=$upstream_addr us=$upstream_status uct=$upstream_connect_time uht=$upstream_header_time urt=$upstream_response_time rid=$request_id";

fn access_line(status: u16, ua: &str, uct: &str, uht: &str) -> String {
    format!(
        "198.51.100.7 - - [01/May/2026:12:00:00 +0000] \"GET /api HTTP/1.1\" {status} 12 \"-\" \"curl/8\" ua={ua} us={status} uct={uct} uht={uht} urt=0.010 rid=abc\n"
    )
}

fn error_log(lines: usize) -> String {
    let mut s = String::new();
    for i in 0..lines {
        match i % 4 {
            0 => s.push_str(REFUSED),
            1 => s.push_str("2026/05/01 12:00:01 [error] 1234#1234: *57 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.9, server: example.com, request: \"GET /slow HTTP/1.1\", upstream: \"http://10.0.0.2:8080/slow\", host: \"example.com\""),
            2 => s.push_str("2026/05/01 12:00:02 [crit] 1234#1234: *58 connect() to unix:/run/app.sock failed (2: No such file or directory) while connecting to upstream, client: 203.0.113.9, server: example.com, request: \"GET / HTTP/1.1\", upstream: \"http://unix:/run/app.sock:/\", host: \"example.com\""),
            _ => s.push_str("2026/05/01 12:00:03 [notice] 1#1: signal process started"),
        }
        s.push('\n');
    }
    s
}

fn run(
    path: &Path,
    choice: FormatChoice,
    formats: &[AccessFormat],
) -> cloud502_logs::Result<cloud502_logs::LogSummary> {
    summarize_path(
        path,
        "logs.0",
        choice,
        formats,
        &Options::default(),
        &mut |_| {},
    )
}

#[test]
fn kb_example_through_the_public_api() {
    let e = parse_error_line(REFUSED.as_bytes()).unwrap();
    assert_eq!(classify_error(&e), Some(LogClass::ConnectRefused));
    assert_eq!(detect(REFUSED.as_bytes(), &[]), Some(Dialect::NginxError));
}

#[test]
fn gzip_error_log_is_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let text = error_log(400);
    let path = dir.path().join("error.log.1"); // no .gz extension: detected by magic
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    std::fs::write(&path, &gz).unwrap();

    let mut last = 0;
    let s = summarize_path(
        &path,
        "logs.0",
        FormatChoice::Auto,
        &[],
        &Options::default(),
        &mut |n| last = n,
    )
    .unwrap();
    assert_eq!(s.dialect, "nginx-error");
    assert_eq!(
        s.bytes,
        text.len() as u64,
        "bytes are counted after decompression"
    );
    assert_eq!(
        last,
        gz.len() as u64,
        "progress counts the compressed bytes read"
    );
    assert_eq!(s.lines, 400);
    assert_eq!(s.matched, 300);
    assert_eq!(s.count_of(LogClass::ConnectRefused), 100);
    assert_eq!(s.count_of(LogClass::ReadTimeout), 100);
    let sock: Vec<_> = s.groups_of(LogClass::ConnectNoSocket).collect();
    assert_eq!(sock.len(), 1);
    assert_eq!(sock[0].upstream.as_deref(), Some("unix:/run/app.sock"));
    assert_eq!(sock[0].level.as_deref(), Some("crit"));
    assert_eq!(sock[0].sample.line, 3);

    let mut plain = String::new();
    open(&path).unwrap().read_to_string(&mut plain).unwrap();
    assert_eq!(plain, text);
}

#[test]
fn corrupt_gzip_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.gz");
    let mut data = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    data.extend_from_slice(&[0xff; 64]);
    std::fs::write(&path, data).unwrap();
    let err = run(&path, FormatChoice::NginxError, &[]).unwrap_err();
    assert!(matches!(err, LogError::Read { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("gzip -t") && !msg.contains('\n'), "{msg}");
}

#[test]
fn access_log_detected_among_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for _ in 0..50 {
        text.push_str(&access_line(200, "10.0.0.1:80", "0.000", "0.004"));
    }
    text.push_str(&access_line(502, "10.0.0.1:80", "-", "-"));
    text.push_str(&access_line(502, "10.0.0.1:80", "0.000", "-"));
    text.push_str(&access_line(502, "10.0.0.1:80", "0.001", "0.002"));
    text.push_str(&access_line(504, "10.0.0.1:80", "0.001", "-"));
    let path = dir.path().join("access.log");
    std::fs::write(&path, &text).unwrap();
    let formats = [
        AccessFormat::parse("json", "{\"s\":$status}").unwrap(),
        AccessFormat::parse("timed", TIMED).unwrap(),
    ];
    let s = run(&path, FormatChoice::Auto, &formats).unwrap();
    assert_eq!(s.dialect, "nginx-access");
    assert_eq!(s.lines, 54);
    assert_eq!(s.matched, 4);
    assert_eq!(s.counts[0].key, "200");
    assert_eq!(s.count_of(LogClass::Status502NoConnect), 1);
    assert_eq!(s.count_of(LogClass::Status502NoHeader), 1);
    assert_eq!(s.count_of(LogClass::Status502FromUpstream), 1);
    assert_eq!(s.count_of(LogClass::Status504), 1);
    let nh = s.groups_of(LogClass::Status502NoHeader).next().unwrap();
    assert_eq!(nh.reused, Some(1));

    // the same file read as combined: the upstream timings are unknown
    let s = run(&path, FormatChoice::NginxAccess, &[]).unwrap();
    assert_eq!(s.count_of(LogClass::Status502), 3);
}

#[test]
fn binary_and_junk_files() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("core");
    let mut x = 88_172_645_463_325_252u64;
    let data: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&bin, data).unwrap();
    let err = run(&bin, FormatChoice::Auto, &[]).unwrap_err();
    assert!(matches!(err, LogError::NotText { .. }), "{err:?}");
    assert!(err.to_string().contains("is this a log file?"));

    // an explicit format reads it anyway, counting and skipping, never panicking
    let s = run(&bin, FormatChoice::NginxError, &[]).unwrap();
    assert_eq!(s.matched, 0);
    assert!(s.skipped.binary + s.skipped.invalid_utf8 > 0);

    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "dear diary\ntoday nginx was fine\n").unwrap();
    let err = run(&junk, FormatChoice::Auto, &[]).unwrap_err();
    assert!(matches!(err, LogError::UnknownFormat { .. }), "{err:?}");
    assert!(err.to_string().contains(
        "--format alb-access, --format appgw-access or --format cloudflare-http-requests"
    ));

    let missing = dir.path().join("missing.log");
    let err = run(&missing, FormatChoice::Auto, &[]).unwrap_err();
    assert!(matches!(err, LogError::Open { .. }), "{err:?}");
}

#[test]
fn empty_files_summarize_empty() {
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("error.log");
    std::fs::write(&e, "").unwrap();
    let s = run(&e, FormatChoice::Auto, &[]).unwrap();
    assert_eq!(
        (s.dialect.as_str(), s.lines, s.bytes),
        ("nginx-error", 0, 0)
    );
    let a = dir.path().join("access.log");
    std::fs::write(&a, "").unwrap();
    assert_eq!(
        run(&a, FormatChoice::Auto, &[]).unwrap().dialect,
        "nginx-access"
    );
}

#[test]
fn wrong_explicit_format_counts_unparsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, access_line(502, "a:1", "-", "-").repeat(3)).unwrap();
    let s = run(&path, FormatChoice::NginxError, &[]).unwrap();
    assert_eq!((s.lines, s.skipped.unparsed, s.matched), (3, 3, 0));
}

/// A file big enough for the two-thread path gives what one sequential pass gives.
#[test]
fn big_plain_file_two_threads_match_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.log");
    let chunk = error_log(1000);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut size = 0;
    while size < 17 << 20 {
        f.write_all(chunk.as_bytes()).unwrap();
        size += chunk.len();
    }
    f.flush().unwrap();
    drop(f);
    let opts = Options::default();
    let par = summarize_path(&path, "l", FormatChoice::Auto, &[], &opts, &mut |_| {}).unwrap();
    let seq = summarize(
        std::fs::File::open(&path).unwrap(),
        &path.display().to_string(),
        "l",
        &Dialect::NginxError,
        &opts,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(par, seq);
    assert_eq!(par.bytes, size as u64);
}
