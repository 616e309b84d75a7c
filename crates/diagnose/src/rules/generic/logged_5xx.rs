//! 5xx lines an access log counted that no other finding explains: always a finding, never
//! silence. It says who could have made them given the fields the log has, what those fields
//! cannot tell, and (for nginx) which `log_format` variables would tell.
//!
//! It needs the other rules' findings (a group is explained when a finding cites it), so
//! [`diagnose`](crate::rules::diagnose) runs [`uncovered`] after every rule; the registry entry only
//! declares the code.
//!
//! `finding` gathers an `Unexplained` fact; its text is beside it, with what each dialect records
//! as data (`DIALECT_FIELDS`).

use crate::describe::log_group_id;
use crate::remediation::{check_backend, review_config};
use crate::rules::Rule;
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Layer, LogClass, LogGroup, LogSummary,
    ProviderKind, Remediation, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "logged_5xx",
    codes: &[FindingCode::Logged5xx],
    // judged by `uncovered`, after the other rules
    check: |_, _| {},
};

/// The upstream variables that tell who made an nginx 5xx, as a `log_format` to add.
pub(crate) const UPSTREAM_FORMAT: &str = "log_format upstream_timing '$remote_addr - $remote_user \
     [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \
     ua=\"$upstream_addr\" us=\"$upstream_status\" uct=\"$upstream_connect_time\" \
     uht=\"$upstream_header_time\" urt=\"$upstream_response_time\"';";

/// One finding per access-style log whose 5xx groups no finding in `found` cites.
pub(crate) fn uncovered(ev: &Evidence, found: &[Finding], out: &mut Vec<Finding>) {
    let cited: Vec<&str> = found
        .iter()
        .flat_map(|f| f.evidence.iter().map(String::as_str))
        .collect();
    let cited = cited.as_slice();
    // The error.log groups a finding cites: what nginx itself made, and for which upstream.
    let explained_groups: Vec<&LogGroup> = ev
        .logs
        .iter()
        .filter(|l| l.dialect == "nginx-error")
        .flat_map(|l| {
            l.groups
                .iter()
                .enumerate()
                .filter(move |(i, _)| cited.contains(&log_group_id(l, *i).as_str()))
                .map(|(_, g)| g)
        })
        .collect();
    // Statuses nginx made itself that a finding explains from an error.log: an access log
    // without upstream fields counts the same requests again, and cannot say which ones.
    let explained: Vec<u16> = explained_groups
        .iter()
        .filter_map(|g| g.class.client_status())
        .collect();
    // Upstreams whose failures a finding explains from the error.log: an access-log 502 that
    // nginx made for the same upstream (never connected, or no usable header) is the same
    // request seen from the other log, not a second, unexplained cause. The upstream's own
    // 502 (status-502-from-upstream) is never absorbed this way: both causes are reported.
    let explained_upstreams: Vec<&str> = explained_groups
        .iter()
        .filter_map(|g| g.upstream.as_deref())
        .collect();
    let same_upstream = |a: &str| {
        explained_upstreams
            .iter()
            .any(|b| upstream_key(a) == upstream_key(b))
    };
    for log in ev.logs.iter().filter(|l| l.dialect != "nginx-error") {
        let nginx = log.dialect == "nginx-access";
        let groups: Vec<usize> = log
            .groups
            .iter()
            .enumerate()
            .filter(|(i, g)| {
                g.status.is_some_and(|s| (500..600).contains(&s))
                    && !cited.contains(&log_group_id(log, *i).as_str())
                    && !(nginx
                        && matches!(g.class, LogClass::Status502 | LogClass::Status504)
                        && g.status.is_some_and(|s| explained.contains(&s)))
                    && !(nginx
                        && matches!(
                            g.class,
                            LogClass::Status502NoConnect | LogClass::Status502NoHeader
                        )
                        && g.upstream.as_deref().is_some_and(same_upstream))
            })
            .map(|(i, _)| i)
            .collect();
        if !groups.is_empty() {
            out.push(finding(ev, log, &groups));
        }
    }
}

