//! Target health of each ALB target group (KB 1.2): no target in service (503, not 502), every
//! target unhealthy (fail-open: traffic goes to broken targets), some targets unhealthy with their
//! reason codes (and, when ELB's health-check logs were read, why each check failed), unused
//! targets, and targets draining while 502s are served (KB 1.9 #6).
//!
//! The check gathers one fact type per finding (`NoTargetInService`, `AllUnhealthy`, ...); each
//! words its own finding below them.

use crate::remediation::{adjust_timeouts, check_backend, review_config, scale_backend};
use crate::rules::Rule;
use crate::rules::alb::shared::{
    any_502, count_state, finding, group_targets, health_read, is_502, is_alb, lines_where, metric,
    pool_item, pool_setting,
};
use cloud502_model::{
    CheckStatus, Confidence, Evidence, Finding, FindingCode, HealthState, HostCheck, Layer, Pool,
    Severity, Target,
};

pub(crate) const RULE: Rule = Rule {
    name: "alb_targets",
    codes: &[
        FindingCode::AlbNoRegisteredTargets,
        FindingCode::AlbAllTargetsUnhealthy,
        FindingCode::AlbTargetsUnhealthy,
        FindingCode::AlbTargetGroupNotInUse,
        FindingCode::AlbTargetsUnused,
        FindingCode::AlbDeregistrationInFlight,
    ],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_alb(ev) || !health_read(ev) {
        return;
    }
    let (count_502, items_502) = any_502(ev);
    for pool in &ev.config.pools {
        let targets = group_targets(ev, &pool.name);
        let mut evidence = pool_item(ev, pool);
        evidence.extend(targets.iter().map(|(id, _)| id.clone()));
        let with = |state: HealthState| -> Vec<&Target> {
            targets
                .iter()
                .filter(|(_, t)| t.health == state)
                .map(|(_, t)| *t)
                .collect()
        };
        let healthy = count_state(&targets, HealthState::Healthy);
        let unhealthy = count_state(&targets, HealthState::Unhealthy);
        let draining = count_state(&targets, HealthState::Draining);
        let unused = count_state(&targets, HealthState::Unused);
        let in_service = healthy
            + unhealthy
            + count_state(&targets, HealthState::Initial)
            + count_state(&targets, HealthState::Unavailable);
        let lambda = pool_setting(pool, "target_type") == Some("lambda");

        // Target.NotInUse is the group not being used (or a zone not enabled), not an empty
        // group: registering targets would not help (KB 9.2).
        // With no target in service, one NotInUse target says why better than "register".
        let unattached = pool_setting(pool, "load_balancers") == Some("");
        let not_in_use = targets
            .iter()
            .filter(|(_, t)| t.reason.as_deref() == Some("Target.NotInUse"))
            .count();
        if unattached || (in_service == 0 && not_in_use > 0) {
            out.push(Finding::from(NotInUse {
                pool,
                unattached,
                not_in_use,
                registered: targets.len(),
                evidence: evidence.clone(),
            }));
            continue;
        }

        if in_service == 0 && !lambda {
            out.push(Finding::from(NoTargetInService {
                pool,
                registered: targets.len(),
                unused,
                draining,
                evidence: evidence.clone(),
            }));
            continue;
        }

        let bad = with(HealthState::Unhealthy);
        // The health-check logs' account of each unhealthy target, when they were read.
        let logged: Vec<String> = bad
            .iter()
            .filter_map(|t| health_check_log(ev, t))
            .map(|c| c.id.clone())
            .collect();
        if unhealthy > 0 && healthy == 0 {
            let mut items = evidence.clone();
            items.extend(logged.iter().cloned());
            if let Some((_, ids)) = metric(ev, "UnHealthyHostCount") {
                items.extend(ids);
            }
            out.push(Finding::from(AllUnhealthy {
                ev,
                pool,
                bad,
                evidence: items,
            }));
        } else if unhealthy > 0 {
            let mut items = evidence.clone();
            items.extend(logged);
            out.push(Finding::from(SomeUnhealthy {
                ev,
                pool,
                bad,
                registered: targets.len(),
                healthy,
                serving_502: count_502 > 0,
                evidence: items,
            }));
        }

        if unused > 0 && in_service > 0 {
            out.push(Finding::from(Unused {
                pool,
                unused: with(HealthState::Unused),
                evidence: evidence.clone(),
            }));
        }

        if draining > 0 {
            let names: Vec<String> = with(HealthState::Draining)
                .iter()
                .map(|t| t.endpoint_or_id())
                .collect();
            // 502s whose target is a draining one tie the two together.
            let on_draining = lines_where(ev, is_502);
            let tied: u64 = on_draining
                .targets
                .iter()
                .filter(|(t, _)| {
                    names.iter().any(|n| {
                        n == t
                            || t.strip_prefix(n.as_str())
                                .is_some_and(|r| r.starts_with(':'))
                    })
                })
                .map(|(_, n)| n)
                .sum();
            let mut items = evidence.clone();
            if count_502 > 0 {
                items.extend(items_502.iter().cloned());
            }
            out.push(Finding::from(Draining {
                pool,
                names,
                tied,
                serving_502: count_502 > 0,
                delay: pool_setting(pool, "deregistration_delay.timeout_seconds").unwrap_or("300"),
                evidence: items,
            }));
        }
    }
}

