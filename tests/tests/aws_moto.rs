//! `cloud502 aws` against a real moto_server: the real AWS SDK over loopback (endpoint override),
//! scenarios built with boto3 (tests/aws/scenario.py). States moto cannot produce are covered by
//! providers/aws/tests/mocked.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::moto::Moto;
use cloud502_e2e::{cloud502_env, cloud502_env_without, codes, server, top_code};
use serde_json::Value;

fn aws(moto: &Moto, args: &[&str]) -> cloud502_e2e::Run {
    moto.aws(args)
}

fn find<'a>(report: &'a Value, code: &str) -> &'a Value {
    cloud502_e2e::moto::finding(report, code)
}

#[test]
fn the_incident_target_group_is_diagnosed_from_health_logs_metrics_and_security_groups() {
    let moto = Moto::start();
    let s = moto.scenario("incident", &[]);
    let tg = s["tg_arn"].as_str().unwrap();
    let run = aws(&moto, &["--tg", tg, "--log-group", "/alb/web"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["subject"]["kind"], "aws-alb");
    assert_eq!(r["errors"], serde_json::json!([]), "no gaps expected");
    // Target health: two running instances healthy, the stopped one unused with its reason.
    let targets = r["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    let stopped = s["instances"][2].as_str().unwrap();
    let t = targets.iter().find(|t| t["id"] == stopped).unwrap();
    assert_eq!(t["health"], "unused");
    assert_eq!(t["reason"], "Target.InvalidState");
    // Instance targets get their private IPs (ALB logs name targets by IP).
    assert_eq!(targets[0]["address"], s["ips"][0]);
    // Config: the health check, the default idle timeout, the host/path rule.
    let pool = &r["config"]["pools"][0];
    let setting = |name: &str| {
        pool["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .map(|x| x["value"].clone())
    };
    assert_eq!(setting("health_check.path").unwrap(), "/");
    assert_eq!(
        setting("deregistration_delay.timeout_seconds").unwrap(),
        "300"
    );
    let idle = r["config"]["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "idle_timeout.timeout_seconds")
        .unwrap();
    assert_eq!(
        (idle["value"].as_str(), idle["default"].as_bool()),
        (Some("60"), Some(true))
    );
    let routes = r["config"]["routes"].as_array().unwrap();
    assert!(
        routes
            .iter()
            .any(|x| x["server_names"][0] == "api.example.com" && x["path"] == "/api/*")
    );
    // Metrics read through GetMetricData; a metric with no datapoint is zero.
    let metric = |name: &str| {
        r["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(metric("HTTPCode_ELB_502_Count")["value"], 3.0);
    // ... and per minute over the window: the three 502s in the bucket of their datapoint.
    let t = metric("HTTPCode_ELB_502_Count")["timeline"].clone();
    let counts: Vec<u64> = t["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(
        (t["bucket_seconds"].as_u64(), counts.iter().sum::<u64>()),
        (Some(60), 3)
    );
    assert_eq!(counts.iter().filter(|c| **c > 0).count(), 1, "{counts:?}");
    assert!(
        metric("UnHealthyHostCount")["timeline"].is_null(),
        "a maximum is not summed"
    );
    assert_eq!(metric("RequestCount")["value"], 40.0);
    assert_eq!(metric("TargetConnectionErrorCount")["value"], 0.0);
    assert_eq!(metric("TargetConnectionErrorCount")["datapoints"], 0);
    // Both log sources, parsed as ALB access logs (the JSON record included).
    let logs = r["logs"].as_array().unwrap();
    assert_eq!(logs[0]["source"], "cloudwatch-logs:/alb/web");
    assert_eq!(logs[0]["dialect"], "alb-access");
    assert_eq!(logs[0]["matched"], 3);
    assert!(
        logs[1]["source"]
            .as_str()
            .unwrap()
            .starts_with("s3://alb-logs/prod (1 objects)")
    );
    assert_eq!(logs[1]["lines"], 40);
    // Security groups admit the ALB.
    let checks = r["checks"].as_array().unwrap();
    assert!(
        checks.len() >= 2 && checks.iter().all(|c| c["status"] == "pass"),
        "{checks:?}"
    );
    // The answer: the keep-alive race on the first target, then the target-made 502.
    assert_eq!(top_code(&r), "alb-keepalive-race", "{:?}", codes(&r));
    let race = find(&r, "alb-keepalive-race");
    assert!(
        race["explanation"]
            .as_str()
            .unwrap()
            .contains("3 request(s) of 40")
    );
    let ip_a = s["ips"][0].as_str().unwrap();
    assert!(race["explanation"].as_str().unwrap().contains(ip_a));
    let target_502 = find(&r, "alb-target-returned-502");
    assert_eq!(target_502["layer"], "application");
    find(&r, "alb-targets-unused");
    assert!(!codes(&r).contains(&"alb-made-502"), "{:?}", codes(&r));
}

#[test]
fn names_and_load_balancers_resolve_and_the_table_names_the_answer() {
    let moto = Moto::start();
    moto.scenario("incident", &[]);
    let run = aws(
        &moto,
        &["--tg", "web", "--region", "us-east-1", "--no-metrics"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(top_code(&run.json()), "alb-keepalive-race");
    let run = aws(&moto, &["--lb", "web-alb"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["config"]["pools"].as_array().unwrap().len(), 1);
    assert_eq!(r["config"]["pools"][0]["name"], "web");
    // The table output leads with the answer.
    let mut args = vec![
        "aws",
        "--endpoint-url",
        &moto.endpoint,
        "--tg",
        "web",
        "-o",
        "table",
    ];
    args.push("--no-security-groups");
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = cloud502_env(&args, &env);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("keep-alive"), "{}", run.stdout);
}

#[test]
fn a_security_group_that_does_not_admit_the_alb_is_found() {
    let moto = Moto::start();
    let s = moto.scenario("sg-blocked", &[]);
    let run = aws(
        &moto,
        &["--tg", s["tg_arn"].as_str().unwrap(), "--no-metrics"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    let f = find(&r, "alb-security-group-blocks");
    assert_eq!(f["severity"], "warning");
    assert!(f["explanation"].as_str().unwrap().contains("8080"));
    let failed: Vec<&Value> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed
            .iter()
            .all(|c| c["id"].as_str().unwrap().starts_with("sg.target-ingress."))
    );
}

#[test]
fn an_empty_target_group_gives_503_not_502() {
    let moto = Moto::start();
    let s = moto.scenario("empty", &[]);
    let run = aws(&moto, &["--tg", s["tg_arn"].as_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    assert_eq!(top_code(&r), "alb-no-registered-targets");
    assert!(
        r["findings"][0]["title"]
            .as_str()
            .unwrap()
            .contains("503, not 502")
    );
}

#[test]
fn bad_input_gets_one_line_and_the_right_exit_code() {
    let moto = Moto::start();
    moto.scenario("empty", &[]);
    // malformed ARN: usage error naming the expected form, before any call
    let run = aws(
        &moto,
        &[
            "--tg",
            "arn:aws:elasticloadbalancing:us-east-1:123:targetgroup/x",
        ],
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("targetgroup/NAME/ID"), "{}", run.stderr);
    // a well-formed ARN that does not exist
    let run = aws(
        &moto,
        &[
            "--tg",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("not found in us-east-1"),
        "{}",
        run.stderr
    );
    // a log group that does not exist is a gap; the rest is still reported (exit 3 or 1)
    let run = aws(&moto, &["--tg", "empty", "--log-group", "/no/such/group"]);
    let r = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(r["summary"]["partial"], true);
    assert_eq!(r["errors"][0]["scope"], "aws:FilterLogEvents");
    assert_eq!(r["errors"][0]["kind"], "not-found");
    assert!(
        run.stderr.contains("warning: aws:FilterLogEvents"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_credentials_names_the_chain_and_exits_4() {
    let home = tempfile::tempdir().unwrap();
    let run = cloud502_env_without(
        &[
            "aws",
            "--tg",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef",
            "-o",
            "json",
        ],
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ],
    );
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    assert_eq!(r["errors"][0]["kind"], "permission");
    let msg = r["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("no AWS credentials found"), "{msg}");
    assert!(msg.contains("IMDS"), "{msg}");
    assert!(
        r["errors"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("aws sso login")
    );
}

#[test]
fn a_hung_endpoint_is_bounded_by_the_timeout() {
    let silent = server::start(server::Behaviour::Silent);
    let endpoint = format!("http://127.0.0.1:{}", silent.port);
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let run = cloud502_env(
        &[
            "aws",
            "--tg",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef",
            "--endpoint-url",
            &endpoint,
            "--timeout",
            "2s",
            "-o",
            "json",
        ],
        &env,
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.elapsed.as_secs() < 15, "took {:?}", run.elapsed);
    let r = run.json();
    assert_eq!(r["errors"][0]["kind"], "unreachable", "{}", r["errors"]);
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("DescribeTargetGroups")
    );
}

#[test]
fn a_target_group_no_load_balancer_uses_is_not_in_use_not_empty() {
    let moto = Moto::start();
    let s = moto.scenario("unattached", &[]);
    let run = aws(&moto, &["--tg", s["tg_arn"].as_str().unwrap()]);
    let r = run.json();
    let f = find(&r, "alb-target-group-not-in-use");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("not used by any load balancer"),
        "{f}"
    );
    assert!(
        !codes(&r).contains(&"alb-no-registered-targets"),
        "{:?}",
        codes(&r)
    );
    assert!(!f.to_string().contains("Register"), "{f}");
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn a_4000_s_idle_timeout_without_logs_warns_and_offers_to_lower_it() {
    let moto = Moto::start();
    let s = moto.scenario("long-idle", &[]);
    let run = aws(
        &moto,
        &["--tg", s["tg_arn"].as_str().unwrap(), "--no-metrics"],
    );
    let r = run.json();
    let f = find(&r, "alb-idle-timeout-keepalive");
    assert_eq!(f["severity"], "warning", "{f}");
    let words = f.to_string();
    assert!(words.contains("4000 s"), "{words}");
    assert!(!words.contains("is fine"), "{words}");
    assert!(words.contains("lower the ALB idle timeout"), "{words}");
}

#[test]
fn a_blocked_health_check_port_that_differs_from_the_traffic_port_is_found() {
    let moto = Moto::start();
    let s = moto.scenario("hc-port", &[]);
    let run = aws(
        &moto,
        &["--tg", s["tg_arn"].as_str().unwrap(), "--no-metrics"],
    );
    let r = run.json();
    let checks = r["checks"].as_array().unwrap();
    let status = |port: &str| -> Vec<String> {
        checks
            .iter()
            .filter(|c| {
                let id = c["id"].as_str().unwrap();
                id.starts_with("sg.target-ingress.") && id.ends_with(port)
            })
            .map(|c| c["status"].as_str().unwrap().to_owned())
            .collect()
    };
    // The traffic port is admitted; the health-check port is not.
    assert!(!status(".8080").is_empty() && status(".8080").iter().all(|s| s == "pass"));
    assert!(!status(".9000").is_empty() && status(".9000").iter().all(|s| s == "fail"));
    let f = find(&r, "alb-security-group-blocks");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("health-check port 9000"),
        "{f}"
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
}
