//! Test support for cloud502's end-to-end tests: run the real `cloud502` binary against real
//! servers on loopback: canned servers that reproduce each layer's documented 502 fingerprint
//! byte for byte, TLS servers with generated certificates, misbehaving servers, and real nginx.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

pub mod arm;
pub mod certs;
pub mod cfapi;
pub mod moto;
pub mod nginx;
pub mod server;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The `cloud502` binary built next to this test (`make test` builds it first).
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join(format!("cloud502{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p cloud502-cli` (make test does) before these tests",
        bin.display()
    );
    bin
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl Run {
    /// stdout parsed as JSON.
    /// Every report in it (a single report, an audit's subjects, a trace's hops) is checked for
    /// findings that cite evidence ids the report does not hold: see [`assert_no_dangling_evidence`].
    pub fn json(&self) -> Value {
        let json = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        assert_no_dangling_evidence(&json);
        assert_no_internal_citations(&json);
        json
    }
}

/// Every `-o` format of the CLI (crates/cli/src/args.rs `OutputFormat`): the secret tests run each.
pub const OUTPUT_FORMATS: &[&str] = &[
    "table",
    "json",
    "jsonl",
    "markdown",
    "sarif",
    "junit",
    "prometheus",
    "html",
];

/// Run `cloud502 ARGS` with NO_COLOR unset and a clean log environment.
pub fn cloud502(args: &[&str]) -> Run {
    cloud502_env(args, &[])
}

/// Run `cloud502 ARGS` with extra environment variables.
pub fn cloud502_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    cloud502_env_without(args, env, &[])
}

/// Run `cloud502 ARGS` with extra environment variables and without the `remove` ones.
pub fn cloud502_env_without(args: &[&str], env: &[(&str, &str)], remove: &[&str]) -> Run {
    let started = Instant::now();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLOUD502_LOG");
    for k in remove {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run cloud502");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// Run `cloud502 ARGS` with `input` on its standard input (e.g. `cloud502 logs -`), in the same
/// clean environment as [`cloud502`].
pub fn cloud502_stdin(args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let started = Instant::now();
    let mut child = Command::new(bin())
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLOUD502_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cloud502");
    // Written from another thread: a large input must not block on a full stdout pipe.
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for cloud502");
    writer.join().expect("writer").expect("write stdin");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// `cloud502 probe URL ARGS -o json`, returning the run and the report.
pub fn probe(url: &str, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["probe", url, "-o", "json"];
    all.extend_from_slice(args);
    let run = cloud502(&all);
    let json = run.json();
    (run, json)
}

/// The code of the report's top finding.
pub fn top_code(report: &Value) -> &str {
    report["findings"][0]["code"]
        .as_str()
        .unwrap_or("<no finding>")
}

/// Every finding's code, in rank order.
pub fn codes(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["code"].as_str()).collect())
        .unwrap_or_default()
}

/// The layer the first probe says answered.
pub fn answered_by(report: &Value) -> &str {
    report["probes"][0]["fingerprint"]["answered_by"]
        .as_str()
        .unwrap_or("<no fingerprint>")
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A loopback port that refuses connections for as long as the returned socket lives: bound but
/// not listening, so no other test can take it the way it can take a [`closed_port`].
pub fn refusing_port() -> (u16, socket2::Socket) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&addr.into()).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    (port, socket)
}

/// Findings that cite an evidence id their report does not hold, as `subject: code cites id`.
///
/// Walks the whole value, so it finds every report inside it: a `cloud502 <provider> -o json`
/// report, each subject's report in an audit, the probe and each hop's report in a trace. A report
/// is an object with a `findings` array and an `evidence` array of `{id, ...}` items.
pub fn dangling_evidence(json: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_reports(json, &mut out);
    out
}

fn walk_reports(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let (Some(Value::Array(findings)), Some(Value::Array(items))) =
                (map.get("findings"), map.get("evidence"))
            {
                let ids: std::collections::HashSet<&str> =
                    items.iter().filter_map(|i| i["id"].as_str()).collect();
                let subject = map
                    .get("subject")
                    .and_then(|s| s["id"].as_str())
                    .unwrap_or("<no subject>");
                for f in findings {
                    let code = f["code"].as_str().unwrap_or("<no code>");
                    for id in f["evidence"].as_array().into_iter().flatten() {
                        let id = id.as_str().unwrap_or("<not a string>");
                        if !ids.contains(id) {
                            out.push(format!("{subject}: {code} cites {id}"));
                        }
                    }
                }
            }
            for child in map.values() {
                walk_reports(child, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| walk_reports(c, out)),
        _ => {}
    }
}

