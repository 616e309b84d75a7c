//! The built-in "main with timings" formats and JSON (`escape=json`) access lines, detected with
//! no format named. Lines written by a real nginx are in the e2e test
//! `tests/tests/nginx_log_formats.rs`; these lines are of the same shapes, with values changed by
//! hand where a case needs them (each says so).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use cloud502_logs::{AccessFormat, FormatChoice, LogClass, LogSummary, Options, summarize_path};

fn read_as(text: &str, choice: FormatChoice) -> LogSummary {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, text).unwrap();
    summarize_path(
        &path,
        "log.0",
        choice,
        &[],
        &Options::default(),
        &mut |_| {},
    )
    .unwrap()
}

fn read(text: &str) -> LogSummary {
    read_as(text, FormatChoice::Auto)
}

fn class_count(s: &LogSummary, class: LogClass) -> u64 {
    s.groups_of(class).map(|g| g.count).sum()
}

/// The NGINX blog's `upstream_time` (no `$upstream_addr`): a line nginx 1.22 wrote for a refused
/// upstream, then one for an upstream that closed before answering (hand-edited times).
const UPSTREAM_TIME: &str = r#"127.0.0.1 - - [08/Dec/2026:02:40:01 +0000] "GET /refused HTTP/1.0" 502 157 "-" "-" rt=0.000 uct="-" uht="-" urt="0.000"
127.0.0.1 - - [08/Dec/2026:02:40:01 +0000] "GET /closed HTTP/1.0" 502 157 "-" "-" rt=0.001 uct="0.000" uht="-" urt="0.001"
127.0.0.1 - - [08/Dec/2026:02:40:02 +0000] "GET /ok HTTP/1.0" 200 2 "-" "-" rt=0.001 uct="0.000" uht="0.001" urt="0.001"
"#;

#[test]
fn upstream_time_is_built_in_and_tells_no_connect_from_no_header() {
    let s = read(UPSTREAM_TIME);
    assert_eq!(s.dialect, "nginx-access");
    assert_eq!(s.skipped.unparsed, 0);
    assert_eq!(class_count(&s, LogClass::Status502NoConnect), 1);
    assert_eq!(class_count(&s, LogClass::Status502NoHeader), 1);
    // no $upstream_addr: no upstream is named
    assert!(s.groups.iter().all(|g| g.upstream.is_none()));
    // the copies without the space before rt= too
    let squeezed = UPSTREAM_TIME.replace("\"-\" rt=", "\"-\"rt=");
    let s = read(&squeezed);
    assert_eq!(s.skipped.unparsed, 0);
    assert_eq!(class_count(&s, LogClass::Status502NoConnect), 1);
    // --format nginx-access with no format named finds it as well
    let s = read_as(UPSTREAM_TIME, FormatChoice::NginxAccess);
    assert_eq!(class_count(&s, LogClass::Status502NoHeader), 1);
}

#[test]
fn amplify_main_ext_names_the_upstream_and_sees_retries() {
    // NGINX Amplify's main_ext (two spaces before the status, as published)
    let lines = r#"127.0.0.1 - - [08/Dec/2026:02:40:01 +0000] "GET /r HTTP/1.0"  502 157 "-" "-" "-" rt=0.000 ua="127.0.0.1:9" us="502" ut="0.000" ul="0" cs=-
127.0.0.1 - - [08/Dec/2026:02:40:01 +0000] "GET /p HTTP/1.0"  200 2 "-" "-" "-" rt=0.001 ua="127.0.0.1:9, 127.0.0.1:8080" us="502, 200" ut="0.000, 0.001" ul="0, 2" cs=-
"#;
    let s = read(lines);
    assert_eq!(s.skipped.unparsed, 0);
    let g: Vec<_> = s.groups_of(LogClass::Status502).collect();
    assert_eq!(g[0].upstream.as_deref(), Some("127.0.0.1:9"));
    let r: Vec<_> = s.groups_of(LogClass::UpstreamRetried).collect();
    assert_eq!(r[0].upstream.as_deref(), Some("127.0.0.1:9"));
}

