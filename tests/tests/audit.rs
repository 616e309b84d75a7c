//! `cloud502 audit` and `cloud502 trace` end to end: the real binary over real nginx instances,
//! a real moto_server behind the real AWS SDK, plain sockets standing in for dead, hung and
//! recovering services, and a local webhook receiver. The metrics textfile is checked with the
//! reference parser (PyPI prometheus-client).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::moto::Moto;
use cloud502_e2e::nginx::Nginx;
use cloud502_e2e::{closed_port, cloud502, cloud502_env, codes, refusing_port, server, top_code};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A secret the environment holds: it must never reach any output.
const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-cloud502-SECRET";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn moto_env(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY");
    env.push(("AWS_SECRET_ACCESS_KEY", SECRET.into()));
    env.push(("CLOUDFLARE_API_TOKEN", SECRET.into()));
    env
}

fn audit(config: &Path, extra: &[&str], env: &[(&'static str, String)]) -> cloud502_e2e::Run {
    let mut args = vec!["audit", "--config", config.to_str().unwrap(), "-o", "json"];
    args.extend_from_slice(extra);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cloud502_env(&args, &env)
}

fn subject<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no subject {name} in the audit"))
}

fn names(report: &Value) -> Vec<String> {
    report["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn nginx_subject(name: &str, nginx: &Nginx) -> String {
    format!(
        "[[subject]]\nname = \"{name}\"\nprovider = \"nginx\"\nconfig = \"{}\"\nprefix = \"{}\"\n\n",
        nginx.config().display(),
        nginx.dir.path().display()
    )
}

/// An HTTP server answering 200 on `port` from now on (a service that came back).
fn serve_ok(listener: TcpListener) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
}

#[test]
fn an_audit_over_real_nginx_and_moto_subjects_reports_each_like_its_own_command() {
    let moto = Moto::start();
    let incident = moto.scenario("incident", &[]);
    let empty = moto.scenario("empty", &[]);
    let (dead, _held) = refusing_port();
    let broken = Nginx::proxy_to(&format!("http://127.0.0.1:{dead}"));
    assert_eq!(server::get(&broken.url("/checkout")), 502);
    let upstream = server::origins::http_ok();
    let healthy = Nginx::proxy_to(&format!("http://127.0.0.1:{}", upstream.port));
    assert_eq!(server::get(&healthy.url("/")), 200);
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "audit.toml",
        &format!(
            "[audit]\nconcurrency = 2\n\n[budget]\naws = 500\n\n[aws]\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n\n\
             [[subject]]\nname = \"orders-tg\"\nprovider = \"aws\"\ntg = \"{}\"\nlog_group = \"/alb/web\"\n\n\
             [[subject]]\nname = \"empty-tg\"\nprovider = \"aws\"\ntg = \"{}\"\n\n{}{}",
            moto.endpoint,
            incident["tg_arn"].as_str().unwrap(),
            empty["tg_arn"].as_str().unwrap(),
            nginx_subject("edge-broken", &broken),
            nginx_subject("edge-ok", &healthy),
        ),
    );
    let env = moto_env(&moto);
    let run = audit(&config, &[], &env);
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    let report = run.json();
    // One report per subject, in the file's order, and the roll-up.
    assert_eq!(
        names(&report),
        ["orders-tg", "empty-tg", "edge-broken", "edge-ok"]
    );
    assert_eq!(report["rollup"]["subjects"], 4);
    assert_eq!(report["rollup"]["exit_code"], 1);
    for s in report["subjects"].as_array().unwrap() {
        assert_eq!(s["report"]["summary"]["inspected"], true, "{}", s["name"]);
    }
    // Each subject's findings are what its own command finds.
    let broken_report = &subject(&report, "edge-broken")["report"];
    assert_eq!(top_code(broken_report), "nginx-upstream-refused");
    assert_eq!(
        subject(&report, "edge-ok")["report"]["summary"]["failing_findings"],
        0
    );
    let alone = cloud502_env(
        &[
            "aws",
            "--tg",
            incident["tg_arn"].as_str().unwrap(),
            "--endpoint-url",
            &moto.endpoint,
            "--log-group",
            "/alb/web",
            "-o",
            "json",
        ],
        &env.iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    )
    .json();
    assert_eq!(
        codes(&subject(&report, "orders-tg")["report"]),
        codes(&alone)
    );
    assert!(!codes(&alone).is_empty());
    assert!(codes(&subject(&report, "empty-tg")["report"]).contains(&"alb-no-registered-targets"));
    // The AWS requests are counted against the budget.
    let requests = &report["rollup"]["requests"][0];
    assert_eq!(requests["provider"], "aws-alb");
    assert_eq!(requests["budget"], 500);
    let sent = requests["sent"].as_u64().unwrap();
    assert!(
        (10..=60).contains(&sent),
        "{sent} requests for two target groups"
    );
    // A progress line per subject on stderr; no secret anywhere.
    assert_eq!(run.stderr.matches("audit: [").count(), 4, "{}", run.stderr);
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
}

