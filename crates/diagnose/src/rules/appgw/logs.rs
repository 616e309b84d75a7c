//! What the access log's `ErrorInfo` and `ServerStatus` say about each failed request (KB 2.3,
//! 2.5 #8, #9, #11): the backend did not answer within `requestTimeout` (a 504 on v2, a 502 on
//! v1), closed the connection, or answered 502 itself. Fires on `appgw-access` logs whoever read
//! them: `cloud502 azure` from Log Analytics, or `cloud502 logs` on a saved file.
//!
//! The check gathers facts (`FromBackend`, `Closed`, `TimedOut`); each words its own finding below
//! them.

use crate::remediation::{adjust_timeouts, check_backend, scale_backend};
use crate::rules::Rule;
use crate::rules::alb::shared::Lines;
use crate::rules::appgw::shared::{
    finding, gateway, has_logs, is_v2, lines, lines_where, route_items, routes_of_upstream, value,
};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Layer, LogClass, LogGroup, Route, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "appgw_logs",
    codes: &[
        FindingCode::AppgwRequestTimeout,
        FindingCode::AppgwBackendClosedConnection,
        FindingCode::AppgwBackendReturned502,
        FindingCode::AppgwV1LogsCannotTell,
    ],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !has_logs(ev) {
        return;
    }
    out.extend(from_backend(ev).map(Finding::from));
    out.extend(closed(ev).map(Finding::from));
    out.extend(timeouts(ev).into_iter().map(Finding::from));
    out.extend(v1_blind(ev).map(Finding::from));
}

/// Whether these access logs come from a v1 gateway: the SKU says so, or (a saved log, no SKU
/// read) its records carry `httpStatus` and no `serverStatus`, as v1's access log does
/// (application-gateway-diagnostics.md; KB 9.1).
fn v1_logs(ev: &Evidence) -> bool {
    match is_v2(ev) {
        Some(v2) => !v2,
        None => {
            let texts: Vec<String> = ev
                .logs
                .iter()
                .filter(|l| l.dialect == crate::rules::appgw::shared::DIALECT)
                .flat_map(|l| {
                    l.groups
                        .iter()
                        .map(|g| g.sample.text.to_ascii_lowercase())
                        .chain(l.samples.iter().map(|s| s.to_ascii_lowercase()))
                })
                .collect();
            !texts.is_empty()
                && texts
                    .iter()
                    .all(|t| t.contains("\"httpstatus\"") && !t.contains("serverstatus"))
        }
    }
}

/// 502s a v1 gateway logged: its access log has no ErrorInfo, ServerStatus or ServerRouted,
/// so whether the gateway had no live backend, the backend closed the connection, timed out or
/// answered 502 itself cannot be told from it (KB 9.1).
fn v1_blind(ev: &Evidence) -> Option<V1Blind> {
    if !v1_logs(ev) {
        return None;
    }
    let lines = lines(ev, &[LogClass::Status502]);
    (lines.count > 0).then(|| V1Blind {
        health_read: crate::rules::appgw::shared::health_read(ev),
        gateway: gateway(ev),
        lines,
    })
}

/// The routes the logged servers (`ServerRouted`) belong to; every route when none is named
/// or none matches.
fn routes_for<'a>(ev: &'a Evidence, upstreams: &[(String, u64)]) -> Vec<&'a Route> {
    let mut routes: Vec<&Route> = Vec::new();
    for (u, _) in upstreams {
        for r in routes_of_upstream(ev, u) {
            if !routes.iter().any(|x| x.id == r.id) {
                routes.push(r);
            }
        }
    }
    if routes.is_empty() {
        ev.config.routes.iter().collect()
    } else {
        routes
    }
}

