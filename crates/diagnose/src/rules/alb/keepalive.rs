//! The keep-alive rule (KB 1.6, 1.9 #3, #4): a target that closes an idle connection before the
//! ALB's idle timeout races the ALB sending the next request on it, and the client gets a 502 with
//! target_status_code `-`, request_processing_time >= 0 and target_processing_time -1. When most
//! requests fail that way it is not a race but a target that closes or answers garbage.
//!
//! The check gathers the facts (`Closes`, read as a `Race` or as `Malformed`, or a `Reminder`); each
//! words its own finding below them.

use crate::remediation::{adjust_timeouts, check_backend};
use crate::rules::Rule;
use crate::rules::alb::shared::{
    Lines, any_502, finding, idle_timeout, is_alb, lines, metric, total_lines,
};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, HealthState, Layer, LogClass, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "alb_keepalive",
    codes: &[
        FindingCode::AlbKeepaliveRace,
        FindingCode::AlbTargetMalformedResponse,
        FindingCode::AlbIdleTimeoutKeepalive,
    ],
    check,
};

/// nginx's default keepalive_timeout, the longest of the common servers' defaults: an ALB idle
/// timeout at or above it outlasts them all.
const LONG_IDLE: u32 = 75;

/// What to say of nginx's default keepalive_timeout (75 s) against this idle timeout.
fn nginx_words(idle: u32) -> String {
    if idle < LONG_IDLE {
        format!("nginx's keepalive_timeout default of 75 s is longer than {idle} s")
    } else {
        format!(
            "nginx's keepalive_timeout default of 75 s is not longer than {idle} s either: raise it above {idle} s"
        )
    }
}

/// The second remedy when the idle timeout is long: lowering it is often simpler than raising
/// every server's keep-alive.
fn lower_idle(idle: u32) -> Option<cloud502_model::Remediation> {
    (idle >= LONG_IDLE).then(|| {
        adjust_timeouts(
            &format!(
                "Or lower the ALB idle timeout below the targets' keep-alive timeout (it is {idle} s; AWS's default is 60 s)"
            ),
            Some("aws elbv2 modify-load-balancer-attributes --load-balancer-arn <lb-arn> --attributes Key=idle_timeout.timeout_seconds,Value=60"),
        )
    })
}

/// Above this share of requests, the signature is a broken target, not a race.
const RACE_MAX_SHARE: f64 = 0.2;

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_alb(ev) {
        return;
    }
    let (idle, idle_read) = idle_timeout(ev);
    let idle = Idle {
        seconds: idle,
        read: idle_read,
    };
    let closed = lines(ev, &[LogClass::Status502NoHeader]);
    if closed.count == 0 {
        // 502s without the per-request signature: remind of the rule, which the logs would show.
        let (n, evidence) = any_502(ev);
        let logs_read = ev
            .logs
            .iter()
            .any(|l| l.dialect == crate::rules::alb::shared::DIALECT);
        // An idle timeout of 75 s or more outlasts most servers' keep-alive defaults (nginx's
        // 75 s included): worth saying even before a 502 is counted.
        if !logs_read && (n > 0 || (idle.read && idle.seconds >= LONG_IDLE)) {
            out.push(Finding::from(Reminder { idle, evidence }));
        }
        return;
    }
    let requests = metric(ev, "RequestCount")
        .map(|(v, _)| v as u64)
        .filter(|v| *v > 0)
        .unwrap_or_else(|| total_lines(ev));
    let unhealthy = ev
        .targets
        .iter()
        .any(|t| t.health == HealthState::Unhealthy);
    let mut closes = Closes {
        evidence: closed.items.clone(),
        closed,
        requests,
        unhealthy,
        idle,
    };
    if closes.share() > RACE_MAX_SHARE {
        out.push(Finding::from(Malformed(closes)));
        return;
    }
    closes.evidence.extend(
        ev.items
            .iter()
            .filter(|i| i.id.starts_with("config.pool."))
            .map(|i| i.id.clone()),
    );
    out.push(Finding::from(Race(closes)));
}

// ---- facts ----

/// The ALB's idle timeout, and whether it was read (else AWS's default).
#[derive(Clone, Copy)]
struct Idle {
    seconds: u32,
    read: bool,
}

/// 502s, no access logs to tell how: the keep-alive rule as a reminder.
struct Reminder {
    idle: Idle,
    evidence: Vec<String>,
}

