//! `cloud502 nginx` on a real nginx (Debian's package) in front of real broken upstreams: drive
//! requests through nginx, then diagnose its real config and logs. One case per KB 4.7 cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::nginx::Nginx;
use cloud502_e2e::server::{Behaviour, get, response, start, start_unix};
use cloud502_e2e::{closed_port, cloud502, codes, top_code};
use serde_json::Value;

/// `cloud502 nginx --config <nginx's config> -o json`.
fn diagnose(nginx: &Nginx, extra: &[&str]) -> (i32, Value) {
    let config = nginx.config();
    let mut args = vec!["nginx", "--config", config.to_str().unwrap(), "-o", "json"];
    args.extend_from_slice(extra);
    let run = cloud502(&args);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}\n{}",
        run.code,
        run.stderr,
        run.stdout
    );
    (run.code, run.json())
}

/// Send `n` requests through nginx and return the statuses.
fn drive(nginx: &Nginx, n: usize) -> Vec<u16> {
    (0..n).map(|i| get(&nginx.url(&format!("/r{i}")))).collect()
}

fn assert_top(nginx: &Nginx, expected_status: u16, code: &str) -> Value {
    let statuses = drive(nginx, 3);
    assert!(
        statuses.iter().all(|s| *s == expected_status),
        "{code}: statuses {statuses:?}\n{}",
        nginx.error_log()
    );
    let (exit, report) = diagnose(nginx, &[]);
    assert_eq!(exit, 1, "{code}: {report:#}");
    assert_eq!(top_code(&report), code, "{:#}", report["findings"]);
    assert_eq!(report["findings"][0]["layer"], "nginx", "{code}");
    // The finding cites the error.log lines it rests on.
    let evidence: Vec<&str> = report["findings"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        evidence.iter().any(|e| e.starts_with("log.")),
        "{code}: {evidence:?}"
    );
    report
}

#[test]
fn connection_refused() {
    let nginx = Nginx::proxy_to(&format!("http://127.0.0.1:{}", closed_port()));
    let report = assert_top(&nginx, 502, "nginx-upstream-refused");
    // The finding points at the proxy_pass line and the live probe agrees.
    let loc = &report["findings"][0]["locations"][0];
    assert!(loc["file"].as_str().unwrap().ends_with("conf/nginx.conf"));
    assert!(loc["line"].as_u64().unwrap() > 1);
    assert!(
        report["findings"][0]["explanation"]
            .as_str()
            .unwrap()
            .contains("now fails the same way"),
        "{:#}",
        report["findings"][0]
    );
}

#[test]
fn unix_socket_missing() {
    let nginx =
        Nginx::start("location / { proxy_pass http://unix:/nonexistent-cloud502/app.sock:/; }");
    let report = assert_top(&nginx, 502, "nginx-unix-socket-failed");
    assert!(
        report["findings"][0]["title"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{:#}",
        report["findings"][0]
    );
}

#[test]
fn unix_socket_not_permitted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("app.sock");
    start_unix(&socket, Behaviour::Respond(response("200 OK", &[], "ok")));
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o000)).unwrap();
    let nginx = Nginx::start(&format!(
        "location / {{ proxy_pass http://unix:{}:/; }}",
        socket.display()
    ));
    let report = assert_top(&nginx, 502, "nginx-unix-socket-failed");
    assert!(nginx.error_log().contains("(13: Permission denied)"));
    assert!(
        report["findings"][0]["title"]
            .as_str()
            .unwrap()
            .contains("permission denied"),
        "{:#}",
        report["findings"][0]
    );
}

#[test]
fn upstream_closes_before_the_header() {
    let app = start(Behaviour::Close);
    let nginx = Nginx::proxy_to(&format!("http://127.0.0.1:{}", app.port));
    assert_top(&nginx, 502, "nginx-upstream-closed");
    assert!(
        nginx
            .error_log()
            .contains("upstream prematurely closed connection")
    );
}