/// An upstream as both logs name it: error.log writes a unix socket as `unix:/path:` inside a
/// URL and the access log's `$upstream_addr` as `unix:/path`; a scheme may lead either.
fn upstream_key(s: &str) -> &str {
    let s = s.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let s = s.trim_end_matches('/');
    s.strip_suffix(':').unwrap_or(s)
}

/// `502 x 3, 503 x 1`, most first.
fn statuses(log: &LogSummary, groups: &[usize]) -> (Vec<(u16, u64)>, u64) {
    let mut by: Vec<(u16, u64)> = Vec::new();
    for &i in groups {
        let g = &log.groups[i];
        let s = g.status.unwrap_or(500);
        match by.iter_mut().find(|(x, _)| *x == s) {
            Some((_, n)) => *n += g.count,
            None => by.push((s, g.count)),
        }
    }
    by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = by.iter().map(|(_, n)| n).sum();
    (by, total)
}

fn finding(ev: &Evidence, log: &LogSummary, groups: &[usize]) -> Finding {
    let (by, total) = statuses(log, groups);
    let mut evidence = vec![log.id.clone()];
    evidence.extend(groups.iter().map(|&i| log_group_id(log, i)));
    let evidence: Vec<String> = evidence
        .into_iter()
        .filter(|id| ev.items.iter().any(|item| item.id == *id))
        .collect();
    let nginx = (log.dialect == "nginx-access").then(|| {
        // a format with upstream fields names an upstream on some line or classifies a 502
        let has_upstream_fields = log.groups.iter().any(|g| {
            g.upstream.is_some()
                || matches!(
                    g.class,
                    LogClass::Status502NoConnect
                        | LogClass::Status502NoHeader
                        | LogClass::Status502FromUpstream
                )
        });
        let error_log = ev.logs.iter().any(|l| l.dialect == "nginx-error");
        NginxFacts {
            no_timing: !has_upstream_fields
                || groups
                    .iter()
                    .any(|&i| log.groups[i].class == LogClass::Status502),
            next: (!error_log && ev.subject.kind == ProviderKind::Logs).then(|| {
                // every log this report read, plus the error.log nginx packages write by default
                let mut paths: Vec<String> =
                    ev.logs.iter().map(|l| shell_word(&l.source)).collect();
                paths.push("/var/log/nginx/error.log".to_owned());
                format!("cloud502 logs {}", paths.join(" "))
            }),
        }
    });
    Finding::from(Unexplained {
        log,
        by,
        total,
        upstreams: crate::rules::dedup(
            groups
                .iter()
                .filter_map(|&i| log.groups[i].upstream.as_deref())
                .collect(),
        ),
        largest: &log.groups[groups[0]],
        // Answers an upstream or origin gave itself (not a 502 or 504) and the proxy only passed
        // on say nothing is wrong with the proxy layers: worth knowing, not a failure of theirs.
        relayed_only: groups.iter().all(|&i| {
            let g = &log.groups[i];
            g.class == LogClass::Status5xx && g.upstream.is_some()
        }),
        nginx,
        evidence,
    })
}

/// A path as one shell word (quoted when it has characters a shell would split or expand).
fn shell_word(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

// ---- facts ----

/// 5xx lines of one access-style log that no other finding explains.
struct Unexplained<'a> {
    log: &'a LogSummary,
    /// (status, lines), most first, and their sum.
    by: Vec<(u16, u64)>,
    total: u64,
    /// The upstreams the lines name, each once.
    upstreams: Vec<&'a str>,
    /// The largest group, whose first line is quoted.
    largest: &'a LogGroup,
    /// Every line is an upstream's own non-502/504 answer that the proxy passed on.
    relayed_only: bool,
    /// What an nginx access log adds; `None` for other dialects.
    nginx: Option<NginxFacts>,
    evidence: Vec<String>,
}

/// What an nginx access log's format can tell.
struct NginxFacts {
    /// The lines carry no upstream timing (the format lacks the fields, or a bare 502).
    no_timing: bool,
    /// `cloud502 logs ... error.log` when no error.log was read from saved logs.
    next: Option<String>,
}

// ---- text ----