/// `ERRORINFO_UPSTREAM_TIMED_OUT` (KB 2.5 #8): v2 retries on a second member and answers 504;
/// v1 answers 502 after requestTimeout (default 20 s).
fn timeouts(ev: &Evidence) -> Vec<TimedOut<'_>> {
    let sku_v2 = is_v2(ev);
    // The status the dialect records is what the client got; without it, the SKU decides.
    let v2_of = |g: &LogGroup| match g.status {
        Some(504) => true,
        Some(502) => false,
        _ => sku_v2 != Some(false),
    };
    let mut found = Vec::new();
    for v2 in [true, false] {
        let lines = lines_where(ev, |g| g.class == LogClass::ReadTimeout && v2_of(g) == v2);
        if lines.count == 0 {
            continue;
        }
        let routes = routes_for(ev, &lines.targets);
        let timeouts = request_timeouts(&routes);
        let mut evidence = lines.items.clone();
        evidence.extend(
            route_items(ev, &routes)
                .into_iter()
                .filter(|_| !timeouts.is_empty()),
        );
        found.push(TimedOut {
            v2,
            lines,
            timeouts,
            settings: routes
                .first()
                .and_then(|r| value(r, "backendHttpSettings"))
                .unwrap_or("<http-settings>"),
            gateway: gateway(ev),
            evidence,
        });
    }
    found
}

/// `requestTimeout 20 s (HTTP settings web-settings)` for each distinct HTTP settings.
fn request_timeouts(routes: &[&Route]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in routes {
        let Some(t) = r.setting("requestTimeout") else {
            continue;
        };
        let text = format!(
            "requestTimeout {} s{} (HTTP settings {})",
            t.value,
            if t.default { ", the default" } else { "" },
            value(r, "backendHttpSettings").unwrap_or("?")
        );
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// `ERRORINFO_UPSTREAM_CLOSED_CONNECTION` (KB 2.5 #9).
fn closed(ev: &Evidence) -> Option<Closed> {
    let lines = lines(ev, &[LogClass::PrematureClose]);
    if lines.count == 0 {
        return None;
    }
    // Fewer than the 502s made another way: a second cause, not the main one.
    let other = lines_where(ev, |g| {
        matches!(
            g.class,
            LogClass::NoLiveUpstreams | LogClass::Status502FromUpstream
        ) || (g.class == LogClass::ReadTimeout && g.status == Some(502))
    });
    let routes = routes_for(ev, &lines.targets);
    let mut evidence = lines.items.clone();
    if !lines.targets.is_empty() {
        evidence.extend(route_items(ev, &routes));
    }
    Some(Closed {
        lines,
        other: other.count,
        evidence,
    })
}

/// `HttpStatus` 502 with `ServerStatus` 502: the backend made the 502 (KB 2.5 #11).
fn from_backend(ev: &Evidence) -> Option<FromBackend<'_>> {
    let lines = lines(ev, &[LogClass::Status502FromUpstream]);
    if lines.count == 0 {
        return None;
    }
    // 502s the gateway made itself, for comparison.
    let made = lines_where(ev, |g| {
        matches!(
            g.class,
            LogClass::NoLiveUpstreams | LogClass::PrematureClose | LogClass::Status502
        ) || (g.class == LogClass::ReadTimeout && g.status == Some(502))
    });
    let routes = routes_for(ev, &lines.targets);
    let mut evidence = lines.items.clone();
    if !lines.targets.is_empty() {
        evidence.extend(route_items(ev, &routes));
    }
    Some(FromBackend {
        host: routes
            .first()
            .and_then(|r| r.server_names.first())
            .map(String::as_str)
            .unwrap_or("<host>"),
        lines,
        made: made.count,
        evidence,
    })
}

// ---- facts ----

/// Requests whose backend sent no response within requestTimeout, for one SKU's outcome.
struct TimedOut<'a> {
    /// The v2 gateway (retries, then 504), else v1 (502).
    v2: bool,
    lines: Lines,
    /// The requestTimeout of each HTTP settings involved, in words.
    timeouts: Vec<String>,
    /// The first route's HTTP settings.
    settings: &'a str,
    gateway: (String, String),
    evidence: Vec<String>,
}

