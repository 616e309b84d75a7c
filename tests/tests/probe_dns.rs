//! A DNS server that never answers cannot keep `cloud502 probe` alive past `--timeout`.
//!
//! The system resolver reads /etc/resolv.conf, so the binary runs under `unshare --mount` with a
//! temporary resolv.conf bind-mounted over it (the real file is never touched), naming a UDP
//! socket on loopback port 53 that reads nothing. The resolver's own timeouts are set long
//! (`timeout:30 attempts:5`), so a process that waited for `getaddrinfo` would live minutes.
//! Needs root (port 53, a mount namespace); skipped with the reason printed otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use cloud502_e2e::bin;
use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant};

/// A UDP socket on some 127.x.y.z:53 that never answers, or why there can be none.
fn silent_nameserver() -> Result<UdpSocket, String> {
    let pid = std::process::id();
    let mut last = String::new();
    for i in 0..20u32 {
        let addr = format!(
            "127.53.{}.{}",
            (pid + i) % 250 + 1,
            (pid / 250 + i) % 250 + 1
        );
        match UdpSocket::bind((addr.as_str(), 53)) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("cannot bind {addr}:53: {e}"),
        }
    }
    Err(last)
}

fn unshare_works() -> Result<(), String> {
    let out = Command::new("unshare")
        .args(["--mount", "true"])
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "unshare --mount is not permitted here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[test]
fn a_dns_server_that_never_answers_ends_the_probe_at_its_deadline() {
    let socket = match unshare_works().and_then(|()| silent_nameserver()) {
        Ok(s) => s,
        Err(why) => {
            eprintln!(
                "SKIPPED a_dns_server_that_never_answers_ends_the_probe_at_its_deadline: {why}"
            );
            return;
        }
    };
    let ns = socket.local_addr().unwrap().ip();
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        format!("nameserver {ns}\noptions timeout:30 attempts:5\n"),
    )
    .unwrap();

    let started = Instant::now();
    let out = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            "mount --bind \"$1\" /etc/resolv.conf && exec \"$2\" probe \
             http://never.example.test/ --timeout 3s -o json",
            "sh",
        ])
        .arg(&resolv)
        .arg(bin())
        .env_remove("CLOUD502_LOG")
        .output()
        .expect("run unshare");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    // The whole process, not only its report, is done well before the resolver would give up.
    assert!(
        elapsed < Duration::from_secs(10),
        "the process lived {elapsed:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        elapsed >= Duration::from_secs(2),
        "the deadline was not waited for ({elapsed:?}): did the resolver answer? {stdout}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    cloud502_e2e::assert_no_dangling_evidence(&report);
    let error = &report["probes"][0]["error"];
    assert_eq!(error["phase"], "dns", "{error}");
    assert_eq!(error["kind"], "timeout", "{error}");
    let message = error["message"].as_str().unwrap();
    assert_eq!(
        message,
        "the DNS resolver gave no answer for never.example.test within the 3s deadline (check \
         the nameservers in /etc/resolv.conf)"
    );
    assert_eq!(report["findings"][0]["code"], "dns-resolution-failed");
    assert!(
        stderr.lines().all(|l| !l.starts_with("error:")),
        "no error line for a finding: {stderr}"
    );
    drop(socket);
}
