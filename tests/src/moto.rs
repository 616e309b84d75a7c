//! A real `moto_server` (PyPI `moto`) on a loopback port, one per test, and the scenario builder
//! `tests/aws/scenario.py` that fills it through boto3.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python that has moto: $CLOUD502_PYTHON, the project's `.venv` (made by scripts/setup.sh
/// when the machine's Python lacks moto), else `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CLOUD502_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python3");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

/// A running moto_server; killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Holds moto's own request log (werkzeug writes one line per HTTP request on stderr).
    log_dir: tempfile::TempDir,
}

impl Moto {
    /// Start moto_server on a free port and wait until it answers.
    pub fn start() -> Moto {
        let port = crate::closed_port();
        let log_dir = tempfile::tempdir().expect("a directory for moto's log");
        let log = std::fs::File::create(log_dir.path().join("moto.log")).expect("moto's log");
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server with {}: {e}; run `make setup`",
                    python().display()
                )
            });
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at start ({status}): run `make setup` to install moto");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The HTTP requests moto has answered so far, counted in its own request log (one
    /// `"POST / HTTP/1.1" 200 -` line each). Werkzeug writes a line after it answers, so this
    /// waits until the count holds still for 300 ms (at most 10 s).
    pub fn requests(&self) -> usize {
        let path = self.log_dir.path().join("moto.log");
        let count = || {
            std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .filter(|l| {
                    l.split('"').nth(1).is_some_and(|r| {
                        let mut w = r.split(' ');
                        w.next().is_some_and(|m| {
                            !m.is_empty() && m.chars().all(|c| c.is_ascii_uppercase())
                        }) && w.next().is_some()
                            && w.next().is_some_and(|v| v.starts_with("HTTP/"))
                    })
                })
                .count()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let (mut last, mut stable) = (count(), 0);
        while stable < 6 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            let n = count();
            stable = if n == last { stable + 1 } else { 0 };
            last = n;
        }
        last
    }

    /// Build a scenario (`incident`, `sg-blocked`, `empty`, `many --count N`) and return what
    /// scenario.py printed.
    pub fn scenario(&self, name: &str, extra: &[&str]) -> Value {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("aws/scenario.py");
        let out = Command::new(python())
            .arg(&script)
            .arg(&self.endpoint)
            .arg(name)
            .args(extra)
            .output()
            .expect("run scenario.py");
        assert!(
            out.status.success(),
            "scenario {name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("scenario.py prints JSON")
    }

    /// The environment of a `cloud502 aws` run against this moto: its dummy credentials, and no
    /// profile or instance metadata to consult.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Moto {
    /// `cloud502 aws --endpoint-url THIS -o json ARGS` with [`Moto::env`].
    pub fn aws(&self, args: &[&str]) -> crate::Run {
        let mut all = vec!["aws", "--endpoint-url", &self.endpoint, "-o", "json"];
        all.extend_from_slice(args);
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate::cloud502_env(&all, &env)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The finding with this code in a report; panics naming the codes there when none has it.
pub fn finding<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["code"] == code))
        .unwrap_or_else(|| panic!("no {code} in {:?}", crate::codes(report)))
}

/// What the proxy does to the answer of one API action (`Action=NAME` in the query-protocol
/// request body).
#[derive(Debug, Clone)]
pub enum Rewrite {
    /// Replace `from` with `to` in the body moto answered.
    Replace {
        action: &'static str,
        from: String,
        to: String,
    },
    /// Replace the first `from` only (one target of several).
    ReplaceOnce {
        action: &'static str,
        from: String,
        to: String,
    },
    /// Answer with this status and body instead of asking moto (AWS's XML error envelopes).
    Respond {
        action: &'static str,
        status: u16,
        body: String,
    },
}

impl Rewrite {
    fn action(&self) -> &'static str {
        match self {
            Rewrite::Replace { action, .. }
            | Rewrite::ReplaceOnce { action, .. }
            | Rewrite::Respond { action, .. } => action,
        }
    }
}

/// AWS's XML error envelope of the ELB v2 API (query protocol), as the service sends it.
pub fn elb_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>a4a1cf8e-2b1f-4a43-9a32-7e0c6d2ea7a1</RequestId></ErrorResponse>"
    )
}

/// AWS's `Throttling` error envelope of a query-protocol API, as the service sends it when a
/// caller exceeds the request rate (ELBv2 `Describe*` allows about 10 a second per account and
/// region). The shape (Type Sender, Code Throttling, Message "Rate exceeded", RequestId) is the one
/// captured in boto/boto `tests/unit/route53/test_connection.py` (commit
/// 3956942bb52b45d09b2310250cf1a47fc9bfb5ff), with ELBv2's namespace.
pub fn throttling() -> String {
    elb_error("Throttling", "Rate exceeded")
}