trait EndpointOrId {
    fn endpoint_or_id(&self) -> String;
}

impl EndpointOrId for Target {
    /// How ALB logs name a target: `ip:port`. Instance targets are logged by their private IP,
    /// which the provider fills in from EC2 when it can; else the id is used.
    fn endpoint_or_id(&self) -> String {
        match (&self.address, self.port) {
            (Some(a), Some(p)) => format!("{a}:{p}"),
            _ => self.id.clone(),
        }
    }
}

// ---- facts ----

/// A target group with no target in service (none registered, or all unused or draining).
struct NoTargetInService<'a> {
    pool: &'a Pool,
    registered: usize,
    unused: usize,
    draining: usize,
    evidence: Vec<String>,
}

/// No load balancer uses the group, or every target is `unused` with `Target.NotInUse`.
struct NotInUse<'a> {
    pool: &'a Pool,
    /// The group's LoadBalancerArns is empty.
    unattached: bool,
    /// Targets with Target.NotInUse.
    not_in_use: usize,
    registered: usize,
    evidence: Vec<String>,
}

/// Every in-service target of a group is unhealthy.
struct AllUnhealthy<'a> {
    ev: &'a Evidence,
    pool: &'a Pool,
    bad: Vec<&'a Target>,
    evidence: Vec<String>,
}

/// Some targets of a group are unhealthy while others carry the load.
struct SomeUnhealthy<'a> {
    ev: &'a Evidence,
    pool: &'a Pool,
    bad: Vec<&'a Target>,
    registered: usize,
    healthy: usize,
    /// The ALB serves 502s in the window.
    serving_502: bool,
    evidence: Vec<String>,
}

/// Registered targets that get no traffic.
struct Unused<'a> {
    pool: &'a Pool,
    unused: Vec<&'a Target>,
    evidence: Vec<String>,
}

/// Targets being deregistered.
struct Draining<'a> {
    pool: &'a Pool,
    /// The draining targets as the logs name them.
    names: Vec<String>,
    /// 502 lines that name a draining target.
    tied: u64,
    serving_502: bool,
    /// deregistration_delay.timeout_seconds.
    delay: &'a str,
    evidence: Vec<String>,
}

// ---- text ----

