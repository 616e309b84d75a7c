//! `cloud502 aws --tg` on a load balancer that serves several target groups (issue 17): a group's
//! report uses that group's access-log lines and targets only, shows the load balancer's own 502
//! count as the load balancer's, and reads access-log objects (not connection or health-check
//! logs) newest first. Real binary, real moto_server, scenario `shared` of tests/aws/scenario.py.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::codes;
use cloud502_e2e::moto::Moto;
use serde_json::Value;

fn aws(moto: &Moto, args: &[&str]) -> cloud502_e2e::Run {
    moto.aws(args)
}

/// The summary of the S3 access logs of the `shared` scenario.
fn s3_log(r: &Value) -> &Value {
    r["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| {
            l["source"]
                .as_str()
                .unwrap()
                .starts_with("s3://shop-logs/shop")
        })
        .unwrap_or_else(|| panic!("no S3 access log in {}", r["logs"]))
}

/// Every finding's words and cited items, as one string per finding.
fn finding_texts(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["title"], f["explanation"], f["evidence"], f["remediation"]
            )
        })
        .collect()
}

/// No finding names one of `foreign` (another group's target IPs and instance ids), and no
/// target or log line of the report belongs to another group.
fn assert_no_foreign(r: &Value, foreign: &[&str], foreign_tg: &str) {
    for text in finding_texts(r) {
        for f in foreign {
            assert!(!text.contains(f), "a finding cites {f}: {text}");
        }
    }
    for t in r["targets"].as_array().unwrap() {
        assert!(!foreign.contains(&t["id"].as_str().unwrap()), "{t}");
    }
    let all = r.to_string();
    assert!(
        !all.contains(foreign_tg),
        "the report carries a line of {foreign_tg}"
    );
}

#[test]
fn a_healthy_group_on_a_shared_alb_is_not_blamed_for_the_other_groups_502s() {
    let moto = Moto::start();
    let s = moto.scenario("shared", &[]);
    let run = aws(&moto, &["--tg", "svc-a"]);
    let r = run.json();
    let ips: Vec<&str> = s["ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ids: Vec<&str> = s["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let tg_b = s["tg_b"].as_str().unwrap();
    let tg_b_dim = tg_b.rsplit(':').next().unwrap();
    assert_no_foreign(&r, &[ips[2], ips[3], ids[2], ids[3]], tg_b_dim);
    // The access log holds 30 lines of svc-a and 8 of svc-b: only svc-a's are read.
    let s3 = s3_log(&r);
    let source = s3["source"].as_str().unwrap();
    assert!(
        source.contains("8 line(s) of other target groups left out"),
        "{source}"
    );
    assert_eq!(s3["matched"], 0, "{s3}");
    // Nothing says svc-a's targets fail, or that its health check misses 502s.
    let c = codes(&r);
    for wrong in [
        "alb-target-connect-failed",
        "alb-health-check-blind",
        "alb-keepalive-race",
    ] {
        assert!(!c.contains(&wrong), "{wrong} in {c:?}");
    }
    // The load balancer's own count is shown as the load balancer's, naming the other group.
    let made = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "alb-made-502")
        .unwrap_or_else(|| panic!("no alb-made-502 in {c:?}"));
    let title = made["title"].as_str().unwrap();
    assert!(title.contains("across all its target groups"), "{title}");
    assert!(
        made["explanation"].as_str().unwrap().contains("svc-b"),
        "{made}"
    );
    assert_ne!(run.code, 0, "{}", run.stderr);
}