/// Requests whose backend closed the connection before answering.
struct Closed {
    lines: Lines,
    /// 502s made another way.
    other: u64,
    evidence: Vec<String>,
}

/// Requests whose backend answered 502 itself.
struct FromBackend<'a> {
    lines: Lines,
    /// 502s the gateway made itself.
    made: u64,
    /// The first route's host name.
    host: &'a str,
    evidence: Vec<String>,
}

/// 502s in a v1 gateway's access log, which does not say who made them.
struct V1Blind {
    lines: Lines,
    /// Backend health was read in the same run (its findings name the servers down now).
    health_read: bool,
    gateway: (String, String),
}

// ---- text ----

fn upstream_text(l: &Lines) -> String {
    if l.targets.is_empty() {
        String::new()
    } else {
        format!(" (ServerRouted: {})", l.target_list())
    }
}

impl TimedOut<'_> {
    fn timeout_text(&self) -> String {
        if !self.timeouts.is_empty() {
            self.timeouts.join(", ")
        } else if self.v2 {
            "requestTimeout".to_owned()
        } else {
            "requestTimeout (20 s by default)".to_owned()
        }
    }

    fn title(&self) -> String {
        let (count, timeout_text) = (self.lines.count, self.timeout_text());
        if self.v2 {
            format!(
                "{count} request(s) timed out waiting for the backend after {timeout_text}: the v2 gateway retried another member and answered 504, not 502"
            )
        } else {
            format!(
                "{count} request(s) got 502 after the backend did not answer within {timeout_text}"
            )
        }
    }

    fn explanation(&self) -> String {
        let (count, timeout_text) = (self.lines.count, self.timeout_text());
        let upstream = upstream_text(&self.lines);
        if self.v2 {
            format!(
                "The access log records ERRORINFO_UPSTREAM_TIMED_OUT for {count} \
                 request(s){upstream}: the backend accepted the request but sent no response \
                 within the HTTP settings' {timeout_text}. Application Gateway v2 then retries \
                 the request on a second member of the pool and, when that times out too, \
                 answers 504. These are the slow-backend 504s next to the 502s, not a cause of \
                 502."
            )
        } else {
            format!(
                "The access log records ERRORINFO_UPSTREAM_TIMED_OUT for {count} \
                 request(s){upstream}: the backend accepted the request but sent no response \
                 within {timeout_text}, and the v1 gateway answered 502."
            )
        }
    }
}

impl From<TimedOut<'_>> for Finding {
    fn from(f: TimedOut<'_>) -> Finding {
        let (rg, gw) = &f.gateway;
        finding(
            FindingCode::AppgwRequestTimeout,
            if f.v2 {
                Severity::Warning
            } else {
                Severity::Critical
            },
            Confidence::High,
            Layer::AzureAppgw,
            f.title(),
            f.explanation(),
            f.evidence.clone(),
            "The same requests sent to the backend directly answer well within requestTimeout, or \
             the failing rows carry another ErrorInfo.",
            vec![
                check_backend(
                    "Find the slow requests and the backends that served them",
                    Some(
                        "AGWAccessLogs | where ErrorInfo == \"ERRORINFO_UPSTREAM_TIMED_OUT\" | summarize count(), max(TimeTaken) by ServerRouted, BackendSettingName, RequestUri | top 20 by count_",
                    ),
                ),
                adjust_timeouts(
                    "If those requests are expected to be slow (reports, uploads), raise requestTimeout on the HTTP settings; otherwise fix the slow backend",
                    Some(&format!(
                        "az network application-gateway http-settings update -g {rg} --gateway-name {gw} -n {} --timeout <seconds>",
                        f.settings
                    )),
                ),
                scale_backend(
                    "If the backend is saturated, add capacity to the pool",
                    None,
                ),
            ],
        )
    }
}