/// What each access-log dialect records about who made a status: (dialect, layer, fields).
const DIALECT_FIELDS: &[(&str, Layer, &str)] = &[
    (
        "alb-access",
        Layer::AwsAlb,
        "elb_status_code is what the client got; target_status_code (`-` when the target never \
         answered), the three processing times (-1 when a step did not happen) and error_reason \
         tell whether the ALB or the target made it",
    ),
    (
        "appgw-access",
        Layer::AzureAppgw,
        "httpStatus is what the client got; serverStatus (the backend's own status) and \
         error_info tell whether the gateway or the backend made it",
    ),
    (
        "cloudflare-http-requests",
        Layer::Cloudflare,
        "EdgeResponseStatus is what the visitor got; OriginResponseStatus (0 when the origin \
         gave no usable answer) tells whether the edge or the origin made it",
    ),
];

/// A dialect's layer and fields; an unknown dialect says its fields are missing.
fn dialect_fields(dialect: &str) -> (Layer, &'static str) {
    DIALECT_FIELDS
        .iter()
        .find(|(d, _, _)| *d == dialect)
        .map_or(
            (
                Layer::Unknown,
                "the status is what the client got; the fields that say who made it are missing",
            ),
            |(_, layer, fields)| (*layer, *fields),
        )
}

/// Who can make each status at an nginx proxy, in one clause each.
fn nginx_who(status: u16) -> &'static str {
    match status {
        502 => {
            "502: nginx itself when it could not connect to an upstream or got no valid \
             response header from it (refused, reset, closed, TLS, DNS), or the upstream's own \
             502 that nginx passed on"
        }
        504 => "504: nginx timed out waiting for the upstream, or the upstream's own 504",
        503 => {
            "503: nginx's limit_req / limit_conn or a `return 503`, or the upstream's own 503 \
             (overloaded, in maintenance)"
        }
        500 => {
            "500: usually the application's own error; nginx makes 500 only on its own faults \
             (a rewrite or internal redirect loop, an unreadable file)"
        }
        _ => "other 5xx: the upstream's own answer, or an nginx `return`",
    }
}

