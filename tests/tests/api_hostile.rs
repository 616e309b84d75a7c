//! `cloud502 azure` and `cloud502 cloudflare` against hostile API servers (tests/src/arm.rs,
//! tests/src/cfapi.rs), through the real binary: servers that quote the token back in error
//! bodies and headers (no output format, log level or written file may hold it), bodies that
//! never end (the run ends in time with bounded memory), and long-running-operation poll URLs or
//! redirects to another host (the token is never sent there).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use cloud502_e2e::arm::{self, Arm, GW, Health, RG, Recorder, SUB, WORKSPACE};
use cloud502_e2e::cfapi::{self, CfServer, DnsRecord, Scenario};
use cloud502_e2e::{Run, bin};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cloud502_e2e::OUTPUT_FORMATS as FORMATS;

/// Cloudflare's token variables, removed beside the Azure ones (`arm::AZURE_ENV`).
const CLOUDFLARE_ENV: &[&str] = &["CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"];

/// One run of the binary, with the files it wrote and its peak memory.
struct Traced {
    run: Run,
    /// Peak resident set (VmHWM) seen while it ran, in KiB.
    peak_kib: u64,
    /// Every file under the run's working and home directory, with its contents.
    files: Vec<(PathBuf, Vec<u8>)>,
}

/// Run `cloud502 ARGS` in a fresh directory that is also its HOME and XDG dirs (so any file it
/// writes lands there), sampling its peak memory from /proc while it runs.
fn traced(args: &[&str], env: &[(&str, &str)]) -> Traced {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir.path())
        .env_remove("NO_COLOR")
        .env_remove("CLOUD502_LOG")
        .env("HOME", dir.path())
        .env("XDG_CACHE_HOME", dir.path().join(".cache"))
        .env("XDG_STATE_HOME", dir.path().join(".state"))
        .env("XDG_CONFIG_HOME", dir.path().join(".config"))
        .env("TMPDIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in cloud502_e2e::arm::AZURE_ENV.iter().chain(CLOUDFLARE_ENV) {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // Drain the pipes on threads so a large output cannot block the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).unwrap();
        s
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| vm_hwm_kib(&s))
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "cloud502 {args:?} still running after 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
        elapsed: started.elapsed(),
    };
    let mut files = Vec::new();
    collect_files(dir.path(), &mut files);
    Traced {
        run,
        peak_kib,
        files,
    }
}