#[test]
fn a_spent_budget_stops_requests_and_is_reported_as_a_gap() {
    let moto = Moto::start();
    let s = moto.scenario("many", &["--count", "3"]);
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "[budget]\naws = 8\n\n[aws]\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n\n",
        moto.endpoint
    );
    for (i, arn) in s["tg_arns"].as_array().unwrap().iter().enumerate() {
        text.push_str(&format!(
            "[[subject]]\nname = \"tg{i}\"\nprovider = \"aws\"\ntg = \"{}\"\n\n",
            arn.as_str().unwrap()
        ));
    }
    let config = write(dir.path(), "audit.toml", &text);
    let run = audit(&config, &[], &moto_env(&moto));
    let report = run.json();
    assert_eq!(report["rollup"]["requests"][0]["sent"], 8, "{}", run.stderr);
    let gaps: Vec<&str> = report["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["report"]["errors"].as_array().unwrap())
        .filter_map(|g| g["message"].as_str())
        .collect();
    assert!(
        gaps.iter().any(|m| m.contains("budget of 8 API requests")),
        "{gaps:?}"
    );
    assert!([1, 3, 4].contains(&run.code), "{}", run.code);
    assert_eq!(report["rollup"]["partial"], true);
}

#[test]
fn one_unreachable_and_one_hung_subject_give_exit_3_and_the_others_are_reported() {
    let upstream = server::origins::http_ok();
    let healthy = Nginx::proxy_to(&format!("http://127.0.0.1:{}", upstream.port));
    let (hung_port, _guard) = server::unresponsive_port();
    let silent = server::start(server::Behaviour::Silent);
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "audit.toml",
        &format!(
            "[audit]\ndeadline = \"30s\"\n\n{}\
             [[subject]]\nname = \"tg-unreachable\"\nprovider = \"aws\"\nregion = \"us-east-1\"\n\
             endpoint_url = \"http://127.0.0.1:{}\"\ntimeout = \"3s\"\n\
             tg = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef\"\n\n\
             [[subject]]\nname = \"cf-hung\"\nprovider = \"cloudflare\"\nzone = \"example.com\"\n\
             api_base = \"http://127.0.0.1:{}\"\ntimeout = \"60s\"\ndeadline = \"3s\"\n\n\
             [[subject]]\nname = \"syn-dropped\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:{hung_port}/\"\ntimeout = \"2s\"\nfail_on = \"never\"\n\n",
            nginx_subject("edge-ok", &healthy),
            closed_port(),
            silent.port,
        ),
    );
    let textfile = dir.path().join("cloud502.prom");
    let env = vec![
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("CLOUDFLARE_API_TOKEN", SECRET.to_owned()),
    ];
    let run = audit(
        &config,
        &["--metrics-textfile", textfile.to_str().unwrap()],
        &env,
    );
    let report = run.json();
    // The hung subject is cut at its 3 s deadline (+5 s grace), not its 60 s call timeout, and
    // nothing waits for it.
    assert!(run.elapsed < Duration::from_secs(25), "{:?}", run.elapsed);
    let ok = subject(&report, "edge-ok");
    assert_eq!(ok["report"]["summary"]["inspected"], true);
    let aws = subject(&report, "tg-unreachable");
    assert_eq!(aws["report"]["summary"]["inspected"], false);
    assert_eq!(aws["report"]["errors"][0]["kind"], "unreachable", "{aws}");
    let cf = subject(&report, "cf-hung");
    assert_eq!(cf["report"]["errors"][0]["kind"], "timeout", "{cf}");
    assert!(cf["duration_ms"].as_f64().unwrap() < 15_000.0);
    let probe = subject(&report, "syn-dropped");
    assert_eq!(top_code(&probe["report"]), "connect-timeout");
    assert_eq!(run.code, 3, "stderr:\n{}", run.stderr);
    assert_eq!(report["rollup"]["exit_code"], 3);
    assert_eq!(report["rollup"]["unknown"], 2);
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));

    // The textfile parses with the reference parser, and says which subjects are down.
    let families = prometheus_parse(&textfile);
    for name in [
        "cloud502_findings",
        "cloud502_subject_up",
        "cloud502_subject_failing_findings",
        "cloud502_collection_errors",
        "cloud502_last_run_timestamp_seconds",
        "cloud502_run_duration_seconds",
        "cloud502_run_exit_code",
    ] {
        assert!(families.get(name).is_some(), "no {name} in {families}");
    }
    let up = |subject: &str| -> f64 {
        families["cloud502_subject_up"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["labels"]["subject"] == subject)
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(up("edge-ok"), 1.0);
    assert_eq!(up("tg-unreachable"), 0.0);
    assert_eq!(up("cf-hung"), 0.0);
    assert_eq!(
        families["cloud502_run_exit_code"][0]["value"].as_f64(),
        Some(3.0)
    );
    let errors = families["cloud502_collection_errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|s| s["labels"]["provider"] == "cloudflare" && s["labels"]["kind"] == "timeout"),
        "{errors:?}"
    );
    // Written atomically: no temporary file left beside it.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Parse a textfile with prometheus_client's parser: `{name: [{labels, value}]}`.
fn prometheus_parse(path: &Path) -> Value {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    out[fam.name] = [{"labels": s.labels, "value": s.value} for s in fam.samples]
print(json.dumps(out))
"#;
    let out = std::process::Command::new(cloud502_e2e::moto::python())
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "prometheus_client rejected the textfile (run `make setup`):\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A webhook receiver: records each POST body; answers `statuses` in turn, then 200.
fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            // Read the head, then Content-Length bytes of body.
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if data.len() >= end + 4 + len {
                        seen.lock().unwrap().push(text[end + 4..].to_owned());
                        break;
                    }
                }
            }
            let status = statuses.next().unwrap_or(200);
            let _ = stream.write_all(
                format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    .as_bytes(),
            );
        }
    });
    (
        format!("http://127.0.0.1:{port}/services/T0/B0/{SECRET}"),
        bodies,
    )
}