impl Unexplained<'_> {
    /// `502 x 3, 503 x 1`.
    fn list(&self) -> String {
        self.by
            .iter()
            .map(|(s, n)| format!("{s} x {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// ` between A and B`, or empty.
    fn window(&self) -> String {
        match (&self.log.first_seen, &self.log.last_seen) {
            (Some(a), Some(b)) => format!(" between {a} and {b}"),
            _ => String::new(),
        }
    }

    /// `SOURCE:LINE: TEXT` of the largest group's first line.
    fn sample(&self) -> String {
        format!(
            "{}:{}: {}",
            self.log.source, self.largest.sample.line, self.largest.sample.text
        )
    }

    fn layer(&self) -> Layer {
        match self.nginx {
            Some(_) => Layer::Nginx,
            None => dialect_fields(&self.log.dialect).0,
        }
    }

    fn title(&self) -> String {
        let (total, list) = (self.total, self.list());
        match self.nginx {
            Some(_) => format!(
                "nginx answered {total} request(s) with a 5xx ({list}): the access log does not \
                 say who made them"
            ),
            None => format!(
                "{} counts {total} 5xx request(s) ({list}) that no other finding explains",
                self.log.source
            ),
        }
    }

    /// What an nginx access log cannot tell about these lines, and what would.
    fn cannot(&self, nginx: &NginxFacts) -> String {
        if nginx.no_timing {
            "The log_format these lines were written with has no upstream fields, so it cannot \
             tell whether nginx reached an upstream, which one, or what the upstream answered. \
             $upstream_status (the upstream's own status, `-` or empty when there was none), \
             $upstream_connect_time (`-` when the connection failed), $upstream_header_time \
             (`-` when no header came back) and $upstream_addr (which server) would tell."
                .to_owned()
        } else if self.upstreams.is_empty() {
            "These lines name no upstream: nginx answered them without asking one (limit_req, \
             limit_conn, a `return`, or no live upstream)."
                .to_owned()
        } else {
            format!(
                "The lines name upstream(s) {}, and the upstream fields fit no known failure \
                 signature: most often the upstream's own answer.",
                self.upstreams.join(", ")
            )
        }
    }

    fn explanation(&self) -> String {
        let (list, window, sample) = (self.list(), self.window(), self.sample());
        match &self.nginx {
            Some(nginx) => {
                let who = self
                    .by
                    .iter()
                    .map(|(s, _)| nginx_who(*s))
                    .collect::<Vec<_>>()
                    .join("; ");
                format!(
                    "{} counts {list}{window}, and no other finding explains them. Who can make \
                     each: {who}. {} First line: {sample}.",
                    self.log.source,
                    self.cannot(nginx)
                )
            }
            None => format!(
                "{} ({}) counts {list}{window}; their fields fit no known failure signature, so \
                 cloud502 cannot say which layer made them. In this log, {}. First line: \
                 {sample}.",
                self.log.source,
                self.log.dialect,
                dialect_fields(&self.log.dialect).1
            ),
        }
    }

    fn disproved_by(&self) -> &'static str {
        match self.nginx {
            Some(_) => {
                "The 5xx lines are answers the application meant to give (a 503 during planned \
                 maintenance), or they fall outside the incident's time."
            }
            None => {
                "The lines are answers the application meant to give, or they fall outside the \
                 incident's time."
            }
        }
    }

    fn remediation(&self) -> Vec<Remediation> {
        let Some(nginx) = &self.nginx else {
            return vec![check_backend(
                "Read the quoted lines' status fields (and the upstream's own logs at those \
                 times) to see which layer answered",
                None,
            )];
        };
        let mut fixes = vec![check_backend(
            "Read nginx's error.log for the same minutes: nginx writes a line naming the \
             upstream and the cause for every 502 and 504 it makes itself, and none for an \
             upstream's own 5xx",
            nginx.next.as_deref(),
        )];
        if nginx.no_timing {
            fixes.push(review_config(
                "Log the upstream's status and timings, so the next access log tells who made \
                 each 5xx: add this log_format in the http block, name it in access_log, and \
                 reload",
                Some(UPSTREAM_FORMAT),
            ));
        }
        fixes
    }
}

impl From<Unexplained<'_>> for Finding {
    fn from(f: Unexplained<'_>) -> Finding {
        Finding {
            code: FindingCode::Logged5xx,
            severity: if f.relayed_only {
                Severity::Info
            } else {
                Severity::Warning
            },
            confidence: Confidence::Medium,
            layer: Some(f.layer()),
            title: f.title(),
            explanation: f.explanation(),
            locations: Vec::new(),
            disproved_by: f.disproved_by().to_owned(),
            remediation: f.remediation(),
            next_command: f.nginx.and_then(|n| n.next),
            evidence: f.evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud502_model::{LogGroup, LogSample, LogSkips, Subject};

    fn log(dialect: &str, groups: &[(LogClass, Option<&str>, u16, u64)]) -> Evidence {
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::Logs,
            id: "access.log".into(),
        });
        ev.logs.push(LogSummary {
            id: "log.0".into(),
            source: "/var/log/nginx/access.log".into(),
            dialect: dialect.into(),
            lines: 10,
            matched: groups.iter().map(|g| g.3).sum(),
            bytes: 0,
            skipped: LogSkips::default(),
            first_seen: None,
            last_seen: None,
            counts: Vec::new(),
            groups: groups
                .iter()
                .map(|(class, upstream, status, count)| LogGroup {
                    timeline: None,
                    class: *class,
                    upstream: upstream.map(str::to_owned),
                    status: Some(*status),
                    level: None,
                    detail: None,
                    count: *count,
                    reused: None,
                    first_seen: None,
                    last_seen: None,
                    sample: LogSample {
                        line: 1,
                        text: format!("... {status} ..."),
                    },
                })
                .collect(),
            samples: Vec::new(),
        });
        crate::describe::describe(&mut ev);
        ev
    }

    #[test]
    fn combined_5xx_lines_are_a_finding_that_names_the_missing_variables() {
        let ev = log(
            "nginx-access",
            &[
                (LogClass::Status502, None, 502, 5),
                (LogClass::Status5xx, None, 503, 1),
            ],
        );
        let found = crate::rules::diagnose(&ev);
        let f = found
            .iter()
            .find(|f| f.code == FindingCode::Logged5xx)
            .expect("a finding");
        assert!(
            f.title
                .contains("6 request(s) with a 5xx (502 x 5, 503 x 1)")
        );
        for var in [
            "$upstream_status",
            "$upstream_connect_time",
            "$upstream_header_time",
            "$upstream_addr",
        ] {
            assert!(f.explanation.contains(var), "{var}: {}", f.explanation);
        }
        assert!(f.explanation.contains("limit_req"));
        assert_eq!(
            f.next_command.as_deref(),
            Some("cloud502 logs /var/log/nginx/access.log /var/log/nginx/error.log")
        );
        assert_eq!(f.evidence, ["log.0", "log.0.group.0", "log.0.group.1"]);
    }

    #[test]
    fn groups_another_finding_cites_are_not_repeated() {
        // an upstream's own 502 is explained by nginx-upstream-returned-502; the 503 is not
        let ev = log(
            "nginx-access",
            &[
                (
                    LogClass::Status502FromUpstream,
                    Some("10.0.0.5:8080"),
                    502,
                    4,
                ),
                (LogClass::Status5xx, Some("10.0.0.5:8080"), 503, 2),
            ],
        );
        let found = crate::rules::diagnose(&ev);
        let f: Vec<_> = found
            .iter()
            .filter(|f| f.code == FindingCode::Logged5xx)
            .collect();
        assert_eq!(f.len(), 1, "{found:#?}");
        assert!(f[0].title.contains("(503 x 2)"), "{}", f[0].title);
        assert_eq!(f[0].severity, Severity::Info, "the upstream's own 503");
        assert!(!f[0].explanation.contains("has no upstream fields"));
        assert!(f[0].explanation.contains("upstream(s) 10.0.0.5:8080"));
    }

    #[test]
    fn nginx_made_502s_the_error_log_explains_for_the_same_upstream_are_not_repeated() {
        // the demo incident: the access log's never-connected 502s for the php-fpm socket are
        // the requests the error.log's socket finding explains; the upstream's own 502s from
        // another upstream are still reported
        let mut ev = log(
            "nginx-access",
            &[
                (
                    LogClass::Status502NoConnect,
                    Some("unix:/run/php/fpm.sock"),
                    502,
                    28,
                ),
                (
                    LogClass::Status502FromUpstream,
                    Some("10.0.0.5:8080"),
                    502,
                    3,
                ),
            ],
        );
        let mut error_log = ev.logs[0].clone();
        error_log.id = "log.1".into();
        error_log.dialect = "nginx-error".into();
        error_log.groups.truncate(1);
        error_log.groups[0].class = LogClass::ConnectNoSocket;
        error_log.groups[0].status = None;
        error_log.groups[0].upstream = Some("unix:/run/php/fpm.sock:".into());
        ev.logs.push(error_log);
        crate::describe::describe(&mut ev);
        let socket = Finding {
            code: FindingCode::NginxUnixSocketFailed,
            severity: Severity::Critical,
            confidence: Confidence::High,
            layer: Some(Layer::Nginx),
            title: String::new(),
            explanation: String::new(),
            evidence: vec!["log.1.group.0".into()],
            locations: Vec::new(),
            disproved_by: String::new(),
            remediation: Vec::new(),
            next_command: None,
        };
        let mut out = Vec::new();
        uncovered(&ev, &[socket], &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(
            !out[0].evidence.contains(&"log.0.group.0".to_owned()),
            "{:?}",
            out[0].evidence
        );
        assert!(out[0].evidence.contains(&"log.0.group.1".to_owned()));
        assert!(out[0].title.contains("502 x 3"), "{}", out[0].title);
    }

    #[test]
    fn every_dialect_gets_a_finding_for_unexplained_5xx() {
        for dialect in ["alb-access", "appgw-access", "cloudflare-http-requests"] {
            let ev = log(dialect, &[(LogClass::Status5xx, None, 500, 3)]);
            let mut out = Vec::new();
            uncovered(&ev, &[], &mut out);
            assert_eq!(out.len(), 1, "{dialect}");
            assert!(out[0].title.contains("3 5xx request(s) (500 x 3)"));
            assert!(out[0].next_command.is_none());
        }
        let ev = log("nginx-access", &[(LogClass::Status499, None, 499, 3)]);
        let mut out = Vec::new();
        uncovered(&ev, &[], &mut out);
        assert!(out.is_empty(), "499 is not a 5xx");
    }
}