/// Print the figures a reader of the test log wants (time, peak memory).
fn figures(what: &str, t: &Traced) {
    eprintln!(
        "{what}: exit {} in {:.1} s, peak RSS {} MiB",
        t.run.code,
        t.run.elapsed.as_secs_f64(),
        t.peak_kib / 1024
    );
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn collect_files(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
}

/// Fail when `secret` is in stdout, stderr or any written file of `t`.
fn assert_nowhere(t: &Traced, secret: &str, what: &str) {
    let r = &t.run;
    assert!(
        !r.stdout.contains(secret),
        "{what}: the token is in stdout:\n{}",
        r.stdout
    );
    assert!(
        !r.stderr.contains(secret),
        "{what}: the token is in stderr:\n{}",
        r.stderr
    );
    for (path, bytes) in &t.files {
        assert!(
            !String::from_utf8_lossy(bytes).contains(secret),
            "{what}: the token is in the written file {}",
            path.display()
        );
    }
}

/// The runs each secret test makes: every format, then `-vv` and `CLOUD502_LOG=trace` (json).
fn every_output(base: &[&str], env: &[(&str, &str)], secret: &str, check: impl Fn(&str, &Traced)) {
    type Variant<'a> = (String, Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let mut variants: Vec<Variant<'_>> = FORMATS
        .iter()
        .map(|f| (format!("-o {f}"), vec!["-o", *f], Vec::new()))
        .collect();
    variants.push(("-vv".into(), vec!["-o", "json", "-vv"], Vec::new()));
    variants.push((
        "CLOUD502_LOG=trace".into(),
        vec!["-o", "json"],
        vec![("CLOUD502_LOG", "trace")],
    ));
    for (what, extra, more_env) in variants {
        let mut args = base.to_vec();
        args.extend(extra);
        let mut env = env.to_vec();
        env.extend(more_env);
        let t = traced(&args, &env);
        assert_nowhere(&t, secret, &what);
        check(&what, &t);
    }
}

// ---------------------------------------------------------------------------------------------
// Azure

/// A fake `az` printing `token`, in its own directory (it holds the token; the run's does not).
struct Az {
    _dir: tempfile::TempDir,
    path: String,
}

fn az(token: &str) -> Az {
    let dir = tempfile::tempdir().unwrap();
    let bin = arm::fake_az(dir.path(), token);
    Az {
        path: format!("{}:/usr/bin:/bin", bin.display()),
        _dir: dir,
    }
}

fn azure_args(arm: &Arm, extra: &[&'static str]) -> Vec<String> {
    let url = arm.url();
    let mut args: Vec<String> = [
        "azure",
        "-g",
        RG,
        "--gw",
        GW,
        "--subscription",
        SUB,
        "--auth",
        "cli",
        "--arm-endpoint",
        &url,
        "--logs-endpoint",
        &url,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn gaps(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| g["message"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn an_azure_token_quoted_back_in_errors_and_headers_reaches_no_output() {
    let mut s = arm::incident();
    s.echo = true;
    // Two calls fail with the token quoted in ARM's error envelope: backend health (403) and a
    // Log Analytics query on a workspace the server does not know (404).
    s.health = Health::Forbidden;
    let arm = Arm::start(s);
    let az = az(arm::TOKEN);
    let args = azure_args(
        &arm,
        &["--workspace", "7f3c9a10-0000-4000-8000-0000000000ff"],
    );
    every_output(
        &strs(&args),
        &[("PATH", &az.path)],
        arm::TOKEN,
        |what, t| {
            assert!(
                matches!(t.run.code, 1 | 3),
                "{what}: exit {}\n{}",
                t.run.code,
                t.run.stderr
            );
            if what == "-o json" {
                // The quoted token was there, and was masked (not dropped with its message).
                let report = t.run.json();
                let g = gaps(&report);
                assert!(
                    g.iter().any(|m| m.contains("WorkspaceNotFoundError")
                        && m.contains("Authorization: Bearer <redacted>' (token <redacted>)")),
                    "{g:?}"
                );
            }
        },
    );
    // Every request carried the token: the server did see it, and quoted it back.
    let seen = arm.requests();
    assert!(
        !seen.is_empty() && seen.iter().all(|r| r.authorized),
        "{seen:?}"
    );
}

#[test]
fn a_rejected_azure_token_quoted_back_stays_out_of_the_error_line() {
    let sentinel = "sentinel-azure-token-7f0c9d2e";
    let mut s = arm::incident();
    s.echo = true;
    let arm = Arm::start(s);
    let az = az(sentinel);
    let args = azure_args(&arm, &[]);
    every_output(&strs(&args), &[("PATH", &az.path)], sentinel, |what, t| {
        assert_eq!(t.run.code, 4, "{what}: {}", t.run.stderr);
        assert!(
            t.run.stderr.contains("ARM rejected the token") && t.run.stderr.contains("<redacted>"),
            "{what}: {}",
            t.run.stderr
        );
    });
    assert!(arm.requests().iter().all(|r| !r.authorized));
}

#[test]
fn an_endless_azure_body_is_cut_and_memory_stays_bounded() {
    let mut s = arm::incident();
    s.endless = Some("/subnets/");
    let arm = Arm::start(s);
    let az = az(arm::TOKEN);
    let args = azure_args(&arm, &["--timeout", "20s", "-o", "json"]);
    let t = traced(&strs(&args), &[("PATH", &az.path)]);
    figures("azure, endless subnet body", &t);
    assert!(matches!(t.run.code, 1 | 3), "{}", t.run.stderr);
    assert!(
        t.run.elapsed < Duration::from_secs(40),
        "{:?}",
        t.run.elapsed
    );
    assert!(
        t.peak_kib < 400 * 1024,
        "peak RSS {} MiB",
        t.peak_kib / 1024
    );
    assert!(t.peak_kib > 0, "VmHWM was never sampled");
    let g = gaps(&t.run.json());
    assert!(
        g.iter()
            .any(|m| m.contains("response body larger than 32 MiB") || m.contains("no answer")),
        "{g:?}"
    );
}

#[test]
fn an_endless_azure_body_on_the_first_call_is_one_error_line() {
    let mut s = arm::incident();
    s.endless = Some("/applicationGateways/");
    let arm = Arm::start(s);
    let az = az(arm::TOKEN);
    let args = azure_args(&arm, &["--timeout", "20s", "-o", "json"]);
    let t = traced(&strs(&args), &[("PATH", &az.path)]);
    figures("azure, endless gateway body", &t);
    assert_eq!(t.run.code, 4, "{}", t.run.stderr);
    assert!(
        t.peak_kib < 400 * 1024,
        "peak RSS {} MiB",
        t.peak_kib / 1024
    );
    // Said once, on one line, and in the report.
    let lines: Vec<&str> = t
        .run
        .stderr
        .lines()
        .filter(|l| l.contains("response body larger than 32 MiB"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", t.run.stderr);
    let g = gaps(&t.run.json());
    assert!(
        g.iter()
            .any(|m| m.contains("response body larger than 32 MiB")),
        "{g:?}"
    );
}

#[test]
fn a_long_running_operation_polled_on_another_host_gets_no_token() {
    let elsewhere = Recorder::start("127.0.0.2");
    let mut s = arm::incident();
    s.health = Health::AsyncOperation {
        polls: 0,
        body: arm::health(),
    };
    s.poll_origin = Some(elsewhere.origin.clone());
    let arm = Arm::start(s);
    let az = az(arm::TOKEN);
    let args = azure_args(&arm, &["--timeout", "20s", "-o", "json"]);
    let t = traced(&strs(&args), &[("PATH", &az.path)]);
    assert!(matches!(t.run.code, 1 | 3), "{}", t.run.stderr);
    assert_eq!(
        elsewhere.requests(),
        Vec::new(),
        "the other host was called"
    );
    let report = t.run.json();
    let g = gaps(&report);
    let refusal = g
        .iter()
        .find(|m| m.contains("another host"))
        .unwrap_or_else(|| panic!("no refusal gap in {g:?}"));
    assert!(refusal.contains(&elsewhere.origin), "{refusal}");
    // One line, naming the host without the operation's path or query.
    assert!(!refusal.contains('\n'), "{refusal}");
    assert!(
        !refusal.contains("/operations") && !refusal.contains("api-version"),
        "{refusal}"
    );
    // The gateway's own reads still ran on the configured endpoint.
    assert!(
        arm.requests()
            .iter()
            .any(|r| r.path.contains("backendhealth"))
    );
}

#[test]
fn a_long_running_operation_on_another_port_of_the_same_host_gets_no_token() {
    let elsewhere = Recorder::start("127.0.0.1");
    let mut s = arm::incident();
    s.health = Health::Lro {
        polls: 0,
        body: arm::health(),
    };
    s.poll_origin = Some(elsewhere.origin.clone());
    let arm = Arm::start(s);
    let az = az(arm::TOKEN);
    let args = azure_args(&arm, &["--timeout", "20s", "-o", "json"]);
    let t = traced(&strs(&args), &[("PATH", &az.path)]);
    assert!(matches!(t.run.code, 1 | 3), "{}", t.run.stderr);
    assert_eq!(elsewhere.requests(), Vec::new());
    let g = gaps(&t.run.json());
    assert!(
        g.iter()
            .any(|m| m.contains("another host") && m.contains(&elsewhere.origin)),
        "{g:?}"
    );
}

#[test]
fn an_azure_redirect_is_not_followed() {
    let elsewhere = Recorder::start("127.0.0.2");
    let mut s = arm::incident();
    s.redirect = Some(format!("{}/steal?x=1", elsewhere.origin));
    let arm = Arm::start(s);
    let az = az(arm::TOKEN);
    let args = azure_args(&arm, &["-o", "json"]);
    let t = traced(&strs(&args), &[("PATH", &az.path)]);
    assert_eq!(t.run.code, 4, "{}", t.run.stderr);
    assert_eq!(elsewhere.requests(), Vec::new());
    assert!(
        t.run.stderr.contains(&format!(
            "HTTP 302 redirect to {}: not followed",
            elsewhere.origin
        )),
        "{}",
        t.run.stderr
    );
    assert!(!t.run.stderr.contains("/steal"), "{}", t.run.stderr);
    // ... with the fix, not only the refusal
    assert!(
        t.run
            .stderr
            .contains("(hint: the token is sent only to --arm-endpoint / --logs-endpoint"),
        "{}",
        t.run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Cloudflare

fn cf_args(api: &CfServer, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "cloudflare",
        "--zone",
        "example.com",
        "--host",
        "www.example.com",
        "--api-base",
        &api.base(),
        "--timeout",
        "20s",
        "--origin-timeout",
        "1s",
        "--no-origin-check",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

#[test]
fn a_cloudflare_token_quoted_back_in_errors_and_headers_reaches_no_output() {
    let api = cfapi::start(Scenario {
        echo: true,
        // Pool health, health checks and analytics fail with the token in their messages.
        forbid: vec!["/healthchecks", "/load_balancers"],
        graphql_error: Some("zone analytics not available".into()),
        dns: vec![DnsRecord::new("www.example.com", "A", "203.0.113.10", true)],
        ..Scenario::default()
    });
    let args = cf_args(&api, &[]);
    every_output(
        &strs(&args),
        &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)],
        cfapi::TOKEN,
        |what, t| {
            assert!(
                matches!(t.run.code, 1 | 3),
                "{what}: exit {}\n{}",
                t.run.code,
                t.run.stderr
            );
            if what == "-o json" {
                let g = gaps(&t.run.json());
                assert!(
                    g.iter()
                        .any(|m| m.contains("Authorization: Bearer <redacted>', token <redacted>")),
                    "{g:?}"
                );
            }
        },
    );
    let seen = api.requests();
    assert!(!seen.is_empty() && seen.iter().all(|r| r.authorized));
}

#[test]
fn a_rejected_cloudflare_token_quoted_back_stays_out_of_the_error_line() {
    let sentinel = "sentinel-cf-token-3c1e99aa0b";
    let api = cfapi::start(Scenario {
        echo: true,
        ..Scenario::default()
    });
    let args = cf_args(&api, &[]);
    every_output(
        &strs(&args),
        &[("CLOUDFLARE_API_TOKEN", sentinel)],
        sentinel,
        |what, t| {
            assert_eq!(t.run.code, 4, "{what}: {}", t.run.stderr);
            assert!(
                t.run.stderr.contains("<redacted>"),
                "{what}: {}",
                t.run.stderr
            );
        },
    );
}

#[test]
fn an_endless_cloudflare_body_is_cut_and_memory_stays_bounded() {
    let api = cfapi::start(Scenario {
        endless: Some("/dns_records"),
        ..Scenario::default()
    });
    let args = cf_args(&api, &["-o", "json"]);
    let t = traced(&strs(&args), &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)]);
    figures("cloudflare, endless dns_records body", &t);
    assert!(matches!(t.run.code, 1 | 3), "{}", t.run.stderr);
    assert!(
        t.run.elapsed < Duration::from_secs(40),
        "{:?}",
        t.run.elapsed
    );
    assert!(
        t.peak_kib > 0 && t.peak_kib < 400 * 1024,
        "peak RSS {} MiB",
        t.peak_kib / 1024
    );
    let g = gaps(&t.run.json());
    assert!(
        g.iter()
            .any(|m| m.contains("response body larger than 32 MiB") || m.contains("no answer")),
        "{g:?}"
    );
}

#[test]
fn a_cloudflare_redirect_is_not_followed() {
    let elsewhere = Recorder::start("127.0.0.2");
    let api = cfapi::start(Scenario {
        redirect: Some(format!(
            "{}/client/v4/zones?name=example.com",
            elsewhere.origin
        )),
        ..Scenario::default()
    });
    let args = cf_args(&api, &["-o", "json"]);
    let t = traced(&strs(&args), &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)]);
    assert_eq!(t.run.code, 4, "{}", t.run.stderr);
    assert_eq!(elsewhere.requests(), Vec::new());
    assert!(
        t.run.stderr.contains(&format!(
            "HTTP 302 redirect to {}: not followed",
            elsewhere.origin
        )),
        "{}",
        t.run.stderr
    );
}

#[test]
fn the_workspace_constant_is_the_one_the_server_knows() {
    // The echo test above relies on an unknown workspace answering 404: keep the two apart.
    assert_ne!(WORKSPACE, "7f3c9a10-0000-4000-8000-0000000000ff");
}

#[test]
fn a_retry_after_too_large_for_the_clock_fails_fast_without_a_panic() {
    let mut s = arm::incident();
    s.throttle = Some((1, u64::MAX));
    let arm = Arm::start(s);
    let az = az(arm::TOKEN);
    let args = azure_args(&arm, &["--timeout", "10s", "-o", "json"]);
    let t = traced(&strs(&args), &[("PATH", &az.path)]);
    assert_eq!(t.run.code, 4, "{}", t.run.stderr);
    assert!(
        t.run.elapsed < Duration::from_secs(10),
        "{:?}",
        t.run.elapsed
    );
    assert!(!t.run.stderr.contains("panicked"), "{}", t.run.stderr);
    let g = gaps(&t.run.json());
    assert!(
        g.iter()
            .any(|m| m.contains("HTTP 429") && m.contains("retry after")),
        "{g:?}"
    );
}

#[test]
fn an_audit_of_echoing_azure_and_cloudflare_apis_writes_no_token_anywhere() {
    let mut s = arm::incident();
    s.echo = true;
    s.health = Health::Forbidden;
    let arm = Arm::start(s);
    let cf = cfapi::start(Scenario {
        echo: true,
        forbid: vec!["/healthchecks", "/load_balancers"],
        graphql_error: Some("zone analytics not available".into()),
        ..Scenario::default()
    });
    let az = az(arm::TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("audit.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\ndeadline = \"30s\"\n\n\
             [[subject]]\nname = \"agw\"\nprovider = \"azure\"\nresource_group = \"{RG}\"\n\
             gateway = \"{GW}\"\nsubscription = \"{SUB}\"\nauth = \"cli\"\n\
             workspace = \"7f3c9a10-0000-4000-8000-0000000000ff\"\n\
             arm_endpoint = \"{arm}\"\nlogs_endpoint = \"{arm}\"\n\n\
             [[subject]]\nname = \"cf\"\nprovider = \"cloudflare\"\nzone = \"example.com\"\n\
             api_base = \"{cf}\"\norigin_check = false\n",
            arm = arm.url(),
            cf = cf.base(),
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let env = [
        ("PATH", az.path.as_str()),
        ("CLOUDFLARE_API_TOKEN", cfapi::TOKEN),
    ];
    for format in FORMATS {
        let args = [
            "audit",
            "--config",
            &config,
            "--metrics-textfile",
            "cloud502.prom",
            "-o",
            format,
        ];
        let t = traced(&args, &env);
        assert!(
            t.files.iter().any(|(p, _)| p.ends_with("cloud502.prom")),
            "-o {format}: no textfile written\n{}",
            t.run.stderr
        );
        for secret in [arm::TOKEN, cfapi::TOKEN] {
            assert_nowhere(&t, secret, &format!("audit -o {format}"));
        }
        if *format == "json" {
            // Both subjects ran and their quoted tokens were masked, not dropped.
            assert!(
                t.run.stdout.matches("Bearer <redacted>").count() >= 2,
                "{}\n{}",
                t.run.stdout,
                t.run.stderr
            );
        }
    }
    // Both servers were asked with their token, and quoted it back.
    assert!(arm.requests().iter().any(|r| r.authorized));
    assert!(cf.requests().iter().any(|r| r.authorized));
}