/// Requests the target closed (or answered garbage) after the ALB sent them.
struct Closes {
    /// The `502 -` lines with target_processing_time -1.
    closed: Lines,
    /// All requests in the window (RequestCount, else the lines read).
    requests: u64,
    /// Some target is unhealthy.
    unhealthy: bool,
    idle: Idle,
    evidence: Vec<String>,
}

impl Closes {
    /// The closed requests' share of all requests.
    fn share(&self) -> f64 {
        if self.requests > 0 {
            self.closed.count as f64 / self.requests as f64
        } else {
            0.0
        }
    }
}

/// Too many closes for a race: a target that closes or answers garbage.
struct Malformed(Closes);

/// A sporadic share of closes: the keep-alive race.
struct Race(Closes);

// ---- text ----

impl Idle {
    /// `60 s`, or `60 s (AWS's default)`.
    fn text(self) -> String {
        if self.read {
            format!("{} s", self.seconds)
        } else {
            format!("{} s (AWS's default)", self.seconds)
        }
    }
}

impl From<Reminder> for Finding {
    fn from(f: Reminder) -> Finding {
        let (idle, idle_text) = (f.idle.seconds, f.idle.text());
        let mut remediation = vec![adjust_timeouts(
            &format!(
                "Set the targets' keep-alive timeout above {idle} s (e.g. Node.js server.keepAliveTimeout = {}000)",
                idle + 5
            ),
            None,
        )];
        remediation.extend(lower_idle(idle));
        finding(
            FindingCode::AlbIdleTimeoutKeepalive,
            if idle >= LONG_IDLE {
                Severity::Warning
            } else {
                Severity::Info
            },
            Confidence::Low,
            Layer::Application,
            format!(
                "check that every target's keep-alive timeout is longer than the ALB idle timeout ({idle_text})"
            ),
            format!(
                "The application's keep-alive (idle) timeout must be larger than the ALB's \
                 idle_timeout.timeout_seconds ({idle_text}), else the target closes a connection \
                 the ALB is about to reuse and the client gets a 502. Defaults that break it: \
                 Node.js keepAliveTimeout 5 s, gunicorn 2 s, Apache KeepAliveTimeout 5 s; {}. \
                 Access logs would show it as target_status_code `-` with target_processing_time \
                 -1.",
                nginx_words(idle)
            ),
            f.evidence,
            "The targets' keep-alive timeouts are all longer than the idle timeout.",
            remediation,
        )
    }
}

impl From<Malformed> for Finding {
    fn from(Malformed(f): Malformed) -> Finding {
        finding(
            FindingCode::AlbTargetMalformedResponse,
            Severity::Critical,
            if f.unhealthy {
                Confidence::High
            } else {
                Confidence::Medium
            },
            Layer::Application,
            format!(
                "{} request(s) ({:.0}%) failed because the target closed the connection or answered garbage",
                f.closed.count,
                f.share() * 100.0
            ),
            format!(
                "{} of {} requests got a 502 with target_status_code `-` and \
                 target_processing_time -1: the ALB sent the request, then the target closed the \
                 connection or sent a response the ALB could not parse. That many is not a \
                 keep-alive race. Targets: {}.",
                f.closed.count,
                f.requests,
                f.closed.target_list()
            ),
            f.evidence,
            "The failing requests are a small, sporadic share: then it is the keep-alive race.",
            vec![check_backend(
                "Reproduce against a target directly and read the raw response",
                Some("curl -v --http1.1 http://<target-ip>:<port>/<path>"),
            )],
        )
    }
}

