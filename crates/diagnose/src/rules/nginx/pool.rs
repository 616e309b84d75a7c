//! max_fails / fail_timeout: one failure marks a server down for fail_timeout, so a short blip
//! becomes seconds of "no live upstreams" 502s that hide the first error (KB 4.5, 4.7 #9).
//!
//! The check gathers a `Masking` fact per upstream; its text is beside it.

use crate::describe::pool_id;
use crate::remediation::{adjust_timeouts, check_backend};
use crate::rules::Rule;
use crate::rules::nginx::shared::{finding, peer, seen};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, LogClass, Pool, Severity, SourceLocation,
};

pub(crate) const RULE: Rule = Rule {
    name: "nginx_pool",
    codes: &[FindingCode::NginxMaxFailsMasking],
    check,
};

/// The classes that can mark a server failed (proxy_next_upstream's default `error timeout`).
const FAILURES: &[LogClass] = &[
    LogClass::ConnectRefused,
    LogClass::ConnectFailed,
    LogClass::ConnectUnreachable,
    LogClass::ConnectNoSocket,
    LogClass::ConnectPermission,
    LogClass::ConnectBacklog,
    LogClass::ConnectTimeout,
    LogClass::ReadTimeout,
    LogClass::PrematureClose,
    LogClass::ConnectionReset,
    LogClass::BrokenPipe,
    LogClass::InvalidHeader,
    LogClass::TooBigHeader,
    LogClass::TlsHandshake,
];

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    for pool in &ev.config.pools {
        let no_live = seen(ev, &[LogClass::NoLiveUpstreams], Some(&pool.name));
        let mut disabled = seen(ev, &[LogClass::UpstreamDisabled], None);
        disabled
            .upstreams
            .retain(|(u, _)| pool.members.iter().any(|m| peer(&m.address) == *u));
        if no_live.is_empty() && disabled.upstreams.is_empty() {
            continue;
        }
        let mut causes = Vec::new();
        let mut evidence = no_live.items.clone();
        evidence.extend(disabled.items.iter().cloned());
        for m in &pool.members {
            let s = seen(ev, FAILURES, Some(&peer(&m.address)));
            if !s.is_empty() {
                evidence.extend(s.items.iter().cloned());
                causes.push((m.address.as_str(), s.classes));
            }
        }
        if ev.item(&pool_id(pool)).is_some() {
            evidence.push(pool_id(pool));
        }
        let mut locations: Vec<_> = pool
            .members
            .iter()
            .filter_map(|m| m.location.clone())
            .collect();
        locations.extend(pool.location.clone());
        out.push(Finding::from(Masking {
            pool,
            no_live: no_live.count(),
            causes,
            evidence,
            locations,
        }));
    }
}

// ---- facts ----

/// Servers of an upstream taken out by max_fails, then "no live upstreams".
struct Masking<'a> {
    pool: &'a Pool,
    /// Requests answered "no live upstreams".
    no_live: u64,
    /// Each member with the failure classes the logs show for it.
    causes: Vec<(&'a str, Vec<LogClass>)>,
    evidence: Vec<String>,
    locations: Vec<SourceLocation>,
}

// ---- text ----

impl Masking<'_> {
    /// `ADDR max_fails=N fail_timeout=T` for each member.
    fn params(&self) -> Vec<String> {
        self.pool
            .members
            .iter()
            .map(|m| {
                let get = |n: &str| m.setting(n).map_or("?", |s| s.value.as_str()).to_owned();
                format!(
                    "{} max_fails={} fail_timeout={}",
                    m.address,
                    get("max_fails"),
                    get("fail_timeout")
                )
            })
            .collect()
    }

    /// The failures that marked the servers down, or that the logs do not show them.
    fn first(&self) -> String {
        if self.causes.is_empty() {
            return "the first failures are not in the logs read".to_owned();
        }
        let causes: Vec<String> = self
            .causes
            .iter()
            .map(|(address, classes)| {
                format!(
                    "{address}: {}",
                    classes
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        format!("the failures that marked them down: {}", causes.join("; "))
    }
}

impl From<Masking<'_>> for Finding {
    fn from(f: Masking<'_>) -> Finding {
        let pool = &f.pool.name;
        // servers taken out while others served every request affected no one: a note, not a
        // warning with "0 request(s)" in it
        let (severity, title) = if f.no_live == 0 {
            (
                Severity::Info,
                format!(
                    "upstream {pool}: max_fails took servers out for fail_timeout; the others \
                     served the requests (none got \"no live upstreams\")"
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "upstream {pool}: max_fails took servers out; {} request(s) then got \"no \
                     live upstreams\"",
                    f.no_live
                ),
            )
        };
        finding(
            FindingCode::NginxMaxFailsMasking,
            severity,
            if f.causes.is_empty() {
                Confidence::Medium
            } else {
                Confidence::High
            },
            title,
            format!(
                "In upstream {pool} ({}), a server that fails max_fails times within fail_timeout \
                 is skipped for fail_timeout, and when all are skipped nginx answers 502 \"no live \
                 upstreams\" without trying any. Those 502s outlast the failure and hide its \
                 cause: {}.",
                f.params().join(", "),
                f.first()
            ),
            f.evidence.clone(),
            f.locations.clone(),
            "No \"upstream server temporarily disabled\" or \"no live upstreams\" lines appear, \
             or the servers were down for the whole time.",
            vec![
                check_backend(
                    "Fix the failure that marked the servers down (see the other findings)",
                    None,
                ),
                adjust_timeouts(
                    "Tune max_fails / fail_timeout (e.g. max_fails=3 fail_timeout=5s), or add a \
                     backup server",
                    None,
                ),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;

    #[test]
    fn no_live_upstreams_names_the_failures_that_marked_servers_down() {
        let mut ev = nginx(&["10.0.0.5:8080", "10.0.0.6:8080"], Vec::new(), Vec::new());
        let mut out = Vec::new();
        check(&ev, &mut out);
        assert!(out.is_empty());
        ev.logs.push(error_log(&[
            (LogClass::ConnectRefused, "10.0.0.5:8080", 2),
            (LogClass::UpstreamDisabled, "10.0.0.5:8080", 1),
            (LogClass::NoLiveUpstreams, "app", 7),
        ]));
        crate::describe::describe(&mut ev);
        check(&ev, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, FindingCode::NginxMaxFailsMasking);
        assert_eq!(out[0].confidence, Confidence::High);
        assert!(out[0].title.contains("7 request(s)"), "{}", out[0].title);
        assert!(
            out[0]
                .explanation
                .contains("10.0.0.5:8080: connect-refused"),
            "{}",
            out[0].explanation
        );
        assert_eq!(out[0].severity, Severity::Warning);
    }

    #[test]
    fn servers_taken_out_with_no_request_affected_are_a_note() {
        let mut ev = nginx(&["10.0.0.5:8080", "10.0.0.6:8080"], Vec::new(), Vec::new());
        ev.logs.push(error_log(&[
            (LogClass::ConnectRefused, "10.0.0.5:8080", 1),
            (LogClass::UpstreamDisabled, "10.0.0.5:8080", 1),
        ]));
        crate::describe::describe(&mut ev);
        let mut out = Vec::new();
        check(&ev, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Info);
        assert!(!out[0].title.contains("0 request"), "{}", out[0].title);
    }
}