#[test]
fn connection_reset() {
    let app = start(Behaviour::Reset);
    let nginx = Nginx::proxy_to(&format!("http://127.0.0.1:{}", app.port));
    assert_top(&nginx, 502, "nginx-upstream-closed");
    assert!(nginx.error_log().contains("Connection reset by peer"));
}

#[test]
fn header_too_big_cites_proxy_buffer_size() {
    let huge = "a".repeat(16 * 1024);
    let app = start(Behaviour::Respond(response(
        "200 OK",
        &[("X-Big", &huge)],
        "x",
    )));
    let nginx = Nginx::start(&format!(
        "location / {{\n      proxy_buffer_size 4k;\n      proxy_pass http://127.0.0.1:{};\n    }}",
        app.port
    ));
    let report = assert_top(&nginx, 502, "nginx-header-too-big");
    let title = report["findings"][0]["title"].as_str().unwrap();
    assert!(title.contains("proxy_buffer_size 4k"), "{title}");
    // The proxy_buffer_size line is among the locations.
    let text = std::fs::read_to_string(nginx.config()).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("proxy_buffer_size 4k"))
        .unwrap()
        + 1;
    let lines: Vec<u64> = report["findings"][0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert!(lines.contains(&(line as u64)), "{lines:?} lacks {line}");
}

#[test]
fn invalid_header() {
    let app = start(Behaviour::Respond(
        b"HTTP/1.1 200 OK\r\nX-Bad\x01: y\r\nContent-Length: 1\r\n\r\nx".to_vec(),
    ));
    let nginx = Nginx::proxy_to(&format!("http://127.0.0.1:{}", app.port));
    assert_top(&nginx, 502, "nginx-invalid-header");
}

#[test]
fn no_live_upstreams_after_max_fails() {
    let nginx = Nginx::start_with(
        &format!(
            "upstream app {{\n    server 127.0.0.1:{} max_fails=1 fail_timeout=30s;\n    server 127.0.0.1:{} max_fails=1 fail_timeout=30s;\n  }}",
            closed_port(),
            closed_port()
        ),
        "location / { proxy_pass http://app; }",
    );
    let statuses = drive(&nginx, 5);
    assert!(statuses.iter().all(|s| *s == 502), "{statuses:?}");
    assert!(nginx.error_log().contains("no live upstreams"));
    let (exit, report) = diagnose(&nginx, &[]);
    assert_eq!(exit, 1);
    assert_eq!(
        top_code(&report),
        "nginx-no-live-upstreams",
        "{:#}",
        report["findings"]
    );
    let all = codes(&report);
    assert!(all.contains(&"nginx-max-fails-masking"), "{all:?}");
    assert!(all.contains(&"nginx-upstream-refused"), "{all:?}");
}

#[test]
fn read_timeout_is_a_504() {
    let app = start(Behaviour::Silent);
    let nginx = Nginx::start(&format!(
        "location / {{\n      proxy_read_timeout 1s;\n      proxy_pass http://127.0.0.1:{};\n    }}",
        app.port
    ));
    let statuses: Vec<u16> = (0..2)
        .map(|i| get(&nginx.url(&format!("/slow{i}"))))
        .collect();
    assert_eq!(statuses, vec![504, 504]);
    let (exit, report) = diagnose(&nginx, &["--timeout", "1s"]);
    assert_eq!(exit, 1);
    assert_eq!(
        top_code(&report),
        "nginx-upstream-timeout",
        "{:#}",
        report["findings"]
    );
    let title = report["findings"][0]["title"].as_str().unwrap();
    assert!(title.contains("504, not 502"), "{title}");
}

#[test]
fn https_to_a_plain_http_upstream() {
    let app = start(Behaviour::Greet(response(
        "400 Bad Request",
        &[],
        "plain http",
    )));
    let nginx = Nginx::proxy_to(&format!("https://127.0.0.1:{}", app.port));
    let report = assert_top(&nginx, 502, "nginx-upstream-tls-failed");
    let title = report["findings"][0]["title"].as_str().unwrap();
    assert!(title.contains("plain HTTP"), "{title}");
}

