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

// ---- nginx -t changes nothing; the seed guide's host checks (issue 19) ----

/// Every file and directory under `dir`, sorted.
fn tree(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A config in `dir/conf/nginx.conf` whose logs, pid and temp paths are relative to `dir` and
/// whose one route proxies to `upstream` with `proxy_read_timeout 60s`.
fn write_conf(dir: &std::path::Path, upstream: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    // nginx makes the temp directories, not their parent
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let conf = dir.join("conf/nginx.conf");
    let port = cloud502_e2e::closed_port();
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1;\nerror_log logs/error.log;\npid logs/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log logs/access.log;\n  client_body_temp_path tmp/body;\n  \
             proxy_temp_path tmp/proxy;\n  proxy_cache_path cache keys_zone=c:1m;\n  \
             server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      \
             proxy_pass http://{upstream};\n      proxy_read_timeout 60s;\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    conf
}

/// `cloud502 nginx --local --no-probe` on a config: its JSON report.
fn local_report(conf: &std::path::Path) -> serde_json::Value {
    cloud502(&[
        "nginx",
        "--config",
        conf.to_str().unwrap(),
        "--local",
        "--no-probe",
        "--nginx-bin",
        cloud502_e2e::nginx::binary().to_str().unwrap(),
        "-o",
        "json",
    ])
    .json()
}

/// A check's (status, detail).
fn check_of(report: &serde_json::Value, id: &str) -> (String, String) {
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {:#}", report["checks"]));
    (
        c["status"].as_str().unwrap().to_owned(),
        c["detail"].as_str().unwrap().to_owned(),
    )
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|u| u.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap_or(false)
}

/// nginx -t as root would create logs/error.log, logs/access.log, an empty logs/nginx.pid and the
/// cache directory under the prefix (checked with nginx 1.22.1): with --local, none appears.
#[test]
fn nginx_t_creates_nothing_under_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(dir.path(), "127.0.0.1:9");
    let before = tree(dir.path());
    let report = local_report(&conf);
    let (status, detail) = check_of(&report, "host.nginx-t");
    assert_eq!(tree(dir.path()), before, "nginx -t left files: {detail}");
    if is_root() && detail.contains("private mount namespace") {
        assert_eq!(status, "pass", "{detail}");
    } else {
        // not root, or no unshare/overlayfs here: not run, and it says what it would create
        eprintln!("nginx -t was not isolated here: {detail}");
        assert_eq!(status, "skipped", "{detail}");
        assert!(detail.contains("would create"), "{detail}");
    }
    // the same config, run by nginx itself as root, does create them: the check above can fail
    if is_root() {
        let out = Command::new(cloud502_e2e::nginx::binary())
            .args(["-t", "-q", "-e", "stderr", "-p"])
            .arg(format!("{}/", dir.path().display()))
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(dir.path().join("logs/nginx.pid").exists());
        assert!(dir.path().join("cache").is_dir());
    }
}

/// An upstream whose accept queue is full (a listener with backlog 1 that never accepts, three
/// connections pending): `host.backlog` fails and `nginx-listen-backlog-full` names it.
#[test]
fn a_full_listen_backlog_of_an_upstream_is_found() {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(1).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut pending = Vec::new();
    for _ in 0..3 {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        pending.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(dir.path(), &addr.to_string());
    let report = local_report(&conf);
    let (status, detail) = check_of(&report, "host.backlog");
    assert_eq!(status, "fail", "{detail}");
    assert!(
        detail.contains(&format!("{addr} (accept queue 2 of 1")),
        "{detail}"
    );
    assert!(
        cloud502_e2e::codes(&report).contains(&"nginx-listen-backlog-full"),
        "{:#}",
        report["findings"]
    );
    drop(pending);
}

/// A gunicorn stand-in (a Python script named `gunicorn`, so its /proc/PID/cmdline reads as
/// gunicorn's: `python3 DIR/gunicorn --timeout 5 --bind ADDR app:app`) listening on the upstream
/// port: its 5 s is shorter than the route's `proxy_read_timeout 60s`, cited with its line.
#[test]
fn an_app_servers_shorter_timeout_is_found() {
    if Command::new("python3").arg("-V").output().is_err() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("gunicorn");
    std::fs::write(
        &script,
        "import socket, sys, time\nbind = sys.argv[sys.argv.index('--bind') + 1]\n\
         host, port = bind.rsplit(':', 1)\ns = socket.socket()\n\
         s.bind((host, int(port)))\ns.listen(16)\nprint('ready', flush=True)\ntime.sleep(60)\n",
    )
    .unwrap();
    let port = cloud502_e2e::closed_port();
    let bind = format!("127.0.0.1:{port}");
    let mut app = Command::new("python3")
        .arg(&script)
        .args(["--timeout", "5", "--bind", &bind, "app:app"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(app.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    let conf = write_conf(dir.path(), &bind);
    let report = local_report(&conf);
    let _ = app.kill();
    let _ = app.wait();
    let (status, detail) = check_of(&report, &format!("host.app-timeout.{bind}"));
    assert_eq!(status, "fail", "{detail}");
    assert!(
        detail.contains("gunicorn") && detail.contains("after 5 s (--timeout 5)"),
        "{detail}"
    );
    assert!(detail.contains("proxy_read_timeout 60s"), "{detail}");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "nginx-app-timeout-shorter")
        .unwrap_or_else(|| panic!("{:#}", report["findings"]));
    assert_eq!(finding["locations"][0]["line"], 14, "{finding:#}");
}

/// An upstream killed by the kernel's OOM killer: a Python server on the upstream port, in a
/// memory cgroup limited to 32 MiB, allocates until the kernel kills it. `host.oom` names it,
/// and says nothing listens on the upstream any more. Needs root, a writable memory cgroup and
/// a readable kernel log: skipped with the reason otherwise.
#[test]
fn an_oom_killed_upstream_is_found() {
    if !is_root() {
        eprintln!("skipped: creating a memory cgroup needs root");
        return;
    }
    if Command::new("python3").arg("-V").output().is_err() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let name = format!("cloud502-oom-{}", std::process::id());
    // cgroup v2 (memory.max) or v1 (memory.limit_in_bytes)
    let (group, limit_file, procs) =
        if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            let g = std::path::PathBuf::from("/sys/fs/cgroup").join(&name);
            (g.clone(), g.join("memory.max"), g.join("cgroup.procs"))
        } else {
            let g = std::path::PathBuf::from("/sys/fs/cgroup/memory").join(&name);
            (
                g.clone(),
                g.join("memory.limit_in_bytes"),
                g.join("cgroup.procs"),
            )
        };
    if std::fs::create_dir(&group).is_err() || std::fs::write(&limit_file, "33554432").is_err() {
        let _ = std::fs::remove_dir(&group);
        eprintln!("skipped: no writable memory cgroup here");
        return;
    }
    let port = cloud502_e2e::closed_port();
    let bind = format!("127.0.0.1:{port}");
    // joins the cgroup, listens, then allocates 512 MiB in 16 MiB steps
    let code = format!(
        "import os, socket, time\nopen('{}', 'w').write(str(os.getpid()))\n\
         s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(8)\ntime.sleep(0.5)\n\
         hog = []\nfor i in range(32):\n    hog.append(bytearray(16 << 20))\n",
        procs.display()
    );
    let status = Command::new("python3")
        .args(["-c", &code])
        .status()
        .unwrap();
    let _ = std::fs::remove_dir(&group);
    use std::os::unix::process::ExitStatusExt;
    if status.signal() != Some(9) {
        eprintln!("skipped: the memory limit did not get the process killed ({status:?}): swap?");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(dir.path(), &bind);
    let report = local_report(&conf);
    let (status, detail) = check_of(&report, "host.oom");
    if status == "skipped" {
        eprintln!("skipped: {detail}");
        return;
    }
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("python3"), "{detail}");
    assert!(
        detail.contains(&format!("nothing listens now on {bind}")),
        "{detail}"
    );
    assert!(
        cloud502_e2e::codes(&report).contains(&"nginx-oom-killed"),
        "{:#}",
        report["findings"]
    );
}

/// A failed `nginx -T` (written by the real nginx, stdout and stderr in one file) is explained
/// with nginx's own `[emerg]` line; a good dump followed by what a terminal capture adds after it
/// (a prompt, `logout`) is read, its route found.
#[test]
fn failed_and_trailing_nginx_t_captures() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(dir.path(), "127.0.0.1:9");
    let dump = |conf: &std::path::Path| {
        let out = Command::new(cloud502_e2e::nginx::binary())
            .args(["-T", "-q", "-e", "stderr", "-p"])
            .arg(format!("{}/", dir.path().display()))
            .arg("-c")
            .arg(conf)
            .output()
            .unwrap();
        let mut text = out.stdout;
        text.extend(out.stderr);
        String::from_utf8(text).unwrap()
    };
    let good = format!("{}root@web-1:~# exit\nlogout\n", dump(&conf));
    let good_file = dir.path().join("good-T.txt");
    std::fs::write(&good_file, good).unwrap();
    let run = cloud502(&[
        "nginx",
        "--dump",
        good_file.to_str().unwrap(),
        "--no-probe",
        "-o",
        "json",
    ]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.json()["config"]["routes"].as_array().unwrap().len(), 1);
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("proxy_pass ", "proxy_passs ")).unwrap();
    let failed = dump(&conf);
    assert!(!failed.contains("# configuration file"), "{failed}");
    let bad_file = dir.path().join("bad-T.txt");
    std::fs::write(&bad_file, failed).unwrap();
    let run = cloud502(&["nginx", "--dump", bad_file.to_str().unwrap(), "--no-probe"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("is a failed `nginx -T`, not a dump: nginx said")
            && run.stderr.contains("[emerg]")
            && run.stderr.contains("unknown directive \"proxy_passs\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nginx.conf:13"), "{}", run.stderr);
}

/// A real nginx with `worker_connections 4`, held by idle clients: it writes "4
/// worker_connections are not enough" to its error.log, and `host.connections` fails with
/// `nginx-out-of-connections`, citing the worker_connections line.
#[test]
fn worker_connections_running_out_in_a_real_nginx() {
    use std::os::unix::fs::PermissionsExt;
    let app = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = write_conf(dir.path(), &format!("127.0.0.1:{}", app.port));
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replace("worker_connections 64", "worker_connections 4"),
    )
    .unwrap();
    let port: u16 = text
        .split("listen 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap()
        .parse()
        .unwrap();
    let mut child = Command::new(cloud502_e2e::nginx::binary())
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
    let mut held = Vec::new();
    loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            held.push(s);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // each sends a request and waits: nginx needs a connection per client and per upstream
    use std::io::Write;
    for _ in 0..8 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            held.push(s);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let log = std::fs::read_to_string(dir.path().join("logs/error.log")).unwrap_or_default();
    drop(held);
    let report = local_report(&conf);
    let _ = child.kill();
    let _ = child.wait();
    assert!(log.contains("worker_connections are not enough"), "{log}");
    let (status, detail) = check_of(&report, "host.connections");
    assert_eq!(status, "fail", "{detail}");
    assert!(
        detail.contains("worker_connections are not enough"),
        "{detail}"
    );
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "nginx-out-of-connections")
        .unwrap_or_else(|| panic!("{:#}", report["findings"]));
    assert_eq!(finding["locations"][0]["line"], 4, "{finding:#}");
}

/// Not root (the test drops to `nobody` with setpriv), so no private mount namespace: a config
/// whose logs directory is missing is not tested, the check says what nginx -t would create and
/// the command to run, and nothing appears under the prefix. Skipped where the test is not root
/// or setpriv is missing.
#[test]
fn nginx_t_unprivileged_is_not_run_when_it_would_create_files() {
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to drop to nobody");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = write_conf(dir.path(), "127.0.0.1:9");
    std::fs::remove_dir(dir.path().join("logs")).unwrap();
    for d in ["conf", "tmp"] {
        std::fs::set_permissions(dir.path().join(d), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = tree(dir.path());
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(cloud502_e2e::bin())
        .args(["nginx", "--config"])
        .arg(&conf)
        .args(["--local", "--no-probe", "--nginx-bin"])
        .arg(cloud502_e2e::nginx::binary())
        .args(["-o", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let (status, detail) = check_of(&report, "host.nginx-t");
    assert_eq!(tree(dir.path()), before, "{detail}");
    assert_eq!(status, "skipped", "{detail}");
    assert!(
        detail.contains(&format!(
            "would create {}",
            dir.path().join("logs/error.log").display()
        )),
        "{detail}"
    );
    assert!(detail.contains("-c "), "{detail}");
}
