//! A real nginx (Debian's package) on loopback, one instance per test, in its own prefix.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; stopped when dropped.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    /// The port nginx listens on.
    pub port: u16,
    /// The prefix directory (conf/, logs/).
    pub dir: tempfile::TempDir,
}

/// The nginx binary, from `$NGINX` or Debian's path.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NGINX") {
        return PathBuf::from(p);
    }
    for p in [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "nginx is not installed: run `make setup` (installs Debian's nginx-light) or set $NGINX"
    );
}

impl Nginx {
    /// Start nginx proxying `location /` to `upstream` (e.g. `http://127.0.0.1:PORT`).
    pub fn proxy_to(upstream: &str) -> Nginx {
        Self::start(&format!("location / {{ proxy_pass {upstream}; }}"))
    }

    /// Start nginx with this `server {}` body (listen is added).
    pub fn start(server_body: &str) -> Nginx {
        Self::start_with("", server_body)
    }

    /// Start nginx with extra `http {}` directives (upstream blocks, ...) and this `server {}`
    /// body. The access log uses the `upstream` log_format, which has every upstream timing.
    pub fn start_with(http_extra: &str, server_body: &str) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        // nginx's workers run as `nobody` when the tests run as root: let them reach sockets here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["conf", "logs", "tmp", "run"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            std::fs::set_permissions(dir.path().join(sub), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        let port = crate::closed_port();
        let p = dir.path().display();
        let conf = format!(
            "worker_processes 1;\nerror_log {p}/logs/error.log;\npid {p}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  log_format upstream '$remote_addr - $remote_user [$time_local] \"$request\" '\n    \
             '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" '\n    \
             'ua=\"$upstream_addr\" us=\"$upstream_status\" uct=\"$upstream_connect_time\" '\n    \
             'uht=\"$upstream_header_time\" urt=\"$upstream_response_time\" rid=$request_id';\n  \
             access_log {p}/logs/access.log upstream;\n  client_body_temp_path {p}/tmp;\n  \
             proxy_temp_path {p}/tmp;\n  fastcgi_temp_path {p}/tmp;\n  uwsgi_temp_path {p}/tmp;\n  \
             scgi_temp_path {p}/tmp;\n  {http_extra}\n  server {{\n    listen 127.0.0.1:{port};\n    {server_body}\n  }}\n}}\n"
        );
        std::fs::write(dir.path().join("conf/nginx.conf"), conf).unwrap();
        let child = Command::new(binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("logs/error.log"))
            .arg("-c")
            .arg(dir.path().join("conf/nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nginx: {e}"));
        let mut nginx = Nginx { child, port, dir };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited with {status}: {}", nginx.error_log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    /// `http://127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// The main config file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("conf/nginx.conf")
    }

    /// A path under the prefix.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("logs/error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
