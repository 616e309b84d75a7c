//! The command line itself: schema, explain, completions, output formats, colour, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::server::{Behaviour, response, start};
use cloud502_e2e::{closed_port, cloud502, cloud502_env};

#[test]
fn schema_prints_a_json_schema_of_the_report() {
    let run = cloud502(&["schema"]);
    assert_eq!(run.code, 0);
    let schema = run.json();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["title"], "Report");
    assert!(schema["properties"]["schema_version"].is_object());
    assert!(schema["$defs"]["Finding"]["properties"]["remediation"].is_object());
}

#[test]
fn explain_prints_each_codes_page_and_rejects_unknown_codes() {
    let list = cloud502(&["explain", "--list"]);
    assert_eq!(list.code, 0);
    let codes: Vec<&str> = list
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(codes.len() >= 29, "{codes:?}");
    for code in codes {
        let run = cloud502(&["explain", code]);
        assert_eq!(run.code, 0, "{code}");
        assert!(run.stdout.starts_with(&format!("# {code}\n")), "{code}");
        assert!(run.stdout.contains("## Remediation"), "{code}");
    }
    let run = cloud502(&["explain", "nginx-503"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        "error: unknown finding code `nginx-503` (hint: run `cloud502 explain --list` to see every code)"
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, needle) in [
        ("bash", "_cloud502()"),
        ("zsh", "#compdef cloud502"),
        ("fish", "complete -c cloud502"),
    ] {
        let run = cloud502(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}");
        assert!(
            run.stdout.contains(needle),
            "{shell}: {}",
            &run.stdout[..200.min(run.stdout.len())]
        );
        assert!(
            run.stdout.contains("--resolve"),
            "{shell} completes probe flags"
        );
    }
}

#[test]
fn output_formats_and_colour_follow_the_flags() {
    let server = start(Behaviour::Respond(response(
        "502 Bad Gateway",
        &[("Server", "nginx")],
        "<html><hr><center>nginx</center></html>",
    )));
    let url = server.url();
    // Piped stdout defaults to JSON.
    let run = cloud502(&["probe", &url]);
    assert_eq!(run.json()["findings"][0]["code"], "nginx-502");

    let table = cloud502(&["probe", &url, "-o", "table"]);
    assert!(
        table.stdout.contains("Answer: nginx generated this 502"),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains('\u{1b}'), "no colour when piped");
    let forced = cloud502(&["probe", &url, "-o", "table", "--color", "always"]);
    assert!(forced.stdout.contains('\u{1b}'));
    let never = cloud502_env(
        &["probe", &url, "-o", "table", "--color", "never"],
        &[("NO_COLOR", "1")],
    );
    assert!(!never.stdout.contains('\u{1b}'));

    let jsonl = cloud502(&["probe", &url, "-o", "jsonl"]);
    cloud502_e2e::assert_no_dangling_evidence_jsonl(&jsonl.stdout);
    let first: serde_json::Value =
        serde_json::from_str(jsonl.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "report");
    assert_eq!(first["summary"]["exit_code"], 1);

    let md = cloud502(&["probe", &url, "-o", "markdown"]);
    assert!(md.stdout.starts_with("# cloud502: "));
    assert!(md.stdout.contains("### 1. nginx generated this 502"));
    for run in [table, jsonl, md] {
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.is_empty(),
            "stderr stays quiet when not a terminal: {}",
            run.stderr
        );
    }
}

#[test]
fn fail_on_sets_the_threshold_and_the_json_states_it() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    for (fail_on, code) in [("warning", 1), ("critical", 1), ("never", 0)] {
        let run = cloud502(&["probe", &url, "--fail-on", fail_on]);
        assert_eq!(run.code, code, "--fail-on {fail_on}");
        let report = run.json();
        assert_eq!(report["summary"]["exit_code"], code);
        assert_eq!(report["summary"]["fail_on"], fail_on);
        assert_eq!(report["summary"]["partial"], false);
    }
}

#[test]
fn secrets_in_headers_and_urls_never_reach_the_output() {
    let server = start(Behaviour::Respond(response(
        "200 OK",
        &[("Set-Cookie", "session=s3cr3t-cookie")],
        "{\"access_token\":\"b0dy-t0ken\"}",
    )));
    let url = format!(
        "http://user:hunter2@127.0.0.1:{}/?token=t0k3n-value",
        server.port
    );
    for format in ["json", "jsonl", "table", "markdown"] {
        let run = cloud502(&[
            "probe",
            &url,
            "-o",
            format,
            "-H",
            "Authorization: Bearer sup3r-secret",
            "-vv",
        ]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        for secret in [
            "hunter2",
            "t0k3n-value",
            "sup3r-secret",
            "s3cr3t-cookie",
            "b0dy-t0ken",
        ] {
            assert!(!run.stdout.contains(secret), "{format}: {secret} on stdout");
            assert!(!run.stderr.contains(secret), "{format}: {secret} on stderr");
        }
    }
}

#[test]
fn help_documents_every_probe_flag_and_the_exit_codes() {
    let run = cloud502(&["probe", "--help"]);
    assert_eq!(run.code, 0);
    for flag in [
        "--resolve",
        "--header",
        "--timeout",
        "--insecure",
        "--cacert",
        "--output",
        "--color",
        "--fail-on",
        "--severity",
    ] {
        assert!(
            run.stdout.contains(flag),
            "{flag} missing from probe --help"
        );
    }
    let top = cloud502(&["--help"]);
    assert!(top.stdout.contains("Exit codes"), "{}", top.stdout);
}

#[test]
fn a_bad_command_line_is_one_error_line_with_the_help_to_read() {
    for (args, needle, help) in [
        (&["probe"][..], "<URL>", "cloud502 probe --help"),
        (
            &["probe", "http://x", "--bogus"][..],
            "'--bogus'",
            "cloud502 probe --help",
        ),
        (
            &["logs", "--format", "zzz", "x"][..],
            "'zzz'",
            "cloud502 logs --help",
        ),
        (&["nope"][..], "'nope'", "cloud502 --help"),
    ] {
        let run = cloud502(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {:?}", run.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        assert!(lines[0].contains(needle), "{args:?}: {}", lines[0]);
        assert!(
            lines[0].ends_with(&format!("(hint: see `{help}`)")),
            "{}",
            lines[0]
        );
    }
    // --help and --version still print as they always did, on stdout, exit 0.
    let help = cloud502(&["probe", "--help"]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("Usage: cloud502 probe"),
        "{}",
        help.stdout
    );
}