#[test]
fn variable_upstream_without_resolver() {
    let nginx = Nginx::start(
        "location / {\n      set $backend backend.invalid;\n      proxy_pass http://$backend;\n    }",
    );
    let report = assert_top(&nginx, 502, "nginx-dynamic-pass-without-resolver");
    assert_eq!(report["findings"][0]["confidence"], "high");
    assert!(
        nginx
            .error_log()
            .contains("no resolver defined to resolve backend.invalid")
    );
}

#[test]
fn healthy_setup_exits_zero_with_no_warning() {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let nginx = Nginx::proxy_to(&format!("http://127.0.0.1:{}", app.port));
    assert_eq!(drive(&nginx, 3), vec![200, 200, 200]);
    let (exit, report) = diagnose(
        &nginx,
        &[
            "--local",
            "--nginx-bin",
            cloud502_e2e::nginx::binary().to_str().unwrap(),
        ],
    );
    assert_eq!(exit, 0, "{:#}", report["findings"]);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "info"),
        "{:#}",
        report["findings"]
    );
    // Both logs were found through the config and read.
    let dialects: Vec<&str> = report["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["dialect"].as_str().unwrap())
        .collect();
    assert_eq!(dialects, vec!["nginx-error", "nginx-access"]);
    assert_eq!(report["logs"][1]["counts"][0]["key"], "200");
    // The host checks ran: nginx -t passed, the upstream port listens.
    let checks = report["checks"].as_array().unwrap();
    let status = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        status("host.nginx-t").as_deref(),
        Some("pass"),
        "{checks:#?}"
    );
    assert_eq!(
        status(&format!("host.listening.127.0.0.1:{}", app.port)).as_deref(),
        Some("pass"),
        "{checks:#?}"
    );
}

#[test]
fn a_broken_config_fails_nginx_t() {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let nginx = Nginx::proxy_to(&format!("http://127.0.0.1:{}", app.port));
    // Break the running config on disk: the next reload would fail.
    let text = std::fs::read_to_string(nginx.config()).unwrap();
    std::fs::write(nginx.config(), text.replace("proxy_pass", "proxy_passs")).unwrap();
    let (exit, report) = diagnose(
        &nginx,
        &[
            "--local",
            "--no-probe",
            "--nginx-bin",
            cloud502_e2e::nginx::binary().to_str().unwrap(),
        ],
    );
    assert_eq!(exit, 1);
    assert_eq!(
        top_code(&report),
        "nginx-config-test-failed",
        "{:#}",
        report["findings"]
    );
    assert!(
        report["findings"][0]["explanation"]
            .as_str()
            .unwrap()
            .contains("unknown directive \"proxy_passs\""),
        "{:#}",
        report["findings"][0]
    );
}

#[test]
fn sarif_points_at_config_lines() {
    let nginx = Nginx::start(
        "location / {\n      set $backend backend.invalid;\n      proxy_pass http://$backend;\n    }",
    );
    let config = nginx.config();
    let run = cloud502(&[
        "nginx",
        "--config",
        config.to_str().unwrap(),
        "--no-probe",
        "-o",
        "sarif",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif = run.json();
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "nginx-dynamic-pass-without-resolver");
    assert_eq!(result["level"], "error");
    let loc = &result["locations"][0]["physicalLocation"];
    assert!(
        loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("file:///")
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("proxy_pass http://$backend"))
        .unwrap()
        + 1;
    assert_eq!(loc["region"]["startLine"], line as u64);
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"],
        "nginx-dynamic-pass-without-resolver"
    );
}