/// What a reason code means and what to look at (KB 1.2).
fn reason_text(t: &Target, pool: &Pool) -> String {
    let hc = |n: &str| pool_setting(pool, n).unwrap_or("?").to_owned();
    let what = match t.reason.as_deref() {
        Some("Target.Timeout") => format!(
            "the health check ({} {} on port {}) timed out after {} s",
            hc("health_check.protocol"),
            hc("health_check.path"),
            hc("health_check.port"),
            hc("health_check.timeout_seconds")
        ),
        Some("Target.ResponseCodeMismatch") => format!(
            "the health check got a status outside the matcher {}",
            hc("health_check.matcher")
        ),
        Some("Target.FailedHealthChecks") => {
            "the ALB could not connect to the target, or got a malformed response".to_owned()
        }
        Some("Elb.InternalError") => "an internal ELB error".to_owned(),
        Some("Elb.RegistrationInProgress") => "registration is in progress".to_owned(),
        Some("Elb.InitialHealthChecking") => "the first health checks are still running".to_owned(),
        Some("Target.NotRegistered") => "it is not registered".to_owned(),
        Some("Target.NotInUse") => {
            "the target group is not used by any listener rule, or the target's zone is not enabled on the load balancer".to_owned()
        }
        Some("Target.InvalidState") => "the instance is stopped or terminated".to_owned(),
        Some("Target.IpUnusable") => "the IP is reserved for a load balancer".to_owned(),
        Some("Target.DeregistrationInProgress") => "it is being deregistered".to_owned(),
        Some("Target.HealthCheckDisabled") => "health checks are disabled".to_owned(),
        Some(other) => other.to_owned(),
        None => "no reason given".to_owned(),
    };
    let detail = t
        .detail
        .as_deref()
        .map(|d| format!(" (\"{d}\")"))
        .unwrap_or_default();
    format!(
        "{} {}: {what}{detail}",
        t.id,
        t.reason.as_deref().unwrap_or("-")
    )
}

/// Each target's reason text, joined with `; `.
fn reasons(targets: &[&Target], pool: &Pool) -> String {
    targets
        .iter()
        .map(|t| reason_text(t, pool))
        .collect::<Vec<_>>()
        .join("; ")
}

/// [`reasons`] with what the health-check logs say about each target.
fn reasons_logged(ev: &Evidence, targets: &[&Target], pool: &Pool) -> String {
    targets
        .iter()
        .map(|t| match health_check_log(ev, t) {
            Some(c) => format!("{} (health-check logs: {})", reason_text(t, pool), c.detail),
            None => reason_text(t, pool),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The failing health-check-log check of a target (the provider's `logs.health-check.IP:PORT`,
/// from ELB's own health-check logs: they say why each check failed).
fn health_check_log<'a>(ev: &'a Evidence, t: &Target) -> Option<&'a HostCheck> {
    let id = format!("logs.health-check.{}", t.endpoint_or_id());
    ev.checks
        .iter()
        .find(|c| c.id == id && c.status == CheckStatus::Fail)
}

/// `aws elbv2 describe-target-health` for the group.
fn describe_health(pool: &Pool) -> String {
    format!(
        "aws elbv2 describe-target-health --target-group-arn <{} ARN>",
        pool.name
    )
}

impl NoTargetInService<'_> {
    fn title(&self) -> String {
        let name = &self.pool.name;
        if self.registered == 0 {
            format!("target group {name} has no registered targets: clients get 503, not 502")
        } else {
            format!(
                "target group {name} has no target in service ({} registered: {} unused, {} draining)",
                self.registered, self.unused, self.draining
            )
        }
    }

    fn explanation(&self) -> String {
        let name = &self.pool.name;
        if self.registered == 0 {
            format!(
                "Target group {name} has no registered targets. With nothing to send to, the ALB \
                 answers 503 Service Unavailable, not 502. A 502 seen by clients comes from \
                 another target group or another layer."
            )
        } else {
            format!(
                "Every registered target of {name} is unused or draining, so no target takes new \
                 requests. AWS documents 503 for a group with no registered targets; a group \
                 whose targets are all stopped or draining behaves the same way for new \
                 requests, while in-flight requests on draining targets can still end in 502."
            )
        }
    }
}

impl From<NoTargetInService<'_>> for Finding {
    fn from(f: NoTargetInService<'_>) -> Finding {
        finding(
            FindingCode::AlbNoRegisteredTargets,
            Severity::Critical,
            Confidence::High,
            Layer::AwsAlb,
            f.title(),
            f.explanation(),
            f.evidence,
            "DescribeTargetHealth lists a target in the initial, healthy or unhealthy state.",
            vec![check_backend(
                "Register the service's targets (or fix the auto scaling group / ECS service that should)",
                Some(&describe_health(f.pool)),
            )],
        )
    }
}

