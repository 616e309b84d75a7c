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
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

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
