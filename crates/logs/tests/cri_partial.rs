//! CRI partial records joined before classification, and a mixed `docker logs` stream's lines
//! each counted once, under its own dialect (issue 19).
//!
//! The CRI record shape (`<RFC 3339 time> <stdout|stderr> <P|F> <content>`, `P` for a partial
//! record the next ones continue, `F` for the last) is the kubelet's: kubernetes/kubernetes
//! pkg/kubelet/kuberuntime/logs/logs.go, `parseCRILog` ("2016-10-06T00:17:09.669794202Z stdout P
//! log content 1"). containerd and CRI-O split a line into records of 16 KiB; the splits here are
//! made by hand, at places that break the line's classification if it is not joined.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_logs::{FormatChoice, LogClass, LogSummary, Options, summarize_path_all};

fn read(text: &str) -> Vec<LogSummary> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pod.log");
    std::fs::write(&path, text).unwrap();
    summarize_path_all(
        &path,
        "log.0",
        FormatChoice::Auto,
        &[],
        &Options::default(),
        &mut |_| {},
    )
    .unwrap()
}

/// An error.log line with a long request (as a 16 KiB+ query string makes it), split into three
/// records: the upstream is named only in the last.
fn long_error(upstream_port: u16) -> (String, Vec<String>) {
    let query = "q".repeat(20_000);
    let line = format!(
        "2026/05/01 12:00:00 [error] 29#29: *7 connect() failed (111: Connection refused) while connecting to upstream, client: 10.244.0.1, server: _, request: \"GET /search?{query} HTTP/1.1\", upstream: \"http://10.244.1.7:{upstream_port}/search?{query}\", host: \"shop.example.com\""
    );
    let (a, rest) = line.split_at(16 * 1024);
    let (b, c) = rest.split_at(16 * 1024);
    let records = vec![
        format!("2026-05-01T12:00:00.000000001Z stderr P {a}"),
        format!("2026-05-01T12:00:00.000000002Z stderr P {b}"),
        format!("2026-05-01T12:00:00.000000003Z stderr F {c}"),
    ];
    (line, records)
}

const NOTICE: &str = "2026-05-01T11:59:00.000000001Z stderr F 2026/05/01 11:59:00 [notice] 1#1: start worker process 29";

#[test]
fn a_long_line_split_into_partial_records_is_one_classified_line() {
    let (_, records) = long_error(8080);
    let mut text = format!("{NOTICE}\n");
    for r in &records {
        text.push_str(r);
        text.push('\n');
    }
    text.push_str(&format!("{NOTICE}\n"));
    let all = read(&text);
    assert_eq!(all.len(), 1);
    let s = &all[0];
    assert_eq!(s.dialect, "nginx-error");
    // two notices and the long line, each once
    assert_eq!(s.lines, 3, "{s:#?}");
    assert_eq!(s.skipped.unparsed, 0);
    let g: Vec<_> = s.groups_of(LogClass::ConnectRefused).collect();
    assert_eq!(g.len(), 1, "{:#?}", s.groups);
    assert_eq!(g[0].count, 1);
    assert_eq!(g[0].upstream.as_deref(), Some("10.244.1.7:8080"));
    // the bytes are the file's
    assert_eq!(s.bytes, text.len() as u64);
}

#[test]
fn partial_records_of_the_two_streams_are_joined_apart() {
    let (_, records) = long_error(9000);
    let access = "2026-05-01T12:00:00.000000002Z stdout F 10.244.0.1 - - [01/May/2026:12:00:00 +0000] \"GET /search HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\"";
    let ok = "2026-05-01T12:00:01.000000000Z stdout F 10.244.0.1 - - [01/May/2026:12:00:01 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"curl/8.5.0\"";
    // the stdout record lands between the stderr partials
    let text = [
        NOTICE,
        records[0].as_str(),
        access,
        records[1].as_str(),
        records[2].as_str(),
        ok,
        ok,
    ]
    .join("\n")
        + "\n";
    let all = read(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    let (err, acc) = (&all[0], &all[1]);
    assert_eq!(err.dialect, "nginx-error");
    assert_eq!(acc.dialect, "nginx-access");
    let g: Vec<_> = err.groups_of(LogClass::ConnectRefused).collect();
    assert_eq!(g[0].upstream.as_deref(), Some("10.244.1.7:9000"));
    assert_eq!(err.skipped.unparsed, 0);
    assert_eq!(acc.skipped.unparsed, 0);
    // 5 logical lines: 2 error lines, 3 access lines
    assert_eq!(err.lines, 2);
    assert_eq!(acc.lines, 3);
}

/// A `docker logs` stream of the official image: error.log lines (stderr), access lines (stdout),
/// an ingress-nginx controller's own klog line, a blank line and a line neither dialect reads.
#[test]
fn a_mixed_streams_lines_are_counted_once_and_add_up() {
    let text = "\
2026/05/01 11:59:00 [notice] 1#1: start worker process 29
172.17.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/8.5.0\" \"-\"
2026/05/01 12:00:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 172.17.0.1, server: localhost, request: \"GET / HTTP/1.1\", upstream: \"http://172.17.0.3:8080/\", host: \"localhost:8080\"
I0501 12:00:00.123456       7 controller.go:214] \"Backend successfully reloaded\"

172.17.0.1 - - [01/May/2026:12:00:01 +0000] \"GET /ok HTTP/1.1\" 200 615 \"-\" \"curl/8.5.0\" \"-\"
something else entirely
172.17.0.1 - - [01/May/2026:12:00:02 +0000] \"GET /ok HTTP/1.1\" 200 615 \"-\" \"curl/8.5.0\" \"-\"
";
    let total = text.lines().count() as u64;
    let all = read(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    let (err, acc) = (&all[0], &all[1]);
    // the error log's own two lines; everything else is the access pass's
    assert_eq!(err.lines, 2, "{err:#?}");
    assert_eq!(err.lines + acc.lines, total);
    assert_eq!(err.skipped.unparsed, 0);
    // the odd line is unparsed once, in the access pass; the klog and blank lines are not
    assert_eq!(acc.skipped.unparsed, 1, "{acc:#?}");
    let statuses: u64 = acc.counts.iter().map(|c| c.count).sum();
    assert_eq!(statuses, 3);
}