#[test]
fn the_failing_group_gets_its_own_lines_and_targets_only() {
    let moto = Moto::start();
    let s = moto.scenario("shared", &[]);
    let run = aws(&moto, &["--tg", s["tg_b"].as_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    let [a0, a1, b0]: [String; 3] = {
        let ips = s["ips"].as_array().unwrap();
        [0, 1, 2].map(|i| ips[i].as_str().unwrap().to_owned())
    };
    let tg_a = s["tg_a"].as_str().unwrap();
    let tg_a_dim = tg_a.rsplit(':').next().unwrap();
    assert_no_foreign(&r, &[&a0, &a1], tg_a_dim);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "alb-target-connect-failed")
        .unwrap_or_else(|| panic!("{:?}", codes(&r)));
    let title = f["title"].as_str().unwrap();
    assert!(title.contains("8 failed request(s)"), "{title}");
    assert!(title.contains(&b0), "{title}");
    let s3 = s3_log(&r);
    assert_eq!(s3["matched"], 8, "{s3}");
}

#[test]
fn access_logs_are_told_from_connection_and_health_check_logs_and_read_newest_first() {
    let moto = Moto::start();
    let s = moto.scenario("shared", &[]);
    let tg_b = s["tg_b"].as_str().unwrap();
    // One object allowed: the newest access log (its key sorts before the older one's, and the
    // connection and health-check logs' keys sort after both).
    let run = aws(&moto, &["--tg", tg_b, "--max-log-objects", "1"]);
    let r = run.json();
    let s3 = s3_log(&r);
    assert_eq!(s3["matched"], 8, "{s3}");
    assert_eq!(s3["skipped"]["unparsed"], 0, "{s3}");
    let gaps = r["errors"].to_string();
    assert!(
        gaps.contains("read the newest 1 of 2 access-log objects"),
        "{gaps}"
    );
    // All of them: two access-log objects, no connection- or health-check-log line among them.
    let run = aws(&moto, &["--tg", "svc-a"]);
    let r = run.json();
    let s3 = s3_log(&r);
    assert!(
        s3["source"].as_str().unwrap().contains("(2 objects)"),
        "{s3}"
    );
    assert_eq!(s3["lines"], 31, "{s3}");
    assert_eq!(s3["skipped"]["unparsed"], 0, "{s3}");
    // The health-check log is read: svc-a's targets passed every check; nothing of svc-b's.
    let checks = r["checks"].as_array().unwrap();
    let passing = checks
        .iter()
        .find(|c| c["id"] == "logs.health-check.passing")
        .unwrap_or_else(|| panic!("{}", r["checks"]));
    assert_eq!(passing["status"], "pass");
    let ips: Vec<&str> = s["ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    let detail = passing["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{}:8080 (svc-a)", ips[0])),
        "{detail}"
    );
    assert!(!detail.contains("svc-b"), "{detail}");
    assert!(
        !checks.iter().any(
            |c| c["id"].as_str().unwrap().starts_with("logs.health-check.")
                && c["status"] == "fail"
        ),
        "{}",
        r["checks"]
    );
}

#[test]
fn health_check_logs_say_why_the_unhealthy_targets_fail() {
    let moto = Moto::start();
    let s = moto.scenario("shared", &[]);
    let ips: Vec<&str> = s["ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    // moto reports running instances healthy: the proxy gives svc-b's targets the state AWS
    // reports for failing checks.
    let proxy = moto.proxy(vec![cloud502_e2e::moto::Rewrite::Replace {
        action: "DescribeTargetHealth",
        from: "<State>healthy</State>".into(),
        to: "<State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason><Description>Health checks failed</Description>".into(),
    }]);
    let run = moto.aws_via(&proxy, &["--tg", "svc-b", "--no-metrics"]);
    let r = run.json();
    for ip in &ips[2..] {
        let id = format!("logs.health-check.{ip}:8080");
        let c = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap_or_else(|| panic!("no {id} in {}", r["checks"]));
        assert_eq!(c["status"], "fail", "{c}");
        let d = c["detail"].as_str().unwrap();
        assert!(d.starts_with("10 of 10 health checks failed"), "{d}");
        assert!(d.contains("ConnectionReset x10"), "{d}");
    }
    // The finding about the unhealthy targets cites them and says why from the logs.
    let f = cloud502_e2e::moto::finding(&r, "alb-all-targets-unhealthy");
    let text = f.to_string();
    assert!(text.contains("ConnectionReset"), "{f}");
    assert!(
        text.contains(&format!("logs.health-check.{}:8080", ips[2])),
        "{f}"
    );
    // svc-a's targets are not in svc-b's report.
    assert!(!r.to_string().contains(&format!("{}:8080 (svc-a)", ips[0])));
}

#[test]
fn with_lb_the_access_log_lines_are_split_by_target_group() {
    let moto = Moto::start();
    moto.scenario("shared", &[]);
    let run = aws(&moto, &["--lb", "shop-alb", "--no-metrics"]);
    let r = run.json();
    let s3: Vec<&Value> = r["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["source"]
                .as_str()
                .unwrap()
                .starts_with("s3://shop-logs/shop")
        })
        .collect();
    let of = |name: &str| {
        s3.iter()
            .find(|l| {
                l["source"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("; target group {name}"))
            })
            .unwrap_or_else(|| panic!("no summary of {name}: {}", r["logs"]))
    };
    let (a, b) = (of("svc-a"), of("svc-b"));
    // svc-b's targets fail and make the 502s; svc-a's lines carry none of them.
    assert!(b["matched"].as_u64().unwrap() > 0, "{b}");
    assert_eq!(a["matched"], 0, "{a}");
    let a_text = a.to_string();
    assert!(!a_text.contains("svc-b"), "{a_text}");
    assert!(!b.to_string().contains("targetgroup/svc-a/"), "{b}");
}