#[test]
fn the_webhook_fires_once_per_change_of_findings_and_never_leaks_a_secret() {
    // A service that is down now and comes back later.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "audit.toml",
        &format!(
            "[[subject]]\nname = \"api\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:{port}/health\"\n\n\
             [[subject]]\nname = \"other-down\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:{}/\"\n",
            closed_port()
        ),
    );
    // The first delivery fails (HTTP 500): the state is not advanced, so the next run retries.
    let (url, bodies) = receiver(vec![500]);
    let state = dir.path().join("state/webhook.json");
    let env = vec![
        ("CLOUD502_WEBHOOK_URL", url.clone()),
        ("CLOUDFLARE_API_TOKEN", SECRET.to_owned()),
    ];
    let args = ["--state-file", state.to_str().unwrap()];
    let post_count = || bodies.lock().unwrap().len();

    let first = audit(&config, &args, &env);
    assert_eq!(first.code, 1);
    assert_eq!(post_count(), 1);
    assert!(
        first.stderr.contains("answered HTTP 500"),
        "{}",
        first.stderr
    );
    assert!(!state.exists());

    let second = audit(&config, &args, &env);
    assert_eq!(post_count(), 2, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("webhook sent to 127.0.0.1: 2 new, 0 resolved"),
        "{}",
        second.stderr
    );
    let body: Value = serde_json::from_str(&bodies.lock().unwrap()[1]).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("2 new, 0 resolved"), "{text}");
    let blocks = body["blocks"].to_string();
    assert!(
        blocks.contains("`api` critical `connection-refused`"),
        "{blocks}"
    );

    // Same findings: nothing sent.
    let third = audit(&config, &args, &env);
    assert_eq!(post_count(), 2);
    assert!(third.stderr.contains("not sent"), "{}", third.stderr);

    // The service comes back: one message naming what was resolved, then quiet again.
    serve_ok(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let fourth = audit(&config, &args, &env);
    assert_eq!(post_count(), 3, "{}", fourth.stderr);
    let body: Value = serde_json::from_str(&bodies.lock().unwrap()[2]).unwrap();
    assert!(
        body["text"].as_str().unwrap().contains("0 new, 1 resolved"),
        "{body}"
    );
    assert!(body["blocks"].to_string().contains("*Resolved*"));
    audit(&config, &args, &env);
    assert_eq!(post_count(), 3);

    // The URL (a secret) and the environment's secrets appear nowhere.
    for run in [&first, &second, &third, &fourth] {
        for out in [&run.stdout, &run.stderr] {
            assert!(!out.contains(SECRET), "{out}");
        }
    }
    for body in bodies.lock().unwrap().iter() {
        assert!(!body.contains(SECRET), "{body}");
    }
    assert!(!std::fs::read_to_string(&state).unwrap().contains(SECRET));
    // Plain http off loopback is refused before anything runs.
    let bad = audit(
        &config,
        &["--webhook", "http://hooks.example.com/services/XSECRETX"],
        &[],
    );
    assert_eq!(bad.code, 2);
    assert!(!bad.stderr.contains("XSECRETX"), "{}", bad.stderr);
}