/// QQ1134614268/LinuxServer nginx/nginx.logformat.json.conf, as nginx writes it (escape=json;
/// the bare upstream time through a `map`).
const LINUXSERVER_JSON: &str = r#"{"@timestamp":"2026-12-08T02:40:01+00:00","@version":"1","server_addr":"127.0.0.1","remote_addr":"127.0.0.1","host":"127.0.0.1","uri":"/refused","body_bytes_sent":157,"bytes_sent":157,"upstream_response_time":0.000,"request":"GET /refused HTTP/1.0","request_length":46,"request_time":0.000,"status":"502","http_referer":"","http_x_forwarded_for":"","http_user_agent":""}
{"@timestamp":"2026-12-08T02:40:02+00:00","@version":"1","server_addr":"127.0.0.1","remote_addr":"127.0.0.1","host":"127.0.0.1","uri":"/ok","body_bytes_sent":2,"bytes_sent":2,"upstream_response_time":0.001,"request":"GET /ok HTTP/1.0 \"quoted\"","request_length":41,"request_time":0.001,"status":"200","http_referer":"","http_x_forwarded_for":"","http_user_agent":""}
"#;

#[test]
fn json_lines_are_detected_and_their_keys_read() {
    let s = read(LINUXSERVER_JSON);
    assert_eq!(s.dialect, "nginx-access");
    assert_eq!(s.lines, 2);
    assert_eq!(s.skipped.unparsed, 0);
    assert_eq!(class_count(&s, LogClass::Status502), 1);
    assert_eq!(s.first_seen.as_deref(), Some("2026-12-08T02:40:01Z"));
    // every upstream variable under nginx's names, with spaces and a bare status; a retry list
    let full = r#"{"time_local": "08/Dec/2026:02:40:01 +0000", "status": 502, "upstream_addr": "127.0.0.1:9", "upstream_status": "502", "upstream_connect_time": "-", "upstream_header_time": "-", "upstream_response_time": "0.000"}
{"time_local": "08/Dec/2026:02:40:01 +0000", "status": 502, "upstream_addr": "127.0.0.1:7", "upstream_status": "502", "upstream_connect_time": "0.000", "upstream_header_time": "-", "upstream_response_time": "0.001"}
{"time_local": "08/Dec/2026:02:40:02 +0000", "status": 200, "upstream_addr": "127.0.0.1:9, 127.0.0.1:8080", "upstream_status": "502, 200", "upstream_connect_time": "-, 0.000", "upstream_header_time": "-, 0.001", "upstream_response_time": "0.000, 0.001"}
"#;
    let s = read(full);
    assert_eq!(s.skipped.unparsed, 0);
    let nc: Vec<_> = s.groups_of(LogClass::Status502NoConnect).collect();
    assert_eq!(nc[0].upstream.as_deref(), Some("127.0.0.1:9"));
    assert_eq!(class_count(&s, LogClass::Status502NoHeader), 1);
    let r: Vec<_> = s.groups_of(LogClass::UpstreamRetried).collect();
    assert_eq!(r[0].upstream.as_deref(), Some("127.0.0.1:9"));
}

