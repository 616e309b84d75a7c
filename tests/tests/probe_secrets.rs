//! No secret the user gives `cloud502 probe` (`-H` values, the URL's password and query values)
//! leaves the process, even when the server quotes it back in headers and its error page: every
//! `-o` format, `-vv` and `CLOUD502_LOG=trace` are grepped for the sentinels. And a server's body
//! cannot forge an `error:` line or an escape sequence on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::server::{Behaviour, response, start, start_echo};
use cloud502_e2e::{Run, cloud502, cloud502_env};

const AUTH: &str = "SENTINELauthQ7x9Zk2Lm";
const KEY: &str = "SENTINELkeyP4r8Tw1Vy";
/// Written percent-encoded in the URL (`%2F`): the raw and the decoded form must both be masked.
const QUERY_RAW: &str = "SENTINELqueryH3%2Fj6Nb";
const PASSWORD: &str = "SENTINELpassW5e2Rt";

use cloud502_e2e::OUTPUT_FORMATS as FORMATS;

fn assert_no_sentinel(run: &Run, what: &str) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains("SENTINEL"),
            "{what}: a sentinel leaked on {stream}:\n{text}"
        );
    }
}

fn args(url: &str, format: &str) -> Vec<String> {
    [
        "probe",
        url,
        "-o",
        format,
        "-H",
        &format!("Authorization: Bearer {AUTH}"),
        "-H",
        &format!("X-Api-Key: {KEY}"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

#[test]
fn echoed_credentials_are_masked_in_every_output_format() {
    let server = start_echo("502 Bad Gateway");
    let url = format!(
        "http://user:{PASSWORD}@127.0.0.1:{}/p?token={QUERY_RAW}&page=2",
        server.port
    );
    for format in FORMATS {
        let args = args(&url, format);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = cloud502(&args);
        assert_eq!(run.code, 1, "{format}: {}\n{}", run.stdout, run.stderr);
        assert!(!run.stdout.is_empty(), "{format}: nothing on stdout");
        assert_no_sentinel(&run, format);
        if matches!(*format, "json" | "jsonl") {
            assert!(
                run.stdout.contains("<redacted>") || run.stdout.contains("&lt;redacted&gt;"),
                "{format}: the echoed values should show as masked:\n{}",
                run.stdout
            );
        }
    }

    // The report stays useful: the 502 is still diagnosed, the headers are there, masked.
    let args = args(&url, "json");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = cloud502(&args);
    let report = run.json();
    assert_eq!(report["verdict"], "failing");
    let headers = report["probes"][0]["http"]["headers"].as_array().unwrap();
    let value = |name: &str| {
        headers
            .iter()
            .find(|h| h["name"] == name)
            .map(|h| h["value"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
    };
    for name in ["x-api-key", "x-auth-token", "set-cookie"] {
        assert_eq!(value(name), "<redacted>", "{name}");
    }
    assert_eq!(value("x-echo-authorization"), "<redacted>");
    assert_eq!(
        value("x-echo-target"),
        "/p?token=<redacted>&page=2",
        "a short value such as page=2 is not a secret and stays readable"
    );
    let body = report["probes"][0]["http"]["body_excerpt"]
        .as_str()
        .unwrap();
    assert!(
        body.contains("Authorization: <redacted> and X-Api-Key: <redacted>"),
        "{body}"
    );
}

#[test]
fn echoed_credentials_are_masked_in_verbose_and_trace_logs() {
    let server = start_echo("500 Internal Server Error");
    let url = format!("http://127.0.0.1:{}/p?token={QUERY_RAW}", server.port);
    let base = args(&url, "json");
    let mut verbose: Vec<&str> = base.iter().map(String::as_str).collect();
    verbose.push("-vv");
    let run = cloud502(&verbose);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_no_sentinel(&run, "-vv");

    let plain: Vec<&str> = base.iter().map(String::as_str).collect();
    let run = cloud502_env(&plain, &[("CLOUD502_LOG", "trace")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("x-api-key: <redacted>"),
        "trace logging shows the response headers, masked:\n{}",
        run.stderr
    );
    assert_no_sentinel(&run, "CLOUD502_LOG=trace");
}

#[test]
fn a_server_body_cannot_forge_stderr_lines_or_escape_sequences() {
    let hostile = "<html>\n\u{1b}[2J\u{1b}[31merror: forged by the server\nwarning: forged \
                   too\u{7}\n</html>";
    let server = start(Behaviour::Respond(response(
        "502 Bad Gateway",
        &[
            ("Content-Type", "text/html"),
            ("X-Note", "error: forged in a header"),
        ],
        hostile,
    )));
    for format in FORMATS {
        let args = ["probe", &server.url(), "-o", format, "--color", "never"];
        // Trace logging prints every response header (the X-Note one included) on stderr.
        let run = cloud502_env(&args, &[("CLOUD502_LOG", "trace")]);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(
            run.stderr.contains("error: forged in a header"),
            "{format}: the header should be logged, inside its own line: {}",
            run.stderr
        );
        for line in run.stderr.lines() {
            assert!(
                !line.starts_with("error:") && !line.starts_with("warning:"),
                "{format}: forged stderr line {line:?}"
            );
        }
        // The log's own colours aside, the server's escape sequences and bell never get there.
        assert!(
            !run.stderr.contains("\u{1b}[2J")
                && !run.stderr.contains("\u{1b}[31m")
                && !run.stderr.contains('\u{7}'),
            "{format}: the server's control characters reached stderr: {:?}",
            run.stderr
        );
    }
}