impl From<NotInUse<'_>> for Finding {
    fn from(f: NotInUse<'_>) -> Finding {
        let name = &f.pool.name;
        let (title, why) = if f.unattached {
            (
                format!(
                    "target group {name} is not used by any load balancer: no request reaches it"
                ),
                format!(
                    "No load balancer lists {name} (its LoadBalancerArns is empty), so none of \
                     its {} target(s) gets a request through an ALB.",
                    f.registered
                ),
            )
        } else {
            (
                format!(
                    "{} of {} target(s) of {name} are unused with Target.NotInUse, none in service: no listener rule sends traffic to them",
                    f.not_in_use, f.registered
                ),
                format!(
                    "Target.NotInUse means the target group is not used by any rule of the load \
                     balancer, or the targets are in Availability Zones the load balancer has \
                     not enabled. {name} has targets; registering more would not help."
                ),
            )
        };
        finding(
            FindingCode::AlbTargetGroupNotInUse,
            Severity::Warning,
            Confidence::High,
            Layer::AwsAlb,
            title,
            format!(
                "{why} The 502s a client sees come from another target group, another load \
                 balancer or another layer: check which listener rule the failing requests match."
            ),
            f.evidence,
            "A listener rule or default action forwards to the group, and its targets are in the load balancer's zones.",
            vec![
                review_config(
                    "Attach the group: a listener rule or default action that forwards to it",
                    Some("aws elbv2 describe-rules --listener-arn <listener-arn>"),
                ),
                review_config(
                    "Or enable the targets' Availability Zones on the load balancer (a subnet in each)",
                    Some(
                        "aws elbv2 describe-load-balancers --load-balancer-arns <lb-arn> --query 'LoadBalancers[].AvailabilityZones[].ZoneName'",
                    ),
                ),
            ],
        )
    }
}

impl From<AllUnhealthy<'_>> for Finding {
    fn from(f: AllUnhealthy<'_>) -> Finding {
        let name = &f.pool.name;
        finding(
            FindingCode::AlbAllTargetsUnhealthy,
            Severity::Critical,
            Confidence::High,
            Layer::Application,
            format!(
                "every target of {name} is unhealthy: the ALB fails open and sends traffic to broken targets"
            ),
            format!(
                "All {} target(s) of {name} fail their health checks: {}. When every target is \
                 unhealthy the ALB routes to all of them anyway (fail-open), so clients get the \
                 502s and 504s of the broken targets rather than 503.",
                f.bad.len(),
                reasons_logged(f.ev, &f.bad, f.pool)
            ),
            f.evidence,
            "A target is healthy, or the targets answer the health check path with a matching status.",
            vec![
                check_backend(
                    "Fix the targets first: the service, the health-check path and port, and the security groups",
                    Some(&describe_health(f.pool)),
                ),
                review_config(
                    "If the service works, correct the health check (path, port, matcher) to what it serves",
                    None,
                ),
            ],
        )
    }
}

impl From<SomeUnhealthy<'_>> for Finding {
    fn from(f: SomeUnhealthy<'_>) -> Finding {
        finding(
            FindingCode::AlbTargetsUnhealthy,
            if f.serving_502 {
                Severity::Warning
            } else {
                Severity::Info
            },
            Confidence::High,
            Layer::Application,
            format!(
                "{} of {} target(s) of {} fail their health checks",
                f.bad.len(),
                f.registered,
                f.pool.name
            ),
            format!(
                "{}. The ALB stops routing to them; {} healthy target(s) carry the load. Requests \
                 already on a target when it turned unhealthy can fail.",
                reasons_logged(f.ev, &f.bad, f.pool),
                f.healthy
            ),
            f.evidence,
            "DescribeTargetHealth shows the targets healthy again.",
            vec![
                check_backend("Check the unhealthy targets' service and logs", None),
                scale_backend("If they fail under load, add capacity", None),
            ],
        )
    }
}

impl From<Unused<'_>> for Finding {
    fn from(f: Unused<'_>) -> Finding {
        finding(
            FindingCode::AlbTargetsUnused,
            Severity::Info,
            Confidence::High,
            Layer::AwsAlb,
            format!(
                "{} target(s) of {} are registered but unused",
                f.unused.len(),
                f.pool.name
            ),
            format!("{}. They get no traffic.", reasons(&f.unused, f.pool)),
            f.evidence,
            "DescribeTargetHealth no longer lists them as unused.",
            vec![check_backend(
                "Start or deregister the stopped instances; enable the targets' zones on the load balancer",
                None,
            )],
        )
    }
}