#[test]
fn shards_split_the_subjects_so_every_one_runs_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let all: Vec<String> = (0..7).map(|i| format!("svc-{i}")).collect();
    for name in &all {
        text.push_str(&format!(
            "[[subject]]\nname = \"{name}\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:{}/\"\n\n",
            closed_port()
        ));
    }
    let config = write(dir.path(), "audit.toml", &text);
    let mut seen = Vec::new();
    for index in 0..3 {
        let shard = format!("{index}/3");
        // The Indexed Job form: the shard from the environment.
        let run = audit(&config, &[], &[("CLOUD502_SHARD", shard.clone())]);
        let report = run.json();
        assert_eq!(report["shard"]["index"], index);
        assert_eq!(report["shard"]["count"], 3);
        let part = names(&report);
        assert!(!part.is_empty(), "shard {shard} ran nothing");
        seen.extend(part);
    }
    seen.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(seen, expected, "each subject exactly once");
    // --check agrees without a single network call, and a bad shard is a usage error.
    let check = cloud502(&[
        "audit",
        "--config",
        config.to_str().unwrap(),
        "--check",
        "--shard",
        "1/3",
    ]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert_eq!(
        check
            .stdout
            .lines()
            .skip(1)
            .map(|l| l.split('\t').next().unwrap())
            .collect::<Vec<_>>(),
        ["svc-1", "svc-4"]
    );
    let bad = cloud502(&[
        "audit",
        "--config",
        config.to_str().unwrap(),
        "--shard",
        "3/3",
    ]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--shard `3/3`"), "{}", bad.stderr);
}

#[test]
fn every_problem_of_a_bad_audit_file_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "audit.toml",
        "[audit]\nconcurrency = -1\n\n[[subject]]\nname = \"a\"\nprovider = \"aws\"\ntg = \"arn:aws:nope\"\n\n\
         [[subject]]\nname = \"b\"\nprovider = \"nginx\"\nerror_logs = [\"x\"]\n\n[[chain]]\nhost = \"x.example\"\nlayers = [\"c\"]\n",
    );
    let run = cloud502(&["audit", "--config", config.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    let path = config.display().to_string();
    for expect in [
        format!("{path}:2: [audit] concurrency"),
        format!("{path}:4: subject `a`: tg: malformed ARN"),
        format!("{path}:12: subject `b`: unknown field `error_logs`"),
        format!("{path}:16: chain layer `c`"),
    ] {
        assert!(
            run.stderr.contains(&expect),
            "missing {expect:?} in:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("4 problems"), "{}", run.stderr);
    let missing = cloud502(&[
        "audit",
        "--config",
        dir.path().join("nope.toml").to_str().unwrap(),
    ]);
    assert_eq!(missing.code, 2);
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);
}

#[test]
fn trace_follows_the_chain_to_the_nginx_whose_upstream_is_down() {
    // client -> front nginx -> back nginx -> nothing listening.
    let (dead, _held) = refusing_port();
    let back = Nginx::proxy_to(&format!("http://127.0.0.1:{dead}"));
    let front = Nginx::proxy_to(&format!("http://127.0.0.1:{}", back.port));
    // Users have been getting 502s.
    for _ in 0..3 {
        assert_eq!(server::get(&front.url("/checkout")), 502);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "audit.toml",
        &format!(
            "{}{}[[chain]]\nhost = \"127.0.0.1\"\nlayers = [\"front\", \"back\"]\n",
            nginx_subject("front", &front),
            nginx_subject("back", &back)
        ),
    );
    let url = front.url("/checkout");
    let run = cloud502(&[
        "trace",
        &url,
        "--config",
        config.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    let t = run.json();
    assert_eq!(t["status"], 502);
    assert_eq!(t["hops"][0]["name"], "front");
    assert_eq!(t["hops"][0]["role"], "relayed", "{}", t["hops"][0]["code"]);
    assert_eq!(t["hops"][1]["role"], "made");
    assert_eq!(t["verdict"]["hop"], "back");
    assert_eq!(t["verdict"]["layer"], "nginx");
    assert_eq!(
        t["verdict"]["code"],
        "nginx-upstream-refused",
        "back's findings {:?}; its error log:\n{}",
        codes(&t["hops"][1]["report"]),
        back.error_log()
    );
    assert_eq!(t["verdict"]["probe_agrees"], true);
    // Each hop carries its own evidence.
    assert!(
        !t["hops"][1]["report"]["evidence"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let table = cloud502(&[
        "trace",
        &url,
        "--config",
        config.to_str().unwrap(),
        "-o",
        "table",
    ]);
    assert!(
        table.stdout.contains("answer: back (nginx) made the 502"),
        "{}",
        table.stdout
    );
    // A host without a chain: usage error naming the hosts that have one.
    let other = cloud502(&[
        "trace",
        "http://localhost:1/",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(other.code, 2);
    assert!(
        other.stderr.contains("chains are declared for: 127.0.0.1"),
        "{}",
        other.stderr
    );
}

#[test]
fn the_documented_example_audit_file_passes_check() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/scheduling/audit.toml");
    let run = cloud502(&["audit", "--config", path.to_str().unwrap(), "--check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(names, ["checkout-tg", "shop-edge", "agw-prod", "web-nginx"]);
}