/// A loopback HTTP proxy in front of moto that rewrites its answers into states moto cannot
/// produce (`Target.NotInUse`, `Target.Timeout`, `ExpiredToken`, ...). One request a connection
/// to moto (`Connection: close`), the answer relayed with its length fixed. Stops with the test
/// process.
#[derive(Debug)]
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    hits: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, usize>>>,
}

impl Proxy {
    /// How many requests of this query-protocol action reached the proxy (retries included).
    pub fn hits(&self, action: &str) -> usize {
        self.hits
            .lock()
            .map(|h| h.get(action).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// The `Action=` of a query-protocol request body.
fn action_of(body: &str) -> Option<String> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_owned)
}

/// Headers and body of one HTTP message read from `s`; `None` at end of stream.
fn read_message(s: &mut impl std::io::Read) -> Option<(String, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// `head` with its `Content-Length` and `Connection` headers replaced.
fn with_length(head: &str, len: usize, connection: &str) -> String {
    let mut out = String::new();
    for (i, l) in head.trim_end().split("\r\n").enumerate() {
        let name = l.split(':').next().unwrap_or_default();
        if i > 0
            && (name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("connection")
                || name.eq_ignore_ascii_case("transfer-encoding"))
        {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {len}\r\nConnection: {connection}\r\n\r\n"
    ));
    out
}

fn relay(
    mut client: std::net::TcpStream,
    upstream: &str,
    rules: &[Rewrite],
    hits: &std::sync::Mutex<std::collections::BTreeMap<String, usize>>,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    while let Some((head, body)) = read_message(&mut client) {
        let text = String::from_utf8_lossy(&body);
        if let (Some(a), Ok(mut h)) = (action_of(&text), hits.lock()) {
            *h.entry(a).or_default() += 1;
        }
        let rule = |r: &&Rewrite| text.contains(&format!("Action={}&", r.action()));
        let matching: Vec<&Rewrite> = rules.iter().filter(rule).collect();
        let (status_line, resp_head, mut resp_body) =
            if let Some(Rewrite::Respond { status, body, .. }) = matching
                .iter()
                .find(|r| matches!(r, Rewrite::Respond { .. }))
            {
                (
                    format!("HTTP/1.1 {status} Error"),
                    "Content-Type: text/xml\r\n".to_owned(),
                    body.clone().into_bytes(),
                )
            } else {
                let mut up = std::net::TcpStream::connect(upstream)?;
                up.write_all(with_length(&head, body.len(), "close").as_bytes())?;
                up.write_all(&body)?;
                let mut raw = Vec::new();
                up.read_to_end(&mut raw)?;
                let split = raw
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(raw.len(), |p| p + 4);
                let head = String::from_utf8_lossy(&raw[..split]).into_owned();
                let mut lines = head.trim_end().splitn(2, "\r\n");
                let status_line = lines
                    .next()
                    .unwrap_or("HTTP/1.1 502 Bad Gateway")
                    .to_owned();
                let rest = lines.next().unwrap_or_default().to_owned();
                if matching.is_empty() {
                    // Relayed as bytes: an S3 object (a gzipped log) is no text.
                    (status_line, format!("{rest}\r\n"), raw[split..].to_vec())
                } else {
                    let mut text = String::from_utf8_lossy(&raw[split..]).into_owned();
                    for r in &matching {
                        match r {
                            Rewrite::Replace { from, to, .. } => {
                                text = text.replace(from.as_str(), to);
                            }
                            Rewrite::ReplaceOnce { from, to, .. } => {
                                text = text.replacen(from.as_str(), to, 1);
                            }
                            Rewrite::Respond { .. } => {}
                        }
                    }
                    (status_line, format!("{rest}\r\n"), text.into_bytes())
                }
            };
        let out_head = with_length(
            &format!("{status_line}\r\n{resp_head}"),
            resp_body.len(),
            "keep-alive",
        );
        client.write_all(out_head.as_bytes())?;
        client.write_all(&resp_body)?;
        resp_body.clear();
    }
    Ok(())
}

impl Moto {
    /// A proxy in front of this moto applying `rules` to its answers.
    pub fn proxy(&self, rules: Vec<Rewrite>) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let upstream = self.endpoint.trim_start_matches("http://").to_owned();
        let hits = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (upstream, rules, hits) = (upstream.clone(), rules.clone(), counted.clone());
                std::thread::spawn(move || {
                    let _ = relay(conn, &upstream, &rules, &hits);
                });
            }
        });
        Proxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            hits,
        }
    }

    /// [`Moto::aws`] through a proxy.
    pub fn aws_via(&self, proxy: &Proxy, args: &[&str]) -> crate::Run {
        let mut all = vec!["aws", "--endpoint-url", &proxy.endpoint, "-o", "json"];
        all.extend_from_slice(args);
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate::cloud502_env(&all, &env)
    }
}