/// Fail when text cloud502 wrote for a reader (a finding's title, explanation, disproof,
/// remediation and next command; a gap's message and hint) cites an internal section the reader
/// cannot look up (`KB 4.7 #1`, `[N-src]`). Log lines quoted as evidence are left out: they are
/// the input's words.
pub fn assert_no_internal_citations(json: &Value) {
    fn cites(text: &str) -> bool {
        let kb = text.match_indices("KB ").any(|(i, _)| {
            (i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
                && text[i + 3..].starts_with(|c: char| c.is_ascii_digit())
        });
        kb || text.contains("-src]") || text.contains("-doc]")
    }
    fn walk(v: &Value, path: &str, bad: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, x) in map {
                    if k == "findings" || k == "errors" {
                        for (i, item) in x.as_array().into_iter().flatten().enumerate() {
                            for key in ["title", "disproved_by", "next_command", "message", "hint"]
                            {
                                if let Some(t) = item[key].as_str().filter(|t| cites(t)) {
                                    bad.push(format!("{path}.{k}[{i}].{key}: {t}"));
                                }
                            }
                            // the explanation may quote a log line; look at its own words only
                            if let Some(t) = item["explanation"].as_str() {
                                let own = t.split("First seen:").next().unwrap_or(t);
                                let own = own.split("First line:").next().unwrap_or(own);
                                if cites(own) {
                                    bad.push(format!("{path}.{k}[{i}].explanation: {t}"));
                                }
                            }
                            for step in item["remediation"].as_array().into_iter().flatten() {
                                if let Some(t) = step["step"].as_str().filter(|t| cites(t)) {
                                    bad.push(format!("{path}.{k}[{i}].remediation: {t}"));
                                }
                            }
                        }
                    } else {
                        walk(x, &format!("{path}.{k}"), bad);
                    }
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    walk(x, &format!("{path}[{i}]"), bad);
                }
            }
            _ => {}
        }
    }
    let mut bad = Vec::new();
    walk(json, "", &mut bad);
    assert!(
        bad.is_empty(),
        "internal citations a user cannot look up:\n{}",
        bad.join("\n")
    );
}

/// Fail when any finding in `json` cites an evidence id that its report's `evidence` list does not
/// hold (issue 14: a reader must be able to look up every fact a finding rests on).
pub fn assert_no_dangling_evidence(json: &Value) {
    let dangling = dangling_evidence(json);
    assert!(
        dangling.is_empty(),
        "findings cite evidence ids the report does not hold:\n  {}",
        dangling.join("\n  ")
    );
}

/// [`assert_no_dangling_evidence`] for `-o jsonl` output: each `report` line opens a report, and
/// the `finding` and `evidence` lines after it are its findings and items.
pub fn assert_no_dangling_evidence_jsonl(text: &str) {
    let mut reports: Vec<Value> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a jsonl line is not JSON ({e}): {line}"));
        let kind = record["type"].as_str().unwrap_or_default();
        if kind == "report" || reports.is_empty() {
            reports.push(serde_json::json!({
                "subject": record["subject"], "findings": [], "evidence": []
            }));
        }
        let report = reports.last_mut().expect("a report was just pushed");
        if let Some(list) = match kind {
            "finding" => report["findings"].as_array_mut(),
            "evidence" => report["evidence"].as_array_mut(),
            _ => None,
        } {
            list.push(record);
        }
    }
    assert_no_dangling_evidence(&Value::Array(reports));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(cited: &[&str], held: &[&str]) -> Value {
        json!({
            "subject": {"kind": "nginx", "id": "web"},
            "findings": [{"code": "nginx-502", "evidence": cited}],
            "evidence": held.iter().map(|id| json!({"id": id, "source": "s", "fact": "f"})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn a_report_whose_findings_cite_only_held_ids_passes() {
        assert_no_dangling_evidence(&report(&["log.0", "target.1"], &["log.0", "target.1"]));
        assert_no_dangling_evidence(&json!({"findings": [], "evidence": []}));
    }

    #[test]
    #[should_panic(expected = "web: nginx-502 cites target.7")]
    fn a_dangling_id_fails() {
        assert_no_dangling_evidence(&report(&["log.0", "target.7"], &["log.0"]));
    }

    #[test]
    #[should_panic(expected = "web: nginx-502 cites log.0.group.1")]
    fn a_dangling_id_in_jsonl_fails() {
        let lines = [
            json!({"type": "report", "subject": {"kind": "nginx", "id": "web"}}),
            json!({"type": "finding", "code": "nginx-502", "evidence": ["log.0", "log.0.group.1"]}),
            json!({"type": "evidence", "id": "log.0", "source": "s", "fact": "f"}),
        ];
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        assert_no_dangling_evidence_jsonl(&text.join("\n"));
    }

    #[test]
    fn reports_nested_in_audits_and_traces_are_checked() {
        let audit = json!({"subjects": [{"report": report(&["log.0"], &["log.0"])},
                                        {"report": report(&["nsg.x"], &[])}],
                           "rollup": {"findings": [{"code": "nginx-502", "count": 1}]}});
        assert_eq!(dangling_evidence(&audit), ["web: nginx-502 cites nsg.x"]);
        let trace = json!({"probe": report(&[], &[]),
                           "hops": [{"report": report(&["log.0.group.3"], &["log.0"])}]});
        assert_eq!(
            dangling_evidence(&trace),
            ["web: nginx-502 cites log.0.group.3"]
        );
    }
}