impl From<Closed> for Finding {
    fn from(f: Closed) -> Finding {
        let count = f.lines.count;
        finding(
            FindingCode::AppgwBackendClosedConnection,
            Severity::Critical,
            if count >= f.other {
                Confidence::High
            } else {
                Confidence::Medium
            },
            Layer::AzureAppgw,
            format!(
                "{count} request(s) got 502: the backend closed the connection before answering (ERRORINFO_UPSTREAM_CLOSED_CONNECTION)"
            ),
            format!(
                "The access log records ERRORINFO_UPSTREAM_CLOSED_CONNECTION for {count} \
                 request(s){}: the gateway sent the request and the backend closed or reset the \
                 connection without a response, so the gateway answered 502. A backend process \
                 that crashed or was restarted (a deploy, an OOM kill, a recycled App Service), a \
                 request the backend rejects by closing, or a backend that drops idle keep-alive \
                 connections the gateway is about to reuse are the usual reasons; the gateway's \
                 own backend keep-alive timeout is not documented, so the last is a heuristic.",
                upstream_text(&f.lines)
            ),
            f.evidence,
            "The backend's own logs show it answered those requests (match by time and URI), or \
             the 502 rows carry another ErrorInfo.",
            vec![
                check_backend(
                    "Line the failures up with the backend's logs, restarts and deploys at the same times",
                    Some(
                        "AGWAccessLogs | where ErrorInfo == \"ERRORINFO_UPSTREAM_CLOSED_CONNECTION\" | summarize count() by bin(TimeGenerated, 5m), ServerRouted",
                    ),
                ),
                adjust_timeouts(
                    "Make the backend's keep-alive (idle) timeout long, e.g. 120 s or more, so it does not close connections the gateway still reuses (Node.js server.keepAliveTimeout, gunicorn --keep-alive, IIS connectionTimeout)",
                    None,
                ),
            ],
        )
    }
}

impl From<FromBackend<'_>> for Finding {
    fn from(f: FromBackend<'_>) -> Finding {
        let count = f.lines.count;
        let first = f
            .lines
            .targets
            .first()
            .map_or("<backend-ip>:<port>", |(t, _)| t.as_str());
        let mut finding = finding(
            FindingCode::AppgwBackendReturned502,
            Severity::Critical,
            if count >= f.made {
                Confidence::High
            } else {
                Confidence::Medium
            },
            Layer::Application,
            format!(
                "{count} request(s) got a 502 the backend itself returned (ServerStatus 502): the gateway relayed it"
            ),
            format!(
                "{count} access-log row(s) have HttpStatus 502 and ServerStatus 502{}: the \
                 backend answered 502 and the gateway passed it on. The backend is often a proxy \
                 itself (nginx, an ingress controller, App Service's front end) whose own \
                 upstream failed: diagnose that layer next.{}",
                upstream_text(&f.lines),
                if f.made > 0 {
                    format!(" The gateway also made {} 502(s) of its own.", f.made)
                } else {
                    String::new()
                }
            ),
            f.evidence.clone(),
            "The 502 rows have an empty ServerStatus or an ErrorInfo (the gateway made them), or \
             the backend answers the same request with another status.",
            vec![
                check_backend(
                    "Call the backend directly with the same Host and path and read who answered (Server header, error page footer)",
                    Some(&format!(
                        "curl -sv -H 'Host: {}' http://{first}/<path>",
                        f.host
                    )),
                ),
                check_backend(
                    "Diagnose the backend's own layer: its proxy's error log, or the application's logs at the times of the 502s",
                    Some(
                        "cloud502 nginx --error-log /var/log/nginx/error.log   # on the backend, if it runs nginx",
                    ),
                ),
            ],
        );
        finding.next_command = Some(format!("cloud502 probe http://{first}/"));
        finding
    }
}

