//! `cloud502 nginx --local` tests the config with the prefix the running nginx uses, so relative
//! paths in it resolve as they do for nginx (issue 19): from the `PREFIX/conf/nginx.conf` layout,
//! and from the running master's own `-p` (its command line, found through the config's pid file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::cloud502;
use cloud502_e2e::server::{Behaviour, get, response, start};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// nginx started with `-p PREFIX -c CONF`, a config whose log, pid and temp paths are relative
/// to the prefix (except the pid file when `absolute_pid`).
struct Prefixed {
    child: Child,
    dir: tempfile::TempDir,
    conf: std::path::PathBuf,
    port: u16,
}

impl Drop for Prefixed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prefixed(conf_dir: &str, absolute_pid: bool, upstream: u16) -> Prefixed {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for sub in [conf_dir, "logs", "tmp"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        std::fs::set_permissions(dir.path().join(sub), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let port = cloud502_e2e::closed_port();
    let pid = if absolute_pid {
        format!("{}/logs/nginx.pid", dir.path().display())
    } else {
        "logs/nginx.pid".to_owned()
    };
    let conf = dir.path().join(conf_dir).join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1;\nerror_log logs/error.log;\npid {pid};\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log logs/access.log;\n  client_body_temp_path tmp;\n  \
             proxy_temp_path tmp;\n  fastcgi_temp_path tmp;\n  uwsgi_temp_path tmp;\n  \
             scgi_temp_path tmp;\n  server {{\n    listen 127.0.0.1:{port};\n    \
             location / {{ proxy_pass http://127.0.0.1:{upstream}; }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let child = Command::new(cloud502_e2e::nginx::binary())
        .arg("-p")
        .arg(format!("{}/", dir.path().display()))
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Prefixed {
        child,
        dir,
        conf,
        port,
    }
}

fn nginx_t(n: &Prefixed) -> (String, String) {
    let run = cloud502(&[
        "nginx",
        "--config",
        n.conf.to_str().unwrap(),
        "--local",
        "--no-probe",
        "--nginx-bin",
        cloud502_e2e::nginx::binary().to_str().unwrap(),
        "-o",
        "json",
    ]);
    let report = run.json();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "host.nginx-t")
        .cloned()
        .unwrap_or_default();
    (
        check["status"].as_str().unwrap_or_default().to_owned(),
        format!("{check:#}\n{:#}", report["findings"]),
    )
}

#[test]
fn nginx_t_uses_the_prefix_of_a_conf_layout() {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let n = start_prefixed("conf", false, app.port);
    assert_eq!(get(&format!("http://127.0.0.1:{}/", n.port)), 200);
    let (status, detail) = nginx_t(&n);
    assert_eq!(status, "pass", "{detail}");
    assert!(n.dir.path().join("logs/error.log").exists());
}

#[test]
fn nginx_t_uses_the_running_masters_prefix() {
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    // the config is not in a conf/ folder: only the running master's -p tells the prefix
    let n = start_prefixed("etc", true, app.port);
    assert_eq!(get(&format!("http://127.0.0.1:{}/", n.port)), 200);
    let (status, detail) = nginx_t(&n);
    assert_eq!(status, "pass", "{detail}");
}

/// A config tree copied off its machine: a named include that is missing and a glob that matches
/// nothing here are gaps with their file:line, not a fatal error and not a silent healthy report.
#[test]
fn a_copied_tree_with_missing_includes_is_a_gap_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "events { }\nhttp {\n  include mime.types;\n  include /nonexistent-cloud502/sites-enabled/*;\n}\n",
    )
    .unwrap();
    let run = cloud502(&[
        "nginx",
        "--config",
        conf.to_str().unwrap(),
        "--no-probe",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 3, "{}\n{}", run.stderr, run.stdout);
    let report = run.json();
    let gaps: Vec<(String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["scope"].as_str().unwrap().to_owned(),
                g["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let at = |line: u32| format!("{}:{line}", conf.display());
    assert!(
        gaps.iter()
            .any(|(s, m)| *s == at(3) && m.contains("mime.types, which does not exist")),
        "{gaps:#?}"
    );
    assert!(
        gaps.iter()
            .any(|(s, m)| *s == at(4) && m.contains("matched no file")),
        "{gaps:#?}"
    );
}

/// `--root DIR` reads a copied tree as if DIR were `/`: its absolute includes and log paths resolve
/// under DIR instead of this machine's /etc/nginx and /var/log/nginx.
#[test]
fn root_re_roots_the_absolute_paths_of_a_copied_tree() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/nginx/sites-enabled")).unwrap();
    std::fs::create_dir_all(r.join("var/log/nginx")).unwrap();
    std::fs::write(
        r.join("etc/nginx/nginx.conf"),
        "events { }\nhttp {\n  error_log /var/log/nginx/error.log;\n  include /etc/nginx/sites-enabled/*;\n}\n",
    )
    .unwrap();
    std::fs::write(
        r.join("etc/nginx/sites-enabled/app"),
        "server {\n  listen 80;\n  server_name app.example;\n  location / { proxy_pass http://127.0.0.1:8081; }\n}\n",
    )
    .unwrap();
    std::fs::write(
        r.join("var/log/nginx/error.log"),
        "2026/05/01 12:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: app.example, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:8081/\", host: \"app.example\"\n",
    )
    .unwrap();
    let conf = r.join("etc/nginx/nginx.conf");
    let run = cloud502(&[
        "nginx",
        "--config",
        conf.to_str().unwrap(),
        "--root",
        r.to_str().unwrap(),
        "--no-probe",
        "--since",
        "2026-01-01T00:00:00Z",
        "-o",
        "json",
    ]);
    let report = run.json();
    assert_eq!(run.code, 1, "{}\n{:#}", run.stderr, report["errors"]);
    assert_eq!(report["config"]["routes"].as_array().unwrap().len(), 1);
    assert_eq!(
        report["config"]["routes"][0]["server_names"][0],
        "app.example"
    );
    assert_eq!(
        report["logs"][0]["source"],
        r.join("var/log/nginx/error.log").display().to_string()
    );
    assert_eq!(report["findings"][0]["code"], "nginx-upstream-refused");
    assert_eq!(
        report["findings"][0]["locations"][0]["file"],
        r.join("etc/nginx/sites-enabled/app").display().to_string()
    );
}
