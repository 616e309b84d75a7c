//! Bounded input and readable errors, through the real binary: huge durations are usage errors,
//! files read whole stop at their size cap, include fan-out stops at its count cap, a large
//! audit file checks in linear time, link-local and metadata upstreams are never probed, and AWS
//! transport and credential errors are one readable line, never a `Debug` dump.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::server::{Behaviour, response, start};
use cloud502_e2e::{Run, closed_port, cloud502, cloud502_env_without};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Generous: every run below is refused before any network call, or reads a capped amount.
const QUICK: Duration = Duration::from_secs(20);

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// Exit 2, no panic, one `error:` line containing every needle.
fn assert_usage(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    for n in needles {
        assert!(errors[0].contains(n), "missing {n:?} in {:?}", errors[0]);
    }
    assert!(
        run.elapsed < QUICK,
        "took {:?}: {}",
        run.elapsed,
        run.stderr
    );
}

#[test]
fn huge_timeouts_are_usage_errors_naming_the_flag_and_the_limit() {
    let huge = "18446744073709551615s";
    let cases: Vec<Vec<&str>> = vec![
        vec!["probe", "http://127.0.0.1:9/", "--timeout", huge],
        vec!["nginx", "--dump", "/nonexistent", "--timeout", huge],
        vec!["aws", "--tg", "web", "--timeout", huge],
        vec!["azure", "-g", "rg", "--gw", "gw", "--timeout", huge],
        vec!["cloudflare", "--zone", "example.com", "--timeout", huge],
        vec![
            "cloudflare",
            "--zone",
            "example.com",
            "--origin-timeout",
            huge,
        ],
        vec!["trace", "http://127.0.0.1:9/", "--timeout", huge],
        // Just above the limit is refused too, and exactly the limit is not (below).
        vec!["probe", "http://127.0.0.1:9/", "--timeout", "61m"],
    ];
    for args in cases {
        let flag = args[args.len() - 2];
        let run = cloud502(&args);
        assert_usage(&run, &[flag, "above the limit of 1h", "give 1h or less"]);
    }
    let run = cloud502(&[
        "probe",
        &format!("http://127.0.0.1:{}/", closed_port()),
        "--timeout",
        "1h",
        "-o",
        "json",
    ]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn huge_look_backs_are_usage_errors_for_every_command_with_since() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "error.log", "");
    let log = log.to_str().unwrap();
    let huge = "9999999999h";
    for args in [
        vec!["logs", log, "--since", huge],
        vec!["nginx", "--error-log", log, "--no-probe", "--since", huge],
        vec!["cloudflare", "--zone", "example.com", "--since", huge],
        vec!["aws", "--tg", "web", "--since", huge],
        vec!["azure", "-g", "rg", "--gw", "gw", "--since", huge],
        vec!["logs", log, "--since", "401d"],
    ] {
        let run = cloud502(&args);
        assert_usage(
            &run,
            &["--since", "above the limit of 400d", "400d or less"],
        );
    }
    // 400 days is within the limit.
    let run = cloud502(&["logs", log, "--since", "400d", "-o", "json"]);
    assert_ne!(run.code, 2, "{}", run.stderr);
}

