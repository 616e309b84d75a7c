//! Health checks that pass while real traffic fails: every target healthy, yet 502s are served.
//! The check probes something that works (a static `/`, another port, a lenient matcher) while
//! the requests that fail take another path.

use crate::remediation::review_config;
use crate::rules::Rule;
use crate::rules::alb::shared::{
    count_state, finding, group_targets, health_read, is_alb, pool_502, pool_item, pool_setting,
};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, HealthState, Layer, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "alb_health_check",
    codes: &[FindingCode::AlbHealthCheckBlind],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_alb(ev) || !health_read(ev) {
        return;
    }
    let logs_read = ev
        .logs
        .iter()
        .any(|l| l.dialect == crate::rules::alb::shared::DIALECT);
    for pool in &ev.config.pools {
        // A keep-alive race (target_processing_time -1 after a request was sent) is the ALB's
        // connection handling, not a request the targets fail: leave those out.
        let (count, items) = pool_502(ev, pool, logs_read);
        if count == 0 {
            continue;
        }
        let targets = group_targets(ev, &pool.name);
        let healthy = count_state(&targets, HealthState::Healthy);
        if healthy == 0 || count_state(&targets, HealthState::Unhealthy) > 0 {
            continue;
        }
        let path = pool_setting(pool, "health_check.path").unwrap_or("/");
        let port = pool_setting(pool, "health_check.port").unwrap_or("traffic-port");
        let matcher = pool_setting(pool, "health_check.matcher").unwrap_or("200");
        let mut weak = Vec::new();
        if path == "/" {
            weak.push("the path is `/`, which often serves a static page without touching the application's dependencies".to_owned());
        }
        if port != "traffic-port" && Some(port) != pool_setting(pool, "port") {
            weak.push(format!(
                "it checks port {port}, not the traffic port {}",
                pool_setting(pool, "port").unwrap_or("?")
            ));
        }
        if matcher.contains('-')
            || matcher.contains(',')
            || matcher.starts_with('3')
            || matcher.starts_with('4')
        {
            weak.push(format!("the matcher {matcher} accepts more than success"));
        }
        let mut evidence = pool_item(ev, pool);
        evidence.extend(targets.iter().map(|(id, _)| id.clone()));
        evidence.extend(items.iter().cloned());
        out.push(finding(
            FindingCode::AlbHealthCheckBlind,
            Severity::Warning,
            if weak.is_empty() || !logs_read {
                Confidence::Low
            } else {
                Confidence::Medium
            },
            Layer::AwsAlb,
            format!(
                "all {healthy} target(s) of {} pass their health check ({path} on {port}) while {count} 502(s) were served",
                pool.name
            ),
            format!(
                "The health check says the targets are fine, but requests fail: it does not \
                 exercise what fails{}. The ALB keeps routing to targets that break real requests.",
                if weak.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", weak.join("; "))
                }
            ),
            evidence,
            "The 502s come from the ALB's own connection handling (keep-alive race) or from \
             another target group, not from requests the targets fail.",
            vec![review_config(
                "Point the health check at an endpoint that exercises the request path and its dependencies, on the traffic port, with matcher 200",
                Some("aws elbv2 modify-target-group --target-group-arn <ARN> --health-check-path /healthz --matcher HttpCode=200"),
            )],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::alb::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    #[test]
    fn healthy_targets_and_502s_flag_the_health_check() {
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        assert!(run_rule(check, &ev).is_empty());
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 30.0));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbHealthCheckBlind);
        assert!(f[0].explanation.contains("path is `/`"));
    }

    #[test]
    fn unhealthy_targets_are_not_a_blind_check() {
        let mut ev = alb(&[
            target("i-1", HealthState::Healthy, None),
            target("i-2", HealthState::Unhealthy, Some("Target.Timeout")),
        ]);
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 30.0));
        assert!(run_rule(check, &ev).is_empty());
    }
}