impl From<Race> for Finding {
    fn from(Race(f): Race) -> Finding {
        let (idle, idle_text) = (f.idle.seconds, f.idle.text());
        let mut remediation = vec![adjust_timeouts(
            &format!(
                "Raise the targets' keep-alive timeout above {idle} s: Node.js server.keepAliveTimeout = {}000 (and headersTimeout higher), gunicorn --keep-alive {}, Apache KeepAliveTimeout {}; {}",
                idle + 5,
                idle + 5,
                idle + 5,
                nginx_words(idle)
            ),
            None,
        )];
        remediation.extend(lower_idle(idle));
        finding(
            FindingCode::AlbKeepaliveRace,
            Severity::Critical,
            if f.unhealthy {
                Confidence::Medium
            } else {
                Confidence::High
            },
            Layer::Application,
            format!(
                "targets close keep-alive connections before the ALB idle timeout ({idle_text}): {} sporadic 502(s)",
                f.closed.count
            ),
            format!(
                "{} request(s){} got a 502 with target_status_code `-`, request_processing_time \
                 >= 0 and target_processing_time -1 while the targets were {}: the target closed \
                 an idle connection just as the ALB sent a request on it. The target's keep-alive \
                 timeout must be longer than the ALB's idle_timeout.timeout_seconds, \
                 {idle_text}. Targets: {}.",
                f.closed.count,
                if f.requests > 0 {
                    format!(" of {} ({:.1}%)", f.requests, f.share() * 100.0)
                } else {
                    String::new()
                },
                if f.unhealthy {
                    "partly unhealthy"
                } else {
                    "healthy"
                },
                f.closed.target_list()
            ),
            f.evidence,
            "The targets' keep-alive timeouts are already longer than the idle timeout, or the \
             502s are not sporadic.",
            remediation,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::alb::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    #[test]
    fn filtered_cloudwatch_events_alone_do_not_make_a_share() {
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        let mut log = alb_log(&[(LogClass::Status502NoHeader, Some("10.0.1.13:8080"), 5, None)]);
        log.source = "cloudwatch-logs:/alb/access".into();
        ev.logs.push(log);
        crate::describe::describe(&mut ev);
        assert_eq!(run_rule(check, &ev)[0].code, FindingCode::AlbKeepaliveRace);
    }

    fn ev_with(count: u64, requests: f64) -> Evidence {
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        ev.logs.push(alb_log(&[(
            LogClass::Status502NoHeader,
            Some("10.0.1.13:8080"),
            count,
            None,
        )]));
        ev.metrics.push(metric_of("RequestCount", requests));
        crate::describe::describe(&mut ev);
        ev
    }

    #[test]
    fn sporadic_target_closes_on_healthy_targets_are_the_race() {
        let f = run_rule(check, &ev_with(3, 1000.0));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::AlbKeepaliveRace);
        assert_eq!(f[0].confidence, Confidence::High);
        assert!(f[0].explanation.contains("60 s"), "{}", f[0].explanation);
        assert!(f[0].remediation[0].step.contains("65"));
    }

    fn set_idle(ev: &mut Evidence, seconds: &str) {
        for st in &mut ev.config.settings {
            if st.name == "idle_timeout.timeout_seconds" {
                st.value = seconds.into();
            }
        }
    }

    #[test]
    fn at_75_s_or_more_nginx_is_not_fine_and_lowering_the_idle_timeout_is_offered() {
        let mut ev = ev_with(3, 1000.0);
        set_idle(&mut ev, "120");
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbKeepaliveRace);
        let steps: Vec<&str> = f[0].remediation.iter().map(|r| r.step.as_str()).collect();
        assert!(!steps[0].contains("is fine"), "{steps:?}");
        assert!(steps[0].contains("not longer than 120 s"), "{steps:?}");
        assert!(steps[1].contains("lower the ALB idle timeout"), "{steps:?}");
        // Below 75 s, nginx's default is longer and no lowering is offered.
        let f = run_rule(check, &ev_with(3, 1000.0));
        assert_eq!(f[0].remediation.len(), 1);
        assert!(
            f[0].remediation[0]
                .step
                .contains("75 s is longer than 60 s")
        );
    }

    #[test]
    fn a_long_idle_timeout_without_logs_is_a_warning_even_before_a_502() {
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        set_idle(&mut ev, "4000");
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, FindingCode::AlbIdleTimeoutKeepalive);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].remediation
                .iter()
                .any(|r| r.step.contains("lower the ALB idle timeout"))
        );
        // The default 60 s with no 502 and no logs says nothing.
        let ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn most_requests_failing_is_a_broken_target_not_a_race() {
        let f = run_rule(check, &ev_with(400, 1000.0));
        assert_eq!(f[0].code, FindingCode::AlbTargetMalformedResponse);
    }

    #[test]
    fn without_logs_502s_get_the_reminder_at_info() {
        let mut ev = alb(&[target("i-1", HealthState::Healthy, None)]);
        assert!(run_rule(check, &ev).is_empty());
        ev.metrics.push(metric_of("HTTPCode_ELB_502_Count", 3.0));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AlbIdleTimeoutKeepalive);
        assert_eq!(f[0].severity, Severity::Info);
    }
}