#[test]
fn huge_durations_in_the_audit_file_are_problems_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value, line, limit) in [
        ("deadline", "18446744073709551615s", 4, "1d"),
        ("timeout", "18446744073709551615s", 4, "1h"),
        ("since", "9999999999h", 4, "400d"),
    ] {
        let config = write(
            dir.path(),
            "audit.toml",
            &format!(
                "[[subject]]\nname = \"web\"\nprovider = \"probe\"\n{key} = \"{value}\"\nurl = \"http://127.0.0.1:9/\"\n"
            ),
        );
        let run = cloud502(&["audit", "--check", "--config", config.to_str().unwrap()]);
        let at = format!("{}:{line}: subject `web`: {key}", config.display());
        assert_usage(&run, &[&at, &format!("above the limit of {limit}")]);
        // The same in [audit], for every subject.
        let config = write(
            dir.path(),
            "audit.toml",
            &format!(
                "[audit]\n{key} = \"{value}\"\n\n[[subject]]\nname = \"web\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:9/\"\n"
            ),
        );
        let run = cloud502(&["audit", "--check", "--config", config.to_str().unwrap()]);
        let at = format!("{}:2: {key}", config.display());
        assert_usage(&run, &[&at, &format!("above the limit of {limit}")]);
    }
    let config = write(
        dir.path(),
        "audit.toml",
        "[[subject]]\nname = \"edge\"\nprovider = \"cloudflare\"\nzone = \"example.com\"\norigin_timeout = \"2h\"\n",
    );
    let run = cloud502(&["audit", "--check", "--config", config.to_str().unwrap()]);
    assert_usage(
        &run,
        &[":5: subject `edge`: origin_timeout 2h is above the limit of 1h"],
    );
}

#[test]
fn twenty_thousand_subjects_check_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = String::from("[audit]\nconcurrency = 4\n\n");
    for i in 0..20_000 {
        src.push_str(&format!(
            "[[subject]]\nname = \"s{i}\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:9/{i}\"\n\n"
        ));
    }
    let config = write(dir.path(), "audit.toml", &src);
    let run = cloud502(&["audit", "--check", "--config", config.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "{}: ok, 20000 subject(s), 20000 to run",
            config.display()
        )),
        "{}",
        &run.stdout[..200.min(run.stdout.len())]
    );
    assert_eq!(run.stdout.lines().count(), 20_001);
    // Before: 47 s (a line count from the file's start for every subject).
    assert!(run.elapsed < QUICK, "took {:?}", run.elapsed);

    // One duplicate at the very end: its line is found without rescanning the file.
    src.push_str(
        "[[subject]]\nname = \"s7\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:9/\"\n",
    );
    let config = write(dir.path(), "audit.toml", &src);
    let run = cloud502(&["audit", "--check", "--config", config.to_str().unwrap()]);
    assert_usage(
        &run,
        &[&format!(
            "{}:100004: subject name `s7` is used twice (first at line 39)",
            config.display()
        )],
    );
}

#[test]
fn files_read_whole_stop_at_their_cap() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse: files past their cap that cost no disk.
    let sparse = |name: &str, len: u64| {
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let big = sparse("big.conf", 65 << 20);
    let big = big.as_str();
    let ca = sparse("ca.pem", 2 << 20);
    let limit = "larger than 64 MiB";
    for (args, needles) in [
        (
            vec!["nginx", "--config", big, "--no-probe"],
            vec![big, limit],
        ),
        (
            vec!["nginx", "--dump", big, "--no-probe"],
            vec!["cannot read --dump", big, limit],
        ),
        (vec!["audit", "--check", "--config", big], vec![big, limit]),
        (
            vec!["logs", "--nginx-config", big, "/dev/null"],
            vec![big, limit],
        ),
        (
            vec![
                "probe",
                "https://127.0.0.1:9/",
                "--cacert",
                &ca,
                "--timeout",
                "2s",
            ],
            vec![
                "cannot read --cacert",
                &ca,
                "larger than 1 MiB, the limit of a CA file",
            ],
        ),
    ] {
        let run = cloud502(&args);
        assert_usage(&run, &needles);
    }
    // An endless file is refused (as a device, or at the cap), never read whole.
    for args in [
        vec!["nginx", "--dump", "/dev/zero", "--no-probe"],
        vec!["nginx", "--config", "/dev/zero", "--no-probe"],
        vec!["audit", "--check", "--config", "/dev/zero"],
        vec!["logs", "--nginx-config", "/dev/zero", "/dev/null"],
        vec!["probe", "https://127.0.0.1:9/", "--cacert", "/dev/zero"],
    ] {
        let run = cloud502(&args);
        assert_usage(&run, &["/dev/zero"]);
    }
    // An include of a huge file stops there too, naming it.
    let main = write(
        dir.path(),
        "nginx.conf",
        &format!("events {{}}\nhttp {{ include {big}; }}\n"),
    );
    let run = cloud502(&["nginx", "--config", main.to_str().unwrap(), "--no-probe"]);
    assert_usage(&run, &[big, limit]);
}

