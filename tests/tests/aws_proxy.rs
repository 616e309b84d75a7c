//! `cloud502 aws` against moto behind a proxy that rewrites its answers into AWS states moto
//! cannot produce (issue 17): `Target.NotInUse`, `Target.Timeout` on a blocked health-check port,
//! draining targets, and `ExpiredToken`, `AccessDenied` and `Throttling` error envelopes. Real binary, real moto_server, scenarios of
//! tests/aws/scenario.py. Descriptions are the ones AWS documents for these reason codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::codes;
use cloud502_e2e::moto::{Moto, Rewrite, elb_error, throttling};
use serde_json::Value;

fn find<'a>(report: &'a Value, code: &str) -> &'a Value {
    cloud502_e2e::moto::finding(report, code)
}

/// Every target's health answer turned into `state` with `reason` and `description`.
fn health(state: &str, reason: &str, description: &str) -> Rewrite {
    Rewrite::Replace {
        action: "DescribeTargetHealth",
        from: "<State>healthy</State>".into(),
        to: format!(
            "<State>{state}</State><Reason>{reason}</Reason><Description>{description}</Description>"
        ),
    }
}

#[test]
fn target_not_in_use_through_the_api_is_an_unused_group_not_an_empty_one() {
    let moto = Moto::start();
    let s = moto.scenario("incident", &[]);
    let proxy = moto.proxy(vec![health(
        "unused",
        "Target.NotInUse",
        "Target group is not configured to receive traffic from the load balancer",
    )]);
    let run = moto.aws_via(
        &proxy,
        &["--tg", s["tg_arn"].as_str().unwrap(), "--no-metrics"],
    );
    let r = run.json();
    let reasons: Vec<&str> = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"Target.NotInUse"), "{reasons:?}");
    let c = codes(&r);
    assert!(!c.contains(&"alb-no-registered-targets"), "{c:?}");
    // Two targets NotInUse, the stopped one InvalidState: none in service, and the NotInUse
    // reason says why, not "register targets".
    let f = find(&r, "alb-target-group-not-in-use");
    assert!(
        f["title"].as_str().unwrap().contains("2 of 3 target(s)"),
        "{f}"
    );
    assert!(
        !r["findings"].to_string().contains("Register the"),
        "{}",
        r["findings"]
    );
}

#[test]
fn every_target_not_in_use_is_the_group_not_in_use() {
    let moto = Moto::start();
    moto.scenario("shared", &[]);
    let proxy = moto.proxy(vec![health(
        "unused",
        "Target.NotInUse",
        "Target group is not configured to receive traffic from the load balancer",
    )]);
    let run = moto.aws_via(&proxy, &["--tg", "svc-a", "--no-metrics"]);
    let r = run.json();
    let f = find(&r, "alb-target-group-not-in-use");
    assert!(
        f["title"].as_str().unwrap().contains("Target.NotInUse"),
        "{f}"
    );
    assert!(!codes(&r).contains(&"alb-no-registered-targets"));
}