#[test]
fn a_dump_and_saved_logs_diagnose_offline() {
    let nginx = Nginx::proxy_to(&format!("http://127.0.0.1:{}", closed_port()));
    drive(&nginx, 2);
    let dump = std::process::Command::new(cloud502_e2e::nginx::binary())
        .arg("-T")
        .arg("-p")
        .arg(nginx.dir.path())
        .arg("-e")
        .arg("stderr")
        .arg("-c")
        .arg(nginx.config())
        .output()
        .unwrap();
    let dump_path = nginx.path("nginx-T.txt");
    let mut text = dump.stdout.clone();
    text.extend_from_slice(&dump.stderr);
    std::fs::write(&dump_path, text).unwrap();
    let error_log = nginx.path("logs/error.log");
    let run = cloud502(&[
        "nginx",
        "--dump",
        dump_path.to_str().unwrap(),
        "--error-log",
        error_log.to_str().unwrap(),
        "--no-probe",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(top_code(&report), "nginx-upstream-refused");
    assert_eq!(report["config"]["routes"][0]["kind"], "proxy");
    assert!(report["probes"].as_array().unwrap().is_empty());
}

/// Run `cloud502 ARGS`; kill it and fail if it still runs after `limit` (a blocking read must
/// fail the test, not hang it).
fn bounded(args: &[&str], limit: std::time::Duration) -> cloud502_e2e::Run {
    use std::process::{Command, Stdio};
    let started = std::time::Instant::now();
    let mut child = Command::new(cloud502_e2e::bin())
        .args(args)
        .env_remove("CLOUD502_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cloud502 {args:?} still ran after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    cloud502_e2e::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// The official nginx Docker image links /var/log/nginx/access.log to /dev/stdout and error.log
/// to /dev/stderr; a FIFO (a log shipper's pipe) blocks whoever opens it. Each is a gap naming the
/// file, the run ends at once, and the config is still judged.
#[cfg(unix)]
#[test]
fn logs_linked_to_a_process_output_or_a_pipe_are_gaps_not_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::os::unix::fs::symlink("/dev/stdout", logs.join("access.log")).unwrap();
    std::os::unix::fs::symlink("/dev/stderr", logs.join("error.log")).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(logs.join("shipper.log"))
            .status()
            .unwrap()
            .success()
    );
    let conf = dir.path().join("nginx.conf");
    let l = logs.display();
    std::fs::write(
        &conf,
        format!(
            "error_log {l}/error.log;\nevents {{}}\nhttp {{\n  access_log {l}/access.log;\n  \
             access_log {l}/shipper.log combined;\n  upstream app {{ server 127.0.0.1:9; }}\n  \
             server {{ listen 8080; location / {{ proxy_pass http://app; }} }}\n}}\n"
        ),
    )
    .unwrap();
    let run = bounded(
        &[
            "nginx",
            "--config",
            conf.to_str().unwrap(),
            "--no-probe",
            "-o",
            "json",
        ],
        std::time::Duration::from_secs(10),
    );
    assert_eq!(run.code, 3, "{}\n{}", run.stderr, run.stdout);
    let report = run.json();
    let gaps: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| format!("{}: {}", g["scope"], g["message"]))
        .collect();
    let all = gaps.join("\n");
    assert!(all.contains("access.log is a link to /dev/stdout"), "{all}");
    assert!(all.contains("error.log is a link to /dev/stderr"), "{all}");
    assert!(all.contains("shipper.log is a named pipe (FIFO)"), "{all}");
    assert!(all.contains("docker logs"), "{all}");
    assert_eq!(report["config"]["pools"][0]["name"], "app");
}

/// An audit subject whose logs are a FIFO and /dev/zero: refused by type before any read, so
/// the audit ends at once (well within the subject's deadline) with both named.
#[cfg(unix)]
#[test]
fn an_audit_subject_with_a_fifo_and_dev_zero_as_logs_ends_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("error.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "events {}\nhttp {\n  upstream app { server 127.0.0.1:9; }\n  server { listen 8080; \
         location / { proxy_pass http://app; } }\n}\n",
    )
    .unwrap();
    let audit = dir.path().join("audit.toml");
    std::fs::write(
        &audit,
        format!(
            "[audit]\ndeadline = \"30s\"\n\n[[subject]]\nname = \"web\"\nprovider = \"nginx\"\n\
             config = \"{}\"\nerror_log = [\"{}\"]\naccess_log = [\"/dev/zero\"]\nprobe = false\n",
            conf.display(),
            fifo.display()
        ),
    )
    .unwrap();
    let run = bounded(
        &["audit", "--config", audit.to_str().unwrap(), "-o", "json"],
        std::time::Duration::from_secs(10),
    );
    assert!(run.elapsed < std::time::Duration::from_secs(10));
    assert_eq!(run.code, 3, "partial, not healthy: {}", run.stderr);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("error.fifo is a named pipe (FIFO)"), "{text}");
    assert!(text.contains("/dev/zero is a character device"), "{text}");
}

// ---- keep-alive with real backends (issue 19) ----

/// A real Node.js server (its http module's default `keepAliveTimeout` of 5 s) behind an
/// upstream pool with `keepalive` and nginx's default `keepalive_timeout` of 60 s: Node announces
/// `Keep-Alive: timeout=5` only to a request that keeps the connection, so the upstream probe
/// asks with `Connection: keep-alive`, and `nginx-keepalive-timeout-too-long` names the pool.
#[test]
fn a_node_backends_idle_timeout_is_learned_by_the_keep_alive_probe() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    if Command::new("node").arg("-v").output().is_err() {
        eprintln!("skipped: node is not installed (scripts/setup.sh installs Debian's nodejs)");
        return;
    }
    let port = closed_port();
    let mut node = Command::new("node")
        .arg("-e")
        .arg(format!(
            "require('http').createServer((q, s) => s.end('ok'))\
             .listen({port}, '127.0.0.1', () => console.log('ready'))"
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(node.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    let nginx = Nginx::start_with(
        &format!("upstream app {{ server 127.0.0.1:{port}; keepalive 8; }}"),
        "location / {\n      proxy_pass http://app;\n      proxy_http_version 1.1;\n      \
         proxy_set_header Connection \"\";\n    }",
    );
    assert_eq!(drive(&nginx, 2), vec![200, 200]);
    let (_, report) = diagnose(&nginx, &[]);
    let _ = node.kill();
    let _ = node.wait();
    let probe = &report["probes"][0];
    let keep_alive = probe["http"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "keep-alive")
        .unwrap_or_else(|| panic!("{probe:#}"));
    assert_eq!(keep_alive["value"], "timeout=5");
    assert!(
        codes(&report).contains(&"nginx-keepalive-timeout-too-long"),
        "{:#}",
        report["findings"]
    );
}

/// The keep-alive race, made deterministic: a backend that answers the first request on each
/// connection (keeping it open) and closes the connection when a second one arrives on it, as
/// a backend whose idle timeout fires while nginx sends does. nginx reuses its cached connection
/// for the next POST (not retried: not idempotent) and answers 502 `upstream prematurely closed
/// connection`; the probe reaches the backend; keep-alive is in force: `nginx-keepalive-race`.
#[test]
fn the_keep_alive_race_with_a_real_nginx() {
    use std::io::{Read, Write};
    let backend = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = backend.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in backend.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut served = 0;
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = conn.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    // one request head per read is enough for these bodiless requests
                    if !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        continue;
                    }
                    buf.clear();
                    if served == 1 {
                        return; // the idle timeout fired: close as the request arrives
                    }
                    served += 1;
                    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                }
            });
        }
    });
    let nginx = Nginx::start_with(
        &format!("upstream app {{ server 127.0.0.1:{port}; keepalive 8; }}"),
        "location / {\n      proxy_pass http://app;\n      proxy_http_version 1.1;\n      \
         proxy_set_header Connection \"\";\n    }",
    );
    let post = |path: &str| -> u16 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", nginx.port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut head = String::new();
        let _ = s.read_to_string(&mut head);
        head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
    };
    let statuses: Vec<u16> = (0..6).map(|i| post(&format!("/p{i}"))).collect();
    assert_eq!(
        statuses,
        vec![200, 502, 200, 502, 200, 502],
        "{}",
        nginx.error_log()
    );
    assert!(
        nginx
            .error_log()
            .contains("upstream prematurely closed connection while reading response header"),
        "{}",
        nginx.error_log()
    );
    let (exit, report) = diagnose(&nginx, &[]);
    assert_eq!(exit, 1);
    assert_eq!(
        top_code(&report),
        "nginx-keepalive-race",
        "{:#}",
        report["findings"]
    );
}