impl From<V1Blind> for Finding {
    fn from(f: V1Blind) -> Finding {
        let (rg, gw) = &f.gateway;
        let count = f.lines.count;
        finding(
            FindingCode::AppgwV1LogsCannotTell,
            Severity::Warning,
            Confidence::High,
            Layer::AzureAppgw,
            format!(
                "{count} request(s) got 502 from a v1 gateway, whose access log cannot say why"
            ),
            format!(
                "The access log has {count} row(s) with httpStatus 502 and no backend status. A \
                 v1 gateway's access log has no error_info, serverStatus or serverRouted field; it \
                 writes the backend's status only into requestQuery (SERVER-STATUS=...), and only \
                 when the backend answered. So these rows do not tell whether the gateway had no \
                 live backend (every server failing its probe), or the backend closed the \
                 connection or did not answer within requestTimeout. {}",
                if f.health_read {
                    "Backend health was read in this run: its findings name the servers that are \
                     down now, which is the most common cause, but not necessarily the cause at \
                     the time of these rows."
                } else {
                    "Backend health was not read: run `cloud502 azure` on the gateway (with the \
                     backendhealth action) to see which servers are down now."
                }
            ),
            f.lines.items.clone(),
            "The 502 rows come from a v2 gateway (they carry serverStatus and error_info), or \
             backend health and the backends' own logs for the same minutes explain every one.",
            vec![
                check_backend(
                    "Read backend health: the servers down now, with the probe's message for each",
                    Some(&format!(
                        "az network application-gateway show-backend-health -g {rg} -n {gw} -o table"
                    )),
                ),
                check_backend(
                    "Compare the times of the 502s with the backends' own logs (a 502 in the backend's access log is the backend's; nothing there means the gateway made it)",
                    None,
                ),
                check_backend(
                    "Move to Standard_v2 / WAF_v2 (v1 is retired): its access log records error_info, serverStatus and serverRouted for every request",
                    Some("https://learn.microsoft.com/azure/application-gateway/migrate-v1-v2"),
                ),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::appgw::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    fn codes(f: &[Finding]) -> Vec<FindingCode> {
        f.iter().map(|f| f.code).collect()
    }

    #[test]
    fn v2_timeouts_say_504_not_502_and_cite_request_timeout() {
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        with_log(
            &mut ev,
            vec![group(LogClass::ReadTimeout, Some("10.0.1.4:8080"), 9, 504)],
        );
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwRequestTimeout]);
        assert!(f[0].title.contains("504, not 502"), "{}", f[0].title);
        assert!(f[0].title.starts_with("9 request(s)"), "{}", f[0].title);
        assert!(
            f[0].title
                .contains("requestTimeout 20 s (HTTP settings web-settings)")
        );
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].evidence, vec!["log.0.group.0", "config.route.0"]);
    }

    #[test]
    fn v1_timeouts_are_502s() {
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        ev.config.settings.retain(|s| !s.name.starts_with("sku."));
        ev.config.version = Some("Standard_Medium".into());
        with_log(
            &mut ev,
            vec![group(LogClass::ReadTimeout, Some("10.0.1.4:8080"), 3, 502)],
        );
        let f = run_rule(check, &ev);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].title.contains("got 502 after"), "{}", f[0].title);
        assert!(!f[0].title.contains("504"));
        // a saved v1 log without config: the status says v1, the default timeout is named
        let ev = logs_only(vec![group(LogClass::ReadTimeout, None, 3, 502)]);
        let f = run_rule(check, &ev);
        assert!(f[0].title.contains("20 s by default"), "{}", f[0].title);
    }

    #[test]
    fn v1_502s_without_a_cause_say_what_the_log_cannot_tell() {
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        ev.config.settings.retain(|s| !s.name.starts_with("sku."));
        ev.config.version = Some("Standard_Medium".into());
        with_log(&mut ev, vec![group(LogClass::Status502, None, 9, 502)]);
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwV1LogsCannotTell]);
        assert!(
            f[0].title
                .starts_with("9 request(s) got 502 from a v1 gateway")
        );
        assert!(f[0].explanation.contains("Backend health was read"));
        assert_eq!(f[0].evidence, vec!["log.0.group.0"]);
        // The same rows from a v2 gateway are not this finding.
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        with_log(&mut ev, vec![group(LogClass::Status502, None, 9, 502)]);
        assert!(run_rule(check, &ev).is_empty());
        // A saved v1 record (httpStatus, no serverStatus), no SKU read.
        let mut g = group(LogClass::Status502, None, 2, 502);
        g.sample.text = r#"{"properties":{"clientIP":"203.0.113.9","httpStatus":502,"host":"www.contoso.com"}}"#.into();
        let f = run_rule(check, &logs_only(vec![g]));
        assert_eq!(codes(&f), vec![FindingCode::AppgwV1LogsCannotTell]);
        assert!(f[0].explanation.contains("Backend health was not read"));
        // A saved v2 record is not.
        let mut g = group(LogClass::Status502, None, 2, 502);
        g.sample.text = r#"{"properties":{"httpStatus":502,"serverStatus":"-","error_info":"ERRORINFO_NO_ERROR"}}"#.into();
        assert!(run_rule(check, &logs_only(vec![g])).is_empty());
    }

    #[test]
    fn closed_connections_from_a_saved_log() {
        let ev = logs_only(vec![group(
            LogClass::PrematureClose,
            Some("10.0.1.5:8080"),
            4,
            502,
        )]);
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwBackendClosedConnection]);
        assert_eq!(f[0].layer, Some(Layer::AzureAppgw));
        assert!(
            f[0].title.starts_with("4 request(s) got 502"),
            "{}",
            f[0].title
        );
        assert!(f[0].explanation.contains("10.0.1.5:8080 (4)"));
        assert_eq!(f[0].evidence, vec!["log.0.group.0"]);
        assert!(
            f[0].remediation
                .iter()
                .any(|r| r.step.contains("keep-alive"))
        );
        assert_eq!(f[0].confidence, Confidence::High);
        // outnumbered by NO_LIVE 502s: a second cause
        let ev = logs_only(vec![
            group(LogClass::PrematureClose, Some("10.0.1.5:8080"), 4, 502),
            group(LogClass::NoLiveUpstreams, None, 40, 502),
        ]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].confidence, Confidence::Medium);
    }

    #[test]
    fn backend_made_502s_look_one_layer_down() {
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        with_log(
            &mut ev,
            vec![
                group(
                    LogClass::Status502FromUpstream,
                    Some("10.0.1.4:8080"),
                    20,
                    502,
                ),
                group(LogClass::NoLiveUpstreams, None, 2, 502),
            ],
        );
        let f = run_rule(check, &ev);
        assert_eq!(codes(&f), vec![FindingCode::AppgwBackendReturned502]);
        assert_eq!(f[0].layer, Some(Layer::Application));
        assert_eq!(f[0].confidence, Confidence::High);
        assert!(f[0].title.starts_with("20 request(s)"));
        assert_eq!(
            f[0].next_command.as_deref(),
            Some("cloud502 probe http://10.0.1.4:8080/")
        );
        assert!(f[0].evidence.contains(&"config.route.0".to_owned()));
    }

    #[test]
    fn other_dialects_and_other_classes_are_ignored() {
        let mut ev = appgw(&[healthy("10.0.1.4")]);
        assert!(run_rule(check, &ev).is_empty());
        let mut log = appgw_log(vec![group(LogClass::ReadTimeout, None, 3, 504)]);
        log.dialect = "alb-access".into();
        ev.logs.push(log);
        assert!(run_rule(check, &ev).is_empty());
        let ev = logs_only(vec![group(LogClass::Status504, None, 3, 504)]);
        assert!(run_rule(check, &ev).is_empty());
    }
}