#[test]
fn a_config_of_endless_directives_stops_at_the_directive_cap() {
    // 1.8 MB, well under the size cap, but 600,000 directives: parsed whole it took 2 GiB at
    // 16 MiB of them.
    let dir = tempfile::tempdir().unwrap();
    let conf = write(dir.path(), "nginx.conf", &"a;\n".repeat(600_000));
    let run = cloud502(&["nginx", "--config", conf.to_str().unwrap(), "--no-probe"]);
    assert_usage(
        &run,
        &[
            &format!("{}:500001: more than 500000 directives", conf.display()),
            "hint: check that the path names an nginx config",
        ],
    );
}

#[test]
fn a_config_of_twenty_thousand_servers_and_pool_members_is_read_in_linear_time() {
    // Each route looks its settings up through the http level, which holds every server: scanned
    // per lookup, 50,000 servers took more than 5 minutes; a 100,000-member pool, 47 s.
    let dir = tempfile::tempdir().unwrap();
    let n = 20_000;
    let mut conf = String::from("events {}\nhttp {\n  upstream app {\n");
    for i in 0..n {
        conf.push_str(&format!("    server 10.0.{}.{}:80;\n", i / 256, i % 256));
    }
    conf.push_str("  }\n");
    for i in 0..n {
        conf.push_str(&format!(
            "  server {{ listen 80; server_name h{i}.example; location / {{ proxy_pass http://app; }} }}\n"
        ));
    }
    conf.push_str("}\n");
    let conf = write(dir.path(), "nginx.conf", &conf);
    let run = cloud502(&[
        "nginx",
        "--config",
        conf.to_str().unwrap(),
        "--no-probe",
        "-o",
        "json",
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["config"]["routes"].as_array().unwrap().len(), n);
    assert_eq!(
        report["config"]["pools"][0]["members"]
            .as_array()
            .unwrap()
            .len(),
        n
    );
    assert!(
        run.elapsed < Duration::from_secs(60),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn include_fan_out_stops_at_the_file_cap() {
    let dir = tempfile::tempdir().unwrap();
    // A glob over more files than the cap.
    for i in 0..10_001 {
        write(dir.path(), &format!("conf.d/{i:05}.conf"), "");
    }
    let main = write(
        dir.path(),
        "nginx.conf",
        "events {}\nhttp { include conf.d/*.conf; }\n",
    );
    let run = cloud502(&["nginx", "--config", main.to_str().unwrap(), "--no-probe"]);
    assert_usage(
        &run,
        &[
            "includes read more than 10000 files",
            "narrow the include globs",
        ],
    );
    // A dump whose sections include the next one twice, 20 levels down: 2^20 reads of a few
    // bytes each. It stops at the cap instead of parsing a million files.
    let mut dump =
        String::from("nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n");
    dump.push_str(
        "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { include f0.conf; }\n\n",
    );
    for i in 0..20 {
        dump.push_str(&format!(
            "# configuration file /etc/nginx/f{i}.conf:\ninclude f{n}.conf;\ninclude f{n}.conf;\n\n",
            n = i + 1
        ));
    }
    dump.push_str("# configuration file /etc/nginx/f20.conf:\nserver { listen 80; }\n");
    let dump = write(dir.path(), "nginx-T.txt", &dump);
    let run = cloud502(&["nginx", "--dump", dump.to_str().unwrap(), "--no-probe"]);
    assert_usage(&run, &["includes read more than 10000 files"]);
}

#[test]
fn distinct_include_globs_over_a_large_dump_stop_at_their_work_cap() {
    // 100,000 sections and 100,000 distinct globs: matched naively, 10^10 name matches.
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000;
    let mut dump = String::from("# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n");
    for i in 0..n {
        dump.push_str(&format!("include /etc/nginx/x{i}*.conf;\n"));
    }
    dump.push_str("}\n\n");
    for i in 0..n {
        dump.push_str(&format!("# configuration file /etc/nginx/s{i}.conf:\n\n"));
    }
    let dump = write(dir.path(), "nginx-T.txt", &dump);
    let run = cloud502(&["nginx", "--dump", dump.to_str().unwrap(), "--no-probe"]);
    assert_usage(
        &run,
        &[
            "includes name more distinct patterns than can be matched against the dump's 100001 files",
            "/etc/nginx/nginx.conf:",
        ],
    );
}

#[test]
fn link_local_and_metadata_upstreams_of_a_dump_are_never_probed() {
    let dir = tempfile::tempdir().unwrap();
    let ok = start(Behaviour::Respond(response("200 OK", &[], "ok")));
    let dump = write(
        dir.path(),
        "nginx-T.txt",
        &format!(
            "# configuration file /etc/nginx/nginx.conf:\nevents {{}}\nhttp {{\n  upstream app {{\n    \
             server 169.254.169.254:80;\n    server [fd00:ec2::254]:80;\n    server [fe80::1]:8080;\n    \
             server 2852039166:80;\n    \
             server 127.0.0.1:{};\n  }}\n  server {{ listen 80; location / {{ proxy_pass http://app; }} }}\n}}\n",
            ok.port
        ),
    );
    let run = cloud502(&[
        "nginx",
        "--dump",
        dump.to_str().unwrap(),
        "--timeout",
        "2s",
        "-o",
        "json",
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let report = run.json();
    let probed: Vec<String> = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(probed.len(), 1, "{probed:?}");
    // 169.254.169.254 spelled as one decimal number: the resolver reads it, so the check must
    // look at what a name resolves to, not only at literal addresses.
    let note = "note: upstream 2852039166:80 not probed: it resolves to 169.254.169.254";
    assert!(
        run.stderr.contains(note),
        "missing {note:?} in:\n{}",
        run.stderr
    );
    assert!(
        probed[0].contains(&format!("127.0.0.1:{}", ok.port)),
        "{probed:?}"
    );
    for (peer, ip) in [
        ("169.254.169.254:80", "169.254.169.254"),
        ("[fd00:ec2::254]:80", "fd00:ec2::254"),
        ("[fe80::1]:8080", "fe80::1"),
    ] {
        let note = format!(
            "note: upstream {peer} not probed: it is {ip}, and a link-local or cloud metadata"
        );
        assert!(
            run.stderr.contains(&note),
            "missing {note:?} in:\n{}",
            run.stderr
        );
    }
}

/// No AWS credentials anywhere but what `env` gives.
fn aws(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec![
        "aws",
        "--region",
        "us-east-1",
        "--timeout",
        "5s",
        "-o",
        "json",
    ];
    all.extend_from_slice(args);
    let mut env = env.to_vec();
    env.extend([
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
    ]);
    cloud502_env_without(
        &all,
        &env,
        &[
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ENDPOINT_URL",
        ],
    )
}

/// Nothing a person cannot read: no `Debug` of SDK types, no empty hint, no hint twice, and each
/// stderr line one `prefix: message`.
fn assert_readable(run: &Run) {
    let text = format!("{}\n{}", run.stdout, run.stderr);
    for debug in [
        "DispatchFailure(",
        "ConnectorError",
        "HeaderValue",
        "_private",
        "ServiceError {",
        "Some(",
        " { source:",
        "(hint: )",
        "\"hint\": \"\"",
    ] {
        assert!(!text.contains(debug), "{debug:?} in:\n{text}");
    }
    for line in run.stderr.lines() {
        assert!(
            ["error: ", "warning: ", "note: "]
                .iter()
                .any(|p| line.starts_with(p)),
            "{line:?}"
        );
        assert!(line.matches("(hint: ").count() <= 1, "{line:?}");
    }
}

#[test]
fn an_aws_endpoint_on_a_closed_port_is_one_readable_line() {
    let port = closed_port().to_string();
    let endpoint = format!("http://127.0.0.1:{port}");
    let run = aws(
        &["--tg", "web", "--endpoint-url", &endpoint],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
        ],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_readable(&run);
    assert!(
        run.stderr.contains(
            "error: aws-alb: DescribeTargetGroups could not reach the endpoint: Connection refused"
        ),
        "{}",
        run.stderr
    );
    let report = run.json();
    assert_eq!(report["summary"]["inspected"], false);
    let gap = &report["errors"][0];
    assert!(
        gap["message"]
            .as_str()
            .unwrap()
            .ends_with("could not reach the endpoint: Connection refused (os error 111)"),
        "{gap}"
    );
    assert!(
        gap["hint"].as_str().unwrap().contains("--endpoint-url"),
        "{gap}"
    );
}

#[test]
fn a_refused_instance_metadata_service_is_one_readable_line() {
    // What a sandbox's egress proxy answered for 169.254.169.254: a 403 with a body, whose
    // headers and body the SDK's error Debug used to print.
    let imds = start(Behaviour::Respond(response(
        "403 Forbidden",
        &[("Server", "keryx"), ("Content-Type", "text/plain")],
        "resolve_deny: denied destination",
    )));
    let endpoint = format!("http://127.0.0.1:{}", imds.port);
    let run = aws(
        &["--tg", "web"],
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_readable(&run);
    assert!(
        run.stderr.contains(
            "error: aws-alb: AWS credentials could not be loaded: an error occurred while \
             loading credentials: failed to load IMDS session token: service error: request \
             forbidden"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

/// `cloud502 cloudflare` against the local API v4 server, with these extra flags.
fn cloudflare_origins(extra: &[&str]) -> Run {
    use cloud502_e2e::cfapi::{self, DnsRecord, Scenario};
    let api = cfapi::start(Scenario {
        ssl: "flexible".into(),
        dns: vec![DnsRecord::new("www.example.com", "A", "127.0.0.1", true)],
        total_requests: 10,
        ..Scenario::default()
    });
    let base = api.base();
    let mut args = vec![
        "cloudflare",
        "--zone",
        "example.com",
        "--host",
        "www.example.com",
        "--api-base",
        &base,
        "--timeout",
        "5s",
        "--origin-timeout",
        "1s",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    cloud502_e2e::cloud502_env(&args, &[("CLOUDFLARE_API_TOKEN", cfapi::TOKEN)])
}

#[test]
fn cloudflare_origins_in_ipv6_spellings_of_private_addresses_need_allow_private() {
    // (as given, as printed): a v4-compatible address prints in hex.
    let private = [
        ("::127.0.0.1", "::7f00:1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("64:ff9b::10.0.0.1", "64:ff9b::a00:1"),
        ("fec0::1", "fec0::1"),
    ];
    let mut args = Vec::new();
    for (o, _) in private {
        args.extend(["--origin", o]);
    }
    let run = cloudflare_origins(&args);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["probes"], serde_json::json!([]), "{}", run.stderr);
    for (_, o) in private {
        let note = format!("origin {o} (from --origin) not checked: a loopback or private address");
        assert!(
            run.stderr.contains(&note),
            "missing {note:?} in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn cloudflare_never_checks_metadata_origins_even_with_allow_private() {
    let forbidden = [
        "169.254.169.254",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "fe80::1",
    ];
    let mut args = vec!["--allow-private"];
    for o in forbidden {
        args.extend(["--origin", o]);
    }
    let run = cloudflare_origins(&args);
    let report = run.json();
    assert_eq!(report["probes"], serde_json::json!([]), "{}", run.stderr);
    for o in forbidden {
        let note = format!(
            "origin {o} (from --origin) not checked: a link-local or cloud metadata address is never probed"
        );
        assert!(
            run.stderr.contains(&note),
            "missing {note:?} in:\n{}",
            run.stderr
        );
    }
}
