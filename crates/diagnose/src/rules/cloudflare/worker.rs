//! A Worker in front of the host (KB 9.3): when a Workers route's pattern covers the host, the
//! Worker answers the requests it matches and reaches the origin through its own subrequests
//! (`fetch`). A 502 visitors get there is the Worker's response: one the origin gave a
//! subrequest and the Worker passed on, or one the Worker made itself. Cloudflare records a
//! Worker's request and each subrequest apart (Logpush `WorkerSubrequest`, `ParentRayID`), so
//! the origin is not blamed on the Worker's behalf: this rule reports the 502s in place of
//! `cloudflare-origin-502` and `cloudflare-edge-502`, which `layer_502` leaves to it, and points at
//! the Worker's logs.
//!
//! The provider names each route in setting `worker` (`SCRIPT (PATTERN)`) and item
//! `cloudflare.worker.N`.

use crate::remediation::check_backend;
use crate::rules::Rule;
use crate::rules::cloudflare::shared::{self as cloudflare, Requests, existing};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, Layer, LogClass, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "cloudflare_worker",
    codes: &[FindingCode::CloudflareWorker502],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    let workers = cloudflare::workers(ev);
    if workers.is_empty() {
        return;
    }
    let from_origin = cloudflare::requests(ev, |g| g.class == LogClass::Status502FromUpstream);
    let from_edge = cloudflare::edge_errors(ev, 502);
    if from_origin.count + from_edge.count == 0 {
        return;
    }
    let mut evidence = existing(ev, (0..8).map(|i| format!("cloudflare.worker.{i}")));
    evidence.extend(existing(ev, ["cloudflare.analytics".to_owned()]));
    evidence.extend(from_origin.items.iter().cloned());
    evidence.extend(from_edge.items.iter().cloned());
    out.push(Finding::from(WorkerInFront {
        workers: workers.into_iter().map(str::to_owned).collect(),
        host: cloudflare::host(ev),
        from_origin,
        from_edge,
        evidence: crate::rules::dedup(evidence),
    }));
}

// ---- facts ----

/// 502s on a host a Worker answers.
struct WorkerInFront {
    /// `SCRIPT (PATTERN)` per route.
    workers: Vec<String>,
    host: String,
    /// 502s recorded with an origin status of 502 (a subrequest's answer).
    from_origin: Requests,
    /// 502s with no origin status (the Worker's own answer, or the edge's).
    from_edge: Requests,
    evidence: Vec<String>,
}

impl WorkerInFront {
    /// The first Worker's script name.
    fn script(&self) -> &str {
        self.workers
            .first()
            .and_then(|w| w.split(" (").next())
            .unwrap_or("<worker>")
    }
}

// ---- text ----

impl From<WorkerInFront> for Finding {
    fn from(f: WorkerInFront) -> Finding {
        let count = f.from_origin.count + f.from_edge.count;
        let script = f.script().to_owned();
        Finding {
            code: FindingCode::CloudflareWorker502,
            severity: Severity::Critical,
            confidence: Confidence::Medium,
            layer: Some(Layer::Cloudflare),
            title: format!(
                "Worker {script} runs in front of {}: its {count} 502(s) may come from the \
                 Worker or its subrequests, not the origin directly",
                f.host
            ),
            explanation: format!(
                "Workers route(s) {} cover {}: the Worker answers those requests and reaches the \
                 origin through its own subrequests. Cloudflare's request records show {} 502(s) \
                 with an origin status of 502{} and {} with none{}. A subrequest's 502 is the \
                 answer of whatever the Worker fetched (the origin, or another URL), which the \
                 Worker may pass on; a 502 without an origin status is the Worker's own response \
                 or failure. Cloudflare records a Worker's request and its subrequests apart \
                 (Logpush WorkerSubrequest, ParentRayID), so the origin is not blamed here on \
                 the Worker's behalf: the Worker's logs tell which fetch failed.",
                f.workers.join(", "),
                f.host,
                f.from_origin.count,
                f.from_origin.window(),
                f.from_edge.count,
                f.from_edge.window(),
            ),
            locations: Vec::new(),
            disproved_by: "The Worker's logs show its responses at those times as 2xx, or the \
                           failing requests do not match the route's pattern (the Worker did \
                           not run for them)."
                .to_owned(),
            remediation: vec![
                check_backend(
                    "Watch the Worker's requests and exceptions live (or read Workers Logs in \
                     the dashboard: Workers & Pages > the Worker > Logs): each entry names the \
                     fetch it made and the status it got",
                    Some(&format!(
                        "wrangler tail {script} --status error --format pretty"
                    )),
                ),
                check_backend(
                    "For each subrequest that got 502, check the URL the Worker fetched: when it \
                     is the origin, read the origin's own logs for the Ray ID",
                    None,
                ),
            ],
            next_command: Some(format!(
                "wrangler tail {script} --status error --format pretty"
            )),
            evidence: f.evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::cloudflare::shared::tests_support::*;
    use cloud502_model::Setting;

    #[test]
    fn a_worker_in_front_takes_the_502s_from_the_origin() {
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[
                (
                    LogClass::Status502FromUpstream,
                    502,
                    Some(ORIGIN),
                    "AMS",
                    12,
                    "2025-06-01T10:00:00Z",
                    "2025-06-01T10:10:00Z",
                ),
                (
                    LogClass::EdgeError,
                    502,
                    None,
                    "AMS",
                    3,
                    "2025-06-01T10:00:00Z",
                    "2025-06-01T10:10:00Z",
                ),
            ],
        );
        ev.config.settings.push(Setting {
            name: "worker".into(),
            value: "edge-router (www.example.com/*)".into(),
            location: None,
            default: false,
        });
        ev.add_item(
            "cloudflare.worker.0",
            "cloudflare:workers/routes",
            "Workers route www.example.com/* runs Worker edge-router",
        );
        let findings = crate::rules::diagnose(&ev);
        assert_cited_exist(&ev, &findings);
        let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes.first(),
            Some(&FindingCode::CloudflareWorker502),
            "{codes:?}"
        );
        assert!(
            !codes.contains(&FindingCode::CloudflareOrigin502)
                && !codes.contains(&FindingCode::CloudflareEdge502),
            "{codes:?}"
        );
        assert_eq!(findings[0].confidence, Confidence::Medium);
        assert!(
            findings[0].title.contains("15 502(s)"),
            "{}",
            findings[0].title
        );
    }
}