#[test]
fn json_that_is_not_an_access_line_is_not_read_as_one() {
    // no status key, a status that is not three digits, nested values
    for line in [
        r#"{"level":"info","msg":"started"}"#,
        r#"{"status":"ok","time":"2026-12-08T02:40:01+00:00"}"#,
        r#"{"status":502,"req":{"uri":"/"}}"#,
        r#"{"status":502"#,
        "{}",
    ] {
        assert!(
            AccessFormat::infer_json(line.as_bytes()).is_none(),
            "{line}"
        );
    }
    let f = AccessFormat::infer_json(br#"{"status":502}"#).unwrap();
    assert_eq!(f.name(), "json");
    assert!(!f.has_time());
    // a duration under `time` is not taken for $msec; $msec is
    let f = AccessFormat::infer_json(br#"{"time":0.123,"status":502}"#).unwrap();
    assert!(!f.has_time());
    let f = AccessFormat::infer_json(br#"{"msec":1796697601.123,"status":502}"#).unwrap();
    assert!(f.has_time());
}

#[path = "../../../tests/support/proptest_config.rs"]
mod proptest_config;

mod props {
    //! No input panics the JSON inference or the CRI joiner; a line a format was inferred from
    //! reads with that format.
    use super::*;
    use cloud502_logs::{Dialect, summarize};
    use proptest::prelude::*;

    use super::proptest_config::config;

    /// A real JSON access line (LinuxServer's format) with bytes changed, cut or inserted.
    fn mutated_json() -> impl Strategy<Value = Vec<u8>> {
        let base = LINUXSERVER_JSON.lines().next().unwrap().as_bytes().to_vec();
        let n = base.len();
        (
            Just(base),
            proptest::collection::vec((0..n, any::<u8>(), 0u8..3), 0..6),
        )
            .prop_map(|(mut line, edits)| {
                for (at, byte, how) in edits {
                    let at = at.min(line.len());
                    match how {
                        0 if at < line.len() => line[at] = byte,
                        1 => line.insert(at, byte),
                        _ => line.truncate(at),
                    }
                }
                // one line
                for b in &mut line {
                    if *b == b'\n' {
                        *b = b' ';
                    }
                }
                line
            })
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn inferred_json_formats_read_their_own_line(line in mutated_json()) {
            if let Some(f) = AccessFormat::infer_json(&line) {
                let mut text = line.clone();
                text.push(b'\n');
                let s = summarize(
                    &text[..],
                    "x",
                    "log.0",
                    &Dialect::NginxAccess(f),
                    &Options::default(),
                    &mut |_| {},
                )
                .unwrap();
                prop_assert_eq!(s.lines, 1);
                // a line with bytes that are not text is counted as such, never as unparsed
                prop_assert_eq!(s.skipped.unparsed, 0, "{}", String::from_utf8_lossy(&line));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_json_inference(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = AccessFormat::infer_json(&line);
            let mut braced = b"{\"status\":502,".to_vec();
            braced.extend_from_slice(&line);
            let _ = AccessFormat::infer_json(&braced);
        }

        #[test]
        fn cri_records_of_any_content_are_read_whole(
            records in proptest::collection::vec(
                (any::<bool>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)),
                1..20,
            ),
        ) {
            let mut text = Vec::new();
            for (err, partial, content) in &records {
                text.extend_from_slice(b"2026-05-01T12:00:00.000000001Z ");
                text.extend_from_slice(if *err { b"stderr " } else { b"stdout " });
                text.extend_from_slice(if *partial { b"P " } else { b"F " });
                text.extend(content.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
                text.push(b'\n');
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("pod.log");
            std::fs::write(&path, &text).unwrap();
            for choice in [FormatChoice::Auto, FormatChoice::NginxError, FormatChoice::NginxAccess] {
                let all = match cloud502_logs::summarize_path_all(
                    &path, "log.0", choice, &[], &Options::default(), &mut |_| {},
                ) {
                    Ok(all) => all,
                    // binary or unknown heads are refused with a reason, not a panic
                    Err(_) => continue,
                };
                // the joined lines are never more than the records
                let lines: u64 = all.iter().map(|s| s.lines).sum();
                prop_assert!(lines <= records.len() as u64 * all.len() as u64);
                prop_assert_eq!(all[0].bytes, text.len() as u64);
            }
        }
    }
}

/// A `docker logs` stream whose access lines are JSON (an `escape=json` format on stdout) and
/// whose error lines are nginx's (stderr): read as both logs, the JSON lines by their keys.
#[test]
fn a_mixed_stream_with_json_access_lines_reads_as_both_logs() {
    let error = "2026/12/08 02:40:01 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET /refused HTTP/1.0\", upstream: \"http://127.0.0.1:9/refused\", host: \"127.0.0.1\"";
    let mut text = String::new();
    for l in [
        error,
        LINUXSERVER_JSON.lines().next().unwrap(),
        LINUXSERVER_JSON.lines().nth(1).unwrap(),
    ] {
        text.push_str(&format!("2026-12-08T02:40:01.000000001Z {l}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker.log");
    std::fs::write(&path, &text).unwrap();
    let all = cloud502_logs::summarize_path_all(
        &path,
        "log.0",
        FormatChoice::Auto,
        &[],
        &Options::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].dialect, "nginx-error");
    assert_eq!(all[1].dialect, "nginx-access");
    assert_eq!(all[0].lines + all[1].lines, 3);
    assert_eq!(all[1].skipped.unparsed, 0);
    assert_eq!(class_count(&all[1], LogClass::Status502), 1);
}