impl From<Draining<'_>> for Finding {
    fn from(f: Draining<'_>) -> Finding {
        let (severity, confidence) = match (f.tied > 0, f.serving_502) {
            (true, _) => (Severity::Critical, Confidence::High),
            (false, true) => (Severity::Warning, Confidence::Medium),
            (false, false) => (Severity::Info, Confidence::Low),
        };
        finding(
            FindingCode::AlbDeregistrationInFlight,
            severity,
            confidence,
            Layer::AwsAlb,
            format!(
                "{} target(s) of {} are draining{}",
                f.names.len(),
                f.pool.name,
                if f.serving_502 {
                    " while 502s are served"
                } else {
                    ""
                }
            ),
            format!(
                "{} are being deregistered (a deploy or scale-in); deregistration_delay is {} s. A \
                 target that stops or closes its connections before the delay ends, or a request \
                 longer than the delay, turns in-flight requests into 502s.{}",
                f.names.join(", "),
                f.delay,
                if f.tied > 0 {
                    format!(" {} 502 line(s) name a draining target.", f.tied)
                } else {
                    String::new()
                }
            ),
            f.evidence,
            "The 502s continue when no target is draining, or none names a draining target.",
            vec![
                adjust_timeouts(
                    "Make the service finish in-flight requests on SIGTERM and stay up for the whole deregistration delay",
                    None,
                ),
                adjust_timeouts(
                    "Raise deregistration_delay.timeout_seconds above the longest request",
                    None,
                ),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::alb::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    #[test]
    fn target_not_in_use_is_an_unused_group_not_an_empty_one() {
        let ev = alb(&[
            target("i-1", HealthState::Unused, Some("Target.NotInUse")),
            target("i-2", HealthState::Unused, Some("Target.NotInUse")),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, FindingCode::AlbTargetGroupNotInUse);
        let words = format!("{} {} {:?}", f[0].title, f[0].explanation, f[0].remediation);
        assert!(!words.contains("Register the"), "{words}");
        assert!(words.contains("Availability Zones"), "{words}");
        // A group no load balancer uses is flagged whatever its targets say.
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        ev.config.pools[0].settings.push(cloud502_model::Setting {
            name: "load_balancers".into(),
            value: String::new(),
            location: None,
            default: false,
        });
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbTargetGroupNotInUse);
        assert!(
            f[0].title.contains("not used by any load balancer"),
            "{}",
            f[0].title
        );
    }

    #[test]
    fn empty_target_group_says_503_not_502() {
        let ev = alb(&[]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbNoRegisteredTargets);
        assert!(f[0].title.contains("503, not 502"), "{}", f[0].title);
    }

    #[test]
    fn all_unhealthy_is_fail_open_with_the_reasons() {
        let ev = alb(&[
            target("i-1", HealthState::Unhealthy, Some("Target.Timeout")),
            target(
                "i-2",
                HealthState::Unhealthy,
                Some("Target.ResponseCodeMismatch"),
            ),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbAllTargetsUnhealthy);
        assert!(
            f[0].explanation.contains("timed out after 5 s"),
            "{}",
            f[0].explanation
        );
        assert!(
            f[0].explanation.contains("matcher 200"),
            "{}",
            f[0].explanation
        );
        assert!(f[0].evidence.contains(&"target.0".to_owned()));
        assert_eq!(f[0].severity, Severity::Critical);
    }

    #[test]
    fn health_check_logs_say_why_an_unhealthy_target_fails() {
        let mut t = target(
            "i-1",
            HealthState::Unhealthy,
            Some("Target.FailedHealthChecks"),
        );
        t.address = Some("10.0.0.7".into());
        let healthy = target("i-2", HealthState::Healthy, None);
        let mut ev = alb(&[t, healthy]);
        // As the AWS provider words the ELB health-check log's account of the target.
        ev.checks.push(cloud502_model::HostCheck {
            id: "logs.health-check.10.0.0.7:8080".into(),
            name: "health checks of 10.0.0.7:8080 (web) in the health-check logs".into(),
            status: CheckStatus::Fail,
            detail: "10 of 10 health checks failed between 2025-10-31T12:40:00Z and \
                     2025-10-31T12:44:58Z: TargetError (status 502) x10; last failure at \
                     2025-10-31T12:44:58Z"
                .into(),
        });
        // Another target's record is not this one's.
        ev.checks.push(cloud502_model::HostCheck {
            id: "logs.health-check.10.0.0.9:8080".into(),
            name: "health checks of 10.0.0.9:8080 (other) in the health-check logs".into(),
            status: CheckStatus::Fail,
            detail: "3 of 3 health checks failed: TimedOut x3".into(),
        });
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbTargetsUnhealthy);
        assert!(
            f[0].explanation
                .contains("health-check logs: 10 of 10 health checks failed"),
            "{}",
            f[0].explanation
        );
        assert!(f[0].explanation.contains("TargetError (status 502)"));
        assert!(
            !f[0].explanation.contains("TimedOut"),
            "{}",
            f[0].explanation
        );
        assert!(
            f[0].evidence
                .contains(&"logs.health-check.10.0.0.7:8080".to_owned())
        );
        assert!(
            !f[0]
                .evidence
                .contains(&"logs.health-check.10.0.0.9:8080".to_owned())
        );
    }

    #[test]
    fn some_unhealthy_is_a_warning_only_with_502s() {
        let mut ev = alb(&[
            target("i-1", HealthState::Healthy, None),
            target(
                "i-2",
                HealthState::Unhealthy,
                Some("Target.FailedHealthChecks"),
            ),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbTargetsUnhealthy);
        assert_eq!(f[0].severity, Severity::Info);
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 12.0));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].explanation.contains("could not connect"));
    }

    #[test]
    fn unused_and_stopped_targets_are_reported() {
        let ev = alb(&[
            target("i-1", HealthState::Healthy, None),
            target("i-2", HealthState::Unused, Some("Target.InvalidState")),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbTargetsUnused);
        assert!(f[0].explanation.contains("stopped or terminated"));
        // only unused targets: nothing is in service
        let ev = alb(&[target(
            "i-2",
            HealthState::Unused,
            Some("Target.InvalidState"),
        )]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbNoRegisteredTargets);
        assert!(
            f[0].title.contains("no target in service"),
            "{}",
            f[0].title
        );
    }

    #[test]
    fn draining_targets_named_by_502_lines_are_critical() {
        let mut t = target(
            "i-7",
            HealthState::Draining,
            Some("Target.DeregistrationInProgress"),
        );
        t.address = Some("10.0.1.7".into());
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None), t]);
        // a 502 on 10.0.1.70 is not on the draining 10.0.1.7
        ev.logs.push(alb_log(&[(
            LogClass::Status502NoHeader,
            Some("10.0.1.70:8080"),
            4,
            None,
        )]));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        let d = f
            .iter()
            .find(|f| f.code == FindingCode::AlbDeregistrationInFlight)
            .unwrap();
        assert_eq!(d.severity, Severity::Warning);
        ev.logs.clear();
        let f = run_rule(check, &ev);
        let d = f
            .iter()
            .find(|f| f.code == FindingCode::AlbDeregistrationInFlight)
            .unwrap();
        assert_eq!(d.severity, Severity::Info);
        ev.logs.push(alb_log(&[(
            LogClass::Status502NoHeader,
            Some("10.0.1.7:8080"),
            4,
            None,
        )]));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        let d = f
            .iter()
            .find(|f| f.code == FindingCode::AlbDeregistrationInFlight)
            .unwrap();
        assert_eq!(
            (d.severity, d.confidence),
            (Severity::Critical, Confidence::High)
        );
        assert!(d.explanation.contains("300 s"));
    }

    #[test]
    fn nothing_without_alb_evidence_or_when_health_was_not_read() {
        let mut ev = alb(&[]);
        ev.gaps.push(cloud502_model::Gap {
            scope: "aws:DescribeTargetHealth".into(),
            kind: cloud502_model::GapKind::Permission,
            message: "denied".into(),
            hint: None,
        });
        assert!(run_rule(check, &ev).is_empty());
    }

    use cloud502_model::LogClass;
}