#[test]
fn a_blocked_health_check_port_with_target_timeout_is_a_critical_security_group_finding() {
    let moto = Moto::start();
    let s = moto.scenario("hc-port", &[]);
    let proxy = moto.proxy(vec![health(
        "unhealthy",
        "Target.Timeout",
        "Request timed out",
    )]);
    let run = moto.aws_via(
        &proxy,
        &["--tg", s["tg_arn"].as_str().unwrap(), "--no-metrics"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    let f = find(&r, "alb-security-group-blocks");
    assert_eq!(f["severity"], "critical", "{f}");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("health-check port 9000"),
        "{f}"
    );
    find(&r, "alb-all-targets-unhealthy");
}

#[test]
fn an_expired_token_is_one_line_and_exit_4() {
    let moto = Moto::start();
    let s = moto.scenario("empty", &[]);
    let proxy = moto.proxy(vec![Rewrite::Respond {
        action: "DescribeTargetGroups",
        status: 400,
        body: elb_error(
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
    }]);
    let run = moto.aws_via(&proxy, &["--tg", s["tg_arn"].as_str().unwrap()]);
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let r = run.json();
    let msg = r["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("expired"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn one_missing_permission_over_several_groups_is_one_gap_naming_them() {
    let moto = Moto::start();
    moto.scenario("shared", &[]);
    let proxy = moto.proxy(vec![Rewrite::Respond {
        action: "DescribeTargetHealth",
        status: 403,
        body: elb_error(
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/audit is not authorized to perform: elasticloadbalancing:DescribeTargetHealth because no identity-based policy allows the elasticloadbalancing:DescribeTargetHealth action",
        ),
    }]);
    let run = moto.aws_via(&proxy, &["--lb", "shop-alb", "--no-metrics"]);
    let r = run.json();
    let health: Vec<&Value> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["scope"] == "aws:DescribeTargetHealth")
        .collect();
    assert_eq!(health.len(), 1, "{}", r["errors"]);
    let msg = health[0]["message"].as_str().unwrap();
    assert!(msg.contains("2 target groups: svc-a, svc-b"), "{msg}");
    assert_eq!(health[0]["kind"], "permission", "{}", health[0]);
    assert_ne!(
        run.code, 0,
        "never healthy without target health: {}",
        run.stderr
    );
}

#[test]
fn a_draining_target_is_named_as_deregistration_in_flight() {
    let moto = Moto::start();
    let s = moto.scenario("incident", &[]);
    // One target of the group deregistering (a deploy): AWS's state, reason and description.
    let proxy = moto.proxy(vec![Rewrite::ReplaceOnce {
        action: "DescribeTargetHealth",
        from: "<State>healthy</State>".into(),
        to: "<State>draining</State><Reason>Target.DeregistrationInProgress</Reason><Description>Target deregistration is in progress</Description>".into(),
    }]);
    let run = moto.aws_via(
        &proxy,
        &["--tg", s["tg_arn"].as_str().unwrap(), "--no-metrics"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    let draining: Vec<&Value> = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["health"] == "draining")
        .collect();
    assert_eq!(draining.len(), 1, "{}", r["targets"]);
    assert_eq!(draining[0]["reason"], "Target.DeregistrationInProgress");
    let f = find(&r, "alb-deregistration-in-flight");
    let title = f["title"].as_str().unwrap();
    assert!(title.starts_with("1 target(s) of"), "{f}");
    assert!(title.contains("draining"), "{f}");
    // The draining target is named by its address, and the incident's 502 lines that name it tie
    // the two together: critical.
    let addr = draining[0]["address"].as_str().unwrap();
    let why = f["explanation"].as_str().unwrap();
    assert!(why.starts_with(&format!("{addr}:")), "{f}");
    assert!(why.contains("502 line(s) name a draining target"), "{f}");
    assert_eq!(f["severity"], "critical", "{f}");
}

#[test]
fn throttling_is_retried_with_backoff_then_a_gap_never_healthy() {
    let moto = Moto::start();
    let s = moto.scenario("incident", &[]);
    let proxy = moto.proxy(vec![Rewrite::Respond {
        action: "DescribeTargetHealth",
        status: 400,
        body: throttling(),
    }]);
    let run = moto.aws_via(
        &proxy,
        &[
            "--tg",
            s["tg_arn"].as_str().unwrap(),
            "--no-metrics",
            "--timeout",
            "20s",
        ],
    );
    // Every attempt the SDK's standard retry mode allows (backoff between them), all within the
    // call timeout: a throttled gap, not a timeout.
    assert_eq!(
        proxy.hits("DescribeTargetHealth"),
        cloud502_aws::api::MAX_ATTEMPTS as usize,
        "{}",
        run.stderr
    );
    let r = run.json();
    let gap = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["scope"] == "aws:DescribeTargetHealth")
        .unwrap_or_else(|| panic!("no DescribeTargetHealth gap: {}", r["errors"]));
    assert_eq!(gap["kind"], "throttled", "{gap}");
    let msg = gap["message"].as_str().unwrap();
    assert!(
        msg.contains("Throttling") && msg.contains("Rate exceeded"),
        "{msg}"
    );
    assert!(gap["hint"].as_str().unwrap().contains("attempts"), "{gap}");
    // Without target health nothing may be called healthy: a partial run, exit 3 at best.
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert_ne!(r["summary"]["answer"], "healthy", "{}", r["summary"]);
    assert!(
        [1, 3].contains(&run.code),
        "exit {}: {}",
        run.code,
        run.stderr
    );
}
