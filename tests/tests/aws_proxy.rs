//! `cloud502 aws` against moto behind a proxy that rewrites its answers into AWS states moto
//! cannot produce (issue 17): `Target.NotInUse`, `Target.Timeout` on a blocked health-check port,
//! and an `ExpiredToken` error envelope. Real binary, real moto_server, scenarios of
//! tests/aws/scenario.py. Descriptions are the ones AWS documents for these reason codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::codes;
use cloud502_e2e::moto::{Moto, Rewrite, elb_error};
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
