//! Why nginx's upstream requests failed, from error.log classes (KB 4.2), access-log upstream timings
//! (KB 4.4) and a direct probe of each upstream: the causes of KB 4.7, one finding per cause, the
//! cause with the most failed requests first.
//!
//! The check gathers a `Failure` per cause (what the logs, probes and config say, typed); the text
//! part below words each cause's finding in a small function of its own.

use crate::remediation::update_tls;
use crate::remediation::{adjust_timeouts, check_backend, restart, review_config, scale_backend};
use crate::rules::nginx::shared::{
    Seen, backend_probes, explained_upstreams, finding, keepalive_effective, probe_peer, routes_to,
    seen, seen_where, upstream_items, upstream_locations,
};
use crate::rules::{Rule, cite};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Layer, LogClass as C, Phase, Probe, ProbeErrorKind,
    Remediation, Severity, SourceLocation,
};

pub(crate) const RULE: Rule = Rule {
    name: "nginx_upstream",
    codes: &[
        FindingCode::NginxUpstreamRefused,
        FindingCode::NginxUnixSocketFailed,
        FindingCode::NginxUpstreamUnreachable,
        FindingCode::NginxEphemeralPortsExhausted,
        FindingCode::NginxUpstreamNoEndpoints,
        FindingCode::NginxUpstreamIpv6Unavailable,
        FindingCode::NginxUpstreamClosed,
        FindingCode::NginxKeepaliveRace,
        FindingCode::NginxHeaderTooBig,
        FindingCode::NginxInvalidHeader,
        FindingCode::NginxNoLiveUpstreams,
        FindingCode::NginxUpstreamTlsFailed,
        FindingCode::NginxUpstreamDnsFailed,
        FindingCode::NginxUpstreamUnresolvableAtLoad,
        FindingCode::NginxUpstreamTimeout,
        FindingCode::NginxClientClosed,
        FindingCode::NginxUpstreamReturned502,
        FindingCode::NginxRetriedFailures,
    ],
    check,
};

/// Premature close, reset and broken pipe: a crash, or a keep-alive race when connections are reused.
const CLOSED: &[C] = &[C::PrematureClose, C::ConnectionReset, C::BrokenPipe];

/// One cause: the classes that show it in logs and the probe errors that show it now.
struct Cause {
    code: FindingCode,
    classes: &'static [C],
    /// Access-log classes that show it less precisely (used when no error log names it).
    access: &'static [C],
    /// Which upstreams' lines are this cause's (the same class can mean two causes by address).
    keep: fn(Option<&str>) -> bool,
    probe: fn(&Probe) -> bool,
}

/// Any upstream.
fn any(_: Option<&str>) -> bool {
    true
}

/// ingress-nginx's placeholder peer when a Service has no ready endpoints: its balancer finds no
/// host, and nginx's connect() to `0.0.0.1` fails with EINVAL (KB 9.4).
fn placeholder(u: Option<&str>) -> bool {
    u.is_some_and(|u| u.starts_with("0.0.0.1:"))
}

/// An IPv6 peer (`[::1]:8080`): EADDRNOTAVAIL towards it means the host has no IPv6 address to
/// connect from (a container without `::1`), not that its ports ran out (KB 9.4).
fn ipv6(u: Option<&str>) -> bool {
    u.is_some_and(|u| u.starts_with('['))
}

fn probe_kind(p: &Probe, kinds: &[ProbeErrorKind]) -> bool {
    p.error.as_ref().is_some_and(|e| kinds.contains(&e.kind))
}

const CAUSES: &[Cause] = &[
    Cause {
        code: FindingCode::NginxUpstreamRefused,
        classes: &[C::ConnectRefused, C::ConnectFailed],
        access: &[C::Status502NoConnect],
        keep: |u| !placeholder(u),
        probe: |p| probe_kind(p, &[ProbeErrorKind::Refused]),
    },
    Cause {
        code: FindingCode::NginxUnixSocketFailed,
        classes: &[C::ConnectNoSocket, C::ConnectPermission, C::ConnectBacklog],
        access: &[],
        keep: any,
        probe: |p| {
            probe_kind(
                p,
                &[ProbeErrorKind::NotFound, ProbeErrorKind::PermissionDenied],
            )
        },
    },
    Cause {
        code: FindingCode::NginxUpstreamUnreachable,
        classes: &[C::ConnectUnreachable],
        access: &[],
        keep: any,
        probe: |p| {
            p.error
                .as_ref()
                .is_some_and(|e| e.kind == ProbeErrorKind::Io && e.phase == Phase::Connect)
        },
    },
    Cause {
        code: FindingCode::NginxEphemeralPortsExhausted,
        classes: &[C::ConnectNoPorts],
        access: &[],
        keep: |u| !ipv6(u),
        probe: |_| false,
    },
    Cause {
        code: FindingCode::NginxUpstreamIpv6Unavailable,
        classes: &[C::ConnectNoPorts],
        access: &[],
        keep: ipv6,
        probe: |_| false,
    },
    Cause {
        code: FindingCode::NginxUpstreamNoEndpoints,
        classes: &[C::ConnectFailed],
        access: &[],
        keep: placeholder,
        probe: |_| false,
    },
    Cause {
        code: FindingCode::NginxNoLiveUpstreams,
        classes: &[C::NoLiveUpstreams],
        access: &[],
        keep: any,
        probe: |_| false,
    },
    Cause {
        code: FindingCode::NginxUpstreamClosed,
        classes: CLOSED,
        access: &[C::Status502NoHeader],
        keep: any,
        probe: |p| probe_kind(p, &[ProbeErrorKind::Closed]),
    },
    Cause {
        code: FindingCode::NginxHeaderTooBig,
        classes: &[C::TooBigHeader],
        access: &[],
        keep: any,
        probe: |p| {
            p.error.as_ref().is_some_and(|e| {
                e.kind == ProbeErrorKind::MalformedResponse && e.message.contains("too large")
            })
        },
    },
    Cause {
        code: FindingCode::NginxInvalidHeader,
        classes: &[C::InvalidHeader],
        access: &[],
        keep: any,
        probe: |p| {
            p.error.as_ref().is_some_and(|e| {
                e.kind == ProbeErrorKind::MalformedResponse && !e.message.contains("too large")
            })
        },
    },
    Cause {
        code: FindingCode::NginxUpstreamTlsFailed,
        classes: &[C::TlsHandshake, C::TlsVerify, C::TlsNameMismatch],
        access: &[],
        keep: any,
        probe: |p| probe_kind(p, &[ProbeErrorKind::TlsHandshake]),
    },
    Cause {
        code: FindingCode::NginxUpstreamDnsFailed,
        classes: &[C::ResolveFailed],
        access: &[],
        keep: any,
        probe: |p| probe_kind(p, &[ProbeErrorKind::Dns]),
    },
    Cause {
        code: FindingCode::NginxUpstreamUnresolvableAtLoad,
        classes: &[C::HostNotFoundAtLoad],
        access: &[],
        keep: any,
        probe: |_| false,
    },
    Cause {
        code: FindingCode::NginxUpstreamTimeout,
        classes: &[C::ConnectTimeout, C::ReadTimeout],
        access: &[C::Status504],
        keep: any,
        probe: |p| probe_kind(p, &[ProbeErrorKind::Timeout]),
    },
    Cause {
        code: FindingCode::NginxUpstreamReturned502,
        classes: &[],
        access: &[C::Status502FromUpstream],
        keep: any,
        probe: |p| p.http.as_ref().is_some_and(|h| h.status == 502),
    },
    Cause {
        code: FindingCode::NginxRetriedFailures,
        classes: &[],
        access: &[C::UpstreamRetried],
        keep: any,
        probe: |_| false,
    },
    Cause {
        code: FindingCode::NginxClientClosed,
        classes: &[],
        access: &[C::Status499],
        keep: any,
        probe: |_| false,
    },
];

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    let mut found: Vec<(u64, Finding)> = Vec::new();
    let retried = only_retried(ev);
    for cause in CAUSES {
        // error.log failures at a server whose every failure nginx retried (the access log
        // says so) are not client 502s: nginx-retried-failures names them
        let logs = seen_where(ev, cause.classes, |u| {
            (cause.keep)(u) && !u.is_some_and(|u| retried.iter().any(|r| r == u))
        });
        // The access log counts the same requests the error log explains; use it only when the
        // error log is silent about this cause.
        let mut logs = if cause.classes.is_empty() {
            // An upstream's own 502 and a client's 499 leave no error.log line: error-log lines
            // about the same upstream are another cause, and must not hide this one.
            seen(ev, cause.access, None)
        } else if logs.is_empty() && !cause.access.is_empty() {
            access_only(ev, cause.access)
        } else {
            logs
        };
        // The access-log lines of the same requests the error log explains are cited too.
        if logs.error_lines > 0 && !cause.access.is_empty() {
            let names: Vec<&str> = logs.upstreams.iter().map(|(u, _)| u.as_str()).collect();
            let same = seen_where(ev, cause.access, |u| u.is_some_and(|u| names.contains(&u)));
            logs.items.extend(same.items);
        }
        let probes: Vec<&Probe> = backend_probes(ev).filter(|p| (cause.probe)(p)).collect();
        if logs.is_empty() && probes.is_empty() {
            continue;
        }
        // Upstreams whose TLS fails in different ways get a finding each, with its own fix.
        if cause.code == FindingCode::NginxUpstreamTlsFailed && logs.upstreams.len() > 1 {
            let mut by_fault: Vec<(TlsFault, Vec<String>)> = Vec::new();
            for (u, _) in &logs.upstreams {
                let one = seen_where(ev, cause.classes, |x| x == Some(u.as_str()));
                let mine: Vec<&Probe> = probes
                    .iter()
                    .copied()
                    .filter(|p| probe_peer(p) == *u)
                    .collect();
                let fault = tls_fault(one.detail.as_deref().unwrap_or(""), &one, &mine);
                match by_fault.iter_mut().find(|(f, _)| *f == fault) {
                    Some((_, ups)) => ups.push(u.clone()),
                    None => by_fault.push((fault, vec![u.clone()])),
                }
            }
            if by_fault.len() > 1 {
                for (_, ups) in by_fault {
                    let part = seen_where(ev, cause.classes, |x| {
                        x.is_some_and(|x| ups.iter().any(|u| u == x))
                    });
                    let mine: Vec<&Probe> = probes
                        .iter()
                        .copied()
                        .filter(|p| ups.contains(&probe_peer(p)))
                        .collect();
                    let weight = part.count();
                    found.push((weight, Finding::from(gather(ev, cause.code, part, mine))));
                }
                continue;
            }
        }
        let mut code = cause.code;
        if code == FindingCode::NginxUpstreamClosed && keepalive_race(ev, &logs) {
            code = FindingCode::NginxKeepaliveRace;
        }
        // "no connection" in the access log towards a pool name is nginx having no live peer.
        if code == FindingCode::NginxUpstreamRefused
            && logs.error_lines == 0
            && probes.is_empty()
            && !logs.upstreams.is_empty()
            && logs
                .upstreams
                .iter()
                .all(|(u, _)| ev.config.pool(u).is_some())
        {
            if !seen(ev, &[C::NoLiveUpstreams], None).is_empty() {
                continue;
            }
            code = FindingCode::NginxNoLiveUpstreams;
        }
        let weight = logs.count().max(probes.len() as u64);
        found.push((weight, Finding::from(gather(ev, code, logs, probes))));
    }
    // The guide's port sweep (`--local`): nothing listens on a local upstream the config names,
    // and neither the logs nor a probe said so (`--no-probe`, no failures logged yet). Requests
    // to it are refused (502): say so, from the check alone.
    let said = |u: &str| {
        found.iter().any(|(_, f)| {
            f.evidence
                .iter()
                .any(|e| e.starts_with("host.listening.") && e.ends_with(u))
        })
    };
    let mut silent: Vec<(String, String)> = Vec::new();
    for c in ev.checks.iter().filter(|c| {
        c.status == cloud502_model::CheckStatus::Fail && c.id.starts_with("host.listening.")
    }) {
        let peer = c.id["host.listening.".len()..].to_owned();
        let probed = backend_probes(ev).any(|p| probe_peer(p) == peer);
        if !probed && !said(&peer) {
            silent.push((peer, c.id.clone()));
        }
    }
    for (peer, id) in silent {
        let code = if peer.starts_with("unix:") {
            FindingCode::NginxUnixSocketFailed
        } else {
            FindingCode::NginxUpstreamRefused
        };
        let logs = Seen {
            upstreams: vec![(peer, 0)],
            items: vec![id],
            ..Seen::default()
        };
        found.push((0, Finding::from(gather(ev, code, logs, Vec::new()))));
    }
    // The cause behind the most failed requests first; ranking keeps this order within a tie.
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    out.extend(found.into_iter().map(|(_, f)| f));
}

/// What a TLS failure most likely is, from the logs' detail and classes and the probes.
fn tls_fault(detail: &str, logs: &Seen, probes: &[&Probe]) -> TlsFault {
    if detail.contains("wrong version number")
        || probes.iter().any(|p| {
            p.error.as_ref().is_some_and(|e| {
                e.message.contains("InvalidContentType") || e.message.contains("corrupt message")
            })
        })
    {
        TlsFault::PlainHttp
    } else if detail.contains("protocol version")
        || detail.contains("unsupported protocol")
        || detail.contains("no protocols available")
    {
        TlsFault::Protocol
    } else if detail.contains("alert") || detail.contains("handshake failure") {
        TlsFault::Alert
    } else if logs.classes.contains(&C::TlsVerify) {
        TlsFault::Verify
    } else if logs.classes.contains(&C::TlsNameMismatch) {
        TlsFault::Name
    } else {
        TlsFault::Unknown
    }
}

/// Servers the access log shows failing only in attempts nginx retried: `upstream-retried`
/// groups name them, and no access-log line with a client 5xx (or 499) names them.
fn only_retried(ev: &Evidence) -> Vec<String> {
    let retried = seen(ev, &[C::UpstreamRetried], None);
    if retried.is_empty() {
        return Vec::new();
    }
    let client: Vec<String> = ev
        .logs
        .iter()
        .filter(|l| l.dialect == "nginx-access")
        .flat_map(|l| &l.groups)
        .filter(|g| g.class != C::UpstreamRetried)
        .filter_map(|g| g.upstream.clone())
        .collect();
    retried
        .upstreams
        .into_iter()
        .map(|(u, _)| u)
        .filter(|u| !client.contains(u))
        .collect()
}

/// Access-log lines of these classes for upstreams no error log explains.
fn access_only(ev: &Evidence, classes: &[C]) -> Seen {
    let explained = explained_upstreams(ev);
    let logs = seen(ev, classes, None);
    if !logs
        .upstreams
        .iter()
        .any(|(u, _)| explained.contains(&u.as_str()))
    {
        return logs;
    }
    seen_where(ev, classes, |u| u.is_some_and(|u| !explained.contains(&u)))
}

/// Closures on connections nginx reused: the upstream's idle timeout is shorter than nginx's.
/// Only when nginx really reuses connections to it (on loopback a new connection also takes
/// 0.000 s, so $upstream_connect_time alone cannot tell).
fn keepalive_race(ev: &Evidence, logs: &Seen) -> bool {
    let effective = logs
        .upstreams
        .iter()
        .any(|(u, _)| routes_to(ev, u).iter().any(|r| keepalive_effective(ev, r)));
    let reachable = backend_probes(ev)
        .any(|p| p.error.is_none() && logs.upstreams.iter().any(|(u, _)| *u == probe_peer(p)));
    effective && (logs.reused > 0 || reachable)
}

/// Gather what the logs, the probes and the config say about one cause.
fn gather<'a>(ev: &Evidence, code: FindingCode, logs: Seen, probes: Vec<&'a Probe>) -> Failure<'a> {
    let mut upstreams: Vec<String> = logs.upstreams.iter().map(|(u, _)| u.clone()).collect();
    for p in &probes {
        let peer = probe_peer(p);
        if !upstreams.contains(&peer) {
            upstreams.push(peer);
        }
    }
    let mut evidence = logs.items.clone();
    let mut locations = Vec::new();
    for u in &upstreams {
        evidence.extend(upstream_items(ev, u));
        locations.extend(upstream_locations(ev, u));
        evidence.extend(
            ev.checks
                .iter()
                .filter(|c| c.id.starts_with("host.listening.") && c.id.ends_with(u.as_str()))
                .map(|c| c.id.clone()),
        );
    }
    for p in &probes {
        evidence.extend(cite(ev, p, &["target", "error", "status", "header"]));
    }
    let detail = logs.detail.clone().unwrap_or_default();
    let specific = match code {
        FindingCode::NginxUnixSocketFailed => Specific::Socket(
            if logs.classes.contains(&C::ConnectPermission)
                || probes
                    .iter()
                    .any(|p| probe_kind(p, &[ProbeErrorKind::PermissionDenied]))
            {
                SocketFault::Permission
            } else if logs.classes.contains(&C::ConnectBacklog) {
                SocketFault::Backlog
            } else {
                SocketFault::Missing
            },
        ),
        FindingCode::NginxHeaderTooBig => {
            let mut sizes = Vec::new();
            for r in upstreams.iter().flat_map(|u| routes_to(ev, u)) {
                let name = format!("{}_buffer_size", r.kind.as_str());
                if let Some(s) = r.setting(&name) {
                    if let Some(loc) = &s.location {
                        locations.push(loc.clone());
                    }
                    sizes.push((name, s.value.clone(), s.location.clone()));
                }
            }
            Specific::Buffers(sizes)
        }
        FindingCode::NginxUpstreamTlsFailed => Specific::Tls(tls_fault(&detail, &logs, &probes)),
        FindingCode::NginxUpstreamTimeout => {
            let connect = logs.classes.contains(&C::ConnectTimeout)
                && !logs.classes.contains(&C::ReadTimeout);
            let setting = if connect {
                "proxy_connect_timeout"
            } else {
                "proxy_read_timeout"
            };
            let mut used = None;
            for u in &upstreams {
                for r in routes_to(ev, u) {
                    let name = setting.replace("proxy", r.kind.as_str());
                    if let Some(s) = r.setting(&name) {
                        if let Some(l) = &s.location {
                            locations.push(l.clone());
                        }
                        used.get_or_insert((name, s.value.clone(), s.default));
                    }
                }
            }
            Specific::Timeout {
                connect,
                mixed: logs.classes.contains(&C::ConnectTimeout)
                    && logs.classes.contains(&C::ReadTimeout),
                setting,
                used,
            }
        }
        FindingCode::NginxUpstreamClosed
            if logs.reused == 0
                && probes.is_empty()
                && upstreams
                    .iter()
                    .any(|u| routes_to(ev, u).iter().any(|r| keepalive_effective(ev, r))) =>
        {
            Specific::ClosedUnsure
        }
        _ => Specific::None,
    };
    Failure {
        code,
        logs,
        probes,
        upstreams,
        detail,
        specific,
        evidence,
        locations,
    }
}

// ---- facts ----

/// One cause of failed upstream requests, as the logs, the direct probes and the config show it.
struct Failure<'a> {
    code: FindingCode,
    logs: Seen,
    /// Direct probes of upstreams that fail this way now.
    probes: Vec<&'a Probe>,
    /// The upstreams named: by the logs, then by the probes.
    upstreams: Vec<String>,
    /// The first detail the logs quote (errno text, SSL error, header), or empty.
    detail: String,
    specific: Specific,
    evidence: Vec<String>,
    locations: Vec<SourceLocation>,
}

/// What some causes need beyond the common facts.
enum Specific {
    None,
    /// nginx reuses connections to the upstream, but nothing read says whether the closed ones
    /// were reused (no probe, no `$upstream_connect_time`): a crash and a keep-alive race look
    /// the same from here.
    ClosedUnsure,
    Socket(SocketFault),
    /// The `*_buffer_size` settings of the routes to the upstreams: (name, value, where).
    Buffers(Vec<(String, String, Option<SourceLocation>)>),
    Tls(TlsFault),
    Timeout {
        /// Connecting timed out, and reading never did.
        connect: bool,
        /// Both connecting and reading timed out (for different requests).
        mixed: bool,
        /// The proxy_* setting that bounds it.
        setting: &'static str,
        /// The first route's value of it: (name, value, is the default).
        used: Option<(String, String, bool)>,
    },
}

/// Why nginx could not connect to a unix socket.
enum SocketFault {
    Permission,
    Backlog,
    Missing,
}

/// What the TLS failure to the upstream most likely is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsFault {
    PlainHttp,
    /// No TLS version in common (alert 70, "unsupported protocol").
    Protocol,
    /// A handshake-failure or internal-error alert (40, 80): SNI, ciphers or a client certificate.
    Alert,
    Verify,
    Name,
    Unknown,
}

// ---- text ----

/// The words of one cause's finding.
struct Text {
    title: String,
    /// The explanation before the first log line and the probe's result.
    why: String,
    disproved: &'static str,
    steps: Vec<Remediation>,
}

impl Failure<'_> {
    /// `A, B`, or `the upstream`.
    fn up(&self) -> String {
        if self.upstreams.is_empty() {
            "the upstream".to_owned()
        } else {
            self.upstreams.join(", ")
        }
    }

    /// The first upstream, or `<upstream>`.
    fn first(&self) -> String {
        self.upstreams
            .first()
            .cloned()
            .unwrap_or_else(|| "<upstream>".to_owned())
    }

    /// The first upstream's host and port (the whole name and no port for a unix socket).
    fn host_port(&self) -> (String, String) {
        let first = self.first();
        match first.rsplit_once(':') {
            Some((h, p)) if !first.starts_with("unix:") => (h.to_owned(), p.to_owned()),
            _ => (first.clone(), String::new()),
        }
    }

    /// How to see what listens on the first upstream's address.
    fn listen_check(&self) -> String {
        let first = self.first();
        if first.starts_with("unix:") {
            format!("ls -l {}", first.trim_start_matches("unix:"))
        } else {
            format!("ss -ltnp | grep ':{} '", self.host_port().1)
        }
    }

    /// `N error.log line(s)`, `N access-log line(s)`, or that none mention it.
    fn lines(&self) -> String {
        match (self.logs.error_lines, self.logs.access_lines) {
            (0, 0) => "no log lines read mention it".to_owned(),
            (0, a) => format!("{a} access-log line(s)"),
            (e, _) => format!("{e} error.log line(s)"),
        }
    }

    /// ` First seen: LINE.`, or empty.
    fn quoted(&self) -> String {
        let quote = self.logs.quote();
        if quote.is_empty() {
            String::new()
        } else {
            format!(" First seen: {quote}.")
        }
    }

    /// What the first direct probe got, a sentence, or empty.
    fn probed(&self) -> String {
        let first = self.probes.first();
        match first.and_then(|p| p.error.as_ref().map(|e| (p, e))) {
            Some((p, e)) => format!(
                " A direct probe of {} now fails the same way: {}.",
                probe_peer(p),
                e.message
            ),
            None => match first.and_then(|p| p.http.as_ref().map(|h| (p, h))) {
                Some((p, h)) => format!(
                    " A direct probe of {} got HTTP {}.",
                    probe_peer(p),
                    h.status
                ),
                None => String::new(),
            },
        }
    }

    fn confidence(&self) -> Confidence {
        let logs = &self.logs;
        if logs.error_lines > 0 || (logs.access_lines > 0 && !self.probes.is_empty()) {
            Confidence::High
        } else {
            Confidence::Medium
        }
    }

    /// ` (DETAIL)` or `: DETAIL` around the detail the logs quote, or empty.
    fn detail_in(&self, before: &str, after: &str) -> String {
        if self.detail.is_empty() {
            String::new()
        } else {
            format!("{before}{}{after}", self.detail)
        }
    }

    fn text(&self) -> Text {
        match (self.code, &self.specific) {
            (FindingCode::NginxUpstreamRefused, _) => self.refused(),
            (FindingCode::NginxUnixSocketFailed, Specific::Socket(fault)) => self.socket(fault),
            (FindingCode::NginxUpstreamUnreachable, _) => self.unreachable(),
            (FindingCode::NginxEphemeralPortsExhausted, _) => self.no_ports(),
            (FindingCode::NginxUpstreamIpv6Unavailable, _) => self.no_ipv6(),
            (FindingCode::NginxUpstreamNoEndpoints, _) => self.no_endpoints(),
            (FindingCode::NginxNoLiveUpstreams, _) => self.no_live(),
            (FindingCode::NginxUpstreamClosed, Specific::ClosedUnsure) => self.closed_unsure(),
            (FindingCode::NginxUpstreamClosed, _) => self.closed(),
            (FindingCode::NginxKeepaliveRace, _) => self.keepalive_race(),
            (FindingCode::NginxHeaderTooBig, Specific::Buffers(sizes)) => {
                self.header_too_big(sizes)
            }
            (FindingCode::NginxInvalidHeader, _) => self.invalid_header(),
            (FindingCode::NginxUpstreamTlsFailed, Specific::Tls(fault)) => self.tls(fault),
            (FindingCode::NginxUpstreamDnsFailed, _) => self.dns(),
            (FindingCode::NginxUpstreamUnresolvableAtLoad, _) => self.unresolvable_at_load(),
            (
                FindingCode::NginxUpstreamTimeout,
                Specific::Timeout {
                    connect,
                    mixed,
                    setting,
                    used,
                },
            ) => self.timeout(*connect, *mixed, setting, used.as_ref()),
            (FindingCode::NginxClientClosed, _) => self.client_closed(),
            (FindingCode::NginxRetriedFailures, _) => self.retried(),
            _ => self.returned_502(),
        }
    }

    fn refused(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        // `connect-failed` lines (EINVAL to a pod address, say) share this cause's checks, but
        // nothing refused them: say what connect() said instead
        let other = !self.detail.is_empty() && !self.detail.contains("refused");
        let unnamed = self.upstreams.is_empty() && self.logs.error_lines == 0;
        let (title, why) = if unnamed {
            (
                "nginx answers 502 without connecting to an upstream; the access log cannot \
                 say which one, nor why"
                    .to_owned(),
                format!(
                    "The access log shows 502s with no upstream connect time: nginx never \
                     connected. They name no upstream address (the format has no \
                     $upstream_addr, or nginx chose no peer and logged `-`), so which upstream \
                     it meant, and why it did not connect (refused, every server of a group \
                     marked down, a name it could not resolve), cannot be told from them; the \
                     error log says. {lines}."
                ),
            )
        } else if other {
            (
                format!(
                    "nginx answers 502: connecting to {up} fails ({})",
                    self.detail
                ),
                format!(
                    "nginx could not connect to {up}: connect() failed with \"{}\", before any \
                     answer from the upstream. {lines}.",
                    self.detail
                ),
            )
        } else {
            (
                format!("nginx answers 502: {up} refuses connections (nothing listens there)"),
                format!(
                    "nginx could not connect to {up}: the connection was refused, so no process \
                     listens on that address and port, or a firewall rejects it. {lines}."
                ),
            )
        };
        if unnamed {
            return Text {
                title,
                why,
                disproved: "The error log of the same minutes shows no failure to connect.",
                steps: vec![check_backend(
                    "Read the error log of the same minutes: it names the upstream and the \
                     reason",
                    Some(
                        "grep -E 'while connecting to upstream|no live upstreams|no resolver' \
                          /var/log/nginx/error.log | tail",
                    ),
                )],
            };
        }
        Text {
            title,
            why,
            disproved: "A process listens on the upstream's address and port (ss -ltn) and a \
                        request to it from the nginx host succeeds.",
            steps: vec![
                check_backend(
                    "Check what listens on the upstream port",
                    Some(&self.listen_check()),
                ),
                restart("Start or restart the application", None),
                review_config(
                    "If the application listens on another port or address, align the upstream \
                     `server` / proxy_pass with it",
                    None,
                ),
            ],
        }
    }

    fn socket(&self, fault: &SocketFault) -> Text {
        let (up, lines) = (self.up(), self.lines());
        let which = match fault {
            SocketFault::Permission => {
                "nginx's workers may not open the socket (permission denied)"
            }
            SocketFault::Backlog => {
                "the socket's listen backlog is full (resource temporarily unavailable)"
            }
            SocketFault::Missing => "the socket file does not exist",
        };
        Text {
            title: format!("nginx answers 502: cannot connect to the unix socket {up}: {which}"),
            why: format!(
                "nginx connects to {up} and fails: {which}. nginx logs this at [crit] for missing \
                 files and permissions. {lines}."
            ),
            disproved: "The socket exists, nginx's worker user may write to it, and \
                        `curl --unix-socket <path> http://localhost/` answers.",
            steps: vec![
                check_backend(
                    "Check the socket file, its owner and mode",
                    Some(&self.listen_check()),
                ),
                restart(
                    "Start the application (php-fpm, gunicorn) that creates the socket",
                    None,
                ),
                review_config(
                    "Make the socket path match (php-fpm `listen`), give nginx's user access \
                     (`listen.owner`, `listen.mode`), or raise the backlog (`listen.backlog`) \
                     and the worker count",
                    None,
                ),
            ],
        }
    }

    fn unreachable(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!("nginx answers 502: no network path to {up}"),
            why: format!(
                "Connecting to {up} fails with no route to host or network unreachable. {lines}."
            ),
            disproved: "The upstream address is reachable from the nginx host (ip route get, nc \
                        -vz).",
            steps: vec![
                check_backend(
                    "Trace the route from the nginx host",
                    Some(&format!("ip route get {}", self.host_port().0)),
                ),
                review_config("Fix routes, firewalls or security groups on the path", None),
            ],
        }
    }

    fn no_ports(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!("nginx answers 502: no free local ports to connect to {up}"),
            why: format!(
                "connect() fails with \"Cannot assign requested address\": every local port \
                 towards {up} is in use or in TIME_WAIT. {lines}."
            ),
            disproved: "`ss -s` shows few connections in TIME_WAIT and the port range is not \
                        used up.",
            steps: vec![
                check_backend(
                    "Count connections and see the local port range",
                    Some("ss -s; sysctl net.ipv4.ip_local_port_range"),
                ),
                review_config(
                    "Reuse upstream connections: `keepalive 32;` in the upstream block with \
                     proxy_http_version 1.1 and proxy_set_header Connection \"\"",
                    None,
                ),
                review_config("Widen net.ipv4.ip_local_port_range", None),
            ],
        }
    }

    fn no_ipv6(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        let loopback = self.upstreams.iter().any(|u| u.starts_with("[::1]"));
        let why = if loopback {
            "the name the config uses (`localhost`) resolves to ::1 too, and this host or container \
             has no IPv6 loopback address, so nginx cannot even pick a source address for it"
        } else {
            "this host or container has no IPv6 address to connect from"
        };
        Text {
            title: format!(
                "nginx answers 502: it connects to {up} over IPv6, which this host lacks"
            ),
            why: format!(
                "connect() to {up} fails with \"{}\" (EADDRNOTAVAIL): {why}. This is not port \
                 exhaustion: the address is IPv6. nginx tries the next address of the name, so \
                 some requests may still succeed over IPv4. {lines}.",
                if self.detail.is_empty() {
                    "Cannot assign requested address"
                } else {
                    &self.detail
                }
            ),
            disproved: "`ip -6 addr show lo` lists ::1 inside the nginx container or host, and a \
                        connection to the upstream over IPv6 succeeds from there.",
            steps: vec![
                check_backend(
                    "See which addresses the host or container has",
                    Some("ip -6 addr show; getent ahosts localhost"),
                ),
                review_config(
                    "Point proxy_pass / the upstream `server` at 127.0.0.1 instead of localhost, \
                     or add `resolver ... ipv6=off;` where a resolver is used",
                    None,
                ),
            ],
        }
    }

    fn no_endpoints(&self) -> Text {
        let lines = self.lines();
        Text {
            title: "nginx answers 502: the Service behind the ingress has no ready endpoints"
                .to_owned(),
            why: format!(
                "ingress-nginx connects to 0.0.0.1, the placeholder its balancer uses when the \
                 Service has no ready pods (none exist, none pass their readiness probe, or the \
                 Service's selector matches none), and connect() fails with \"Invalid \
                 argument\". Nothing is refused: there is nothing to connect to. {lines}."
            ),
            disproved: "`kubectl get endpointslices -l kubernetes.io/service-name=<service>` lists \
                        ready addresses at the time of the errors.",
            steps: vec![
                check_backend(
                    "List the Service's ready endpoints and its pods",
                    Some(
                        "kubectl get endpointslices -A -l kubernetes.io/service-name=<service>; \
                         kubectl get pods -l <selector> -o wide",
                    ),
                ),
                restart(
                    "Bring pods up or fix their readiness probe so that they become ready",
                    None,
                ),
                review_config(
                    "Make the Service's selector and port match the pods' labels and containerPort",
                    None,
                ),
            ],
        }
    }

    fn no_live(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!("nginx answers 502: every server of upstream {up} is marked down"),
            why: format!(
                "nginx logged \"no live upstreams\": each server of {up} failed max_fails times \
                 within fail_timeout and is skipped until it expires, so nginx answers 502 \
                 without trying any. {lines}. The first failures name the real cause: see the \
                 other findings."
            ),
            disproved: "At least one server of the group answers and no \"upstream server \
                        temporarily disabled\" line precedes the 502s.",
            steps: vec![
                check_backend("Probe each server of the group directly", None),
                restart("Bring the failed servers back", None),
                review_config(
                    "Tune max_fails / fail_timeout, or add servers to the group",
                    None,
                ),
            ],
        }
    }

    fn closed(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        let how = if self.detail.is_empty() {
            "premature close"
        } else {
            &self.detail
        };
        Text {
            title: format!(
                "nginx answers 502: {up} closes the connection before sending a response header"
            ),
            why: format!(
                "{up} accepted the request but closed or reset the connection before any \
                 response header ({how}): a crashing or killed worker, or a worker timeout. \
                 {lines}."
            ),
            disproved: "The application logs no crash or kill at those times and the same \
                        requests succeed when retried.",
            steps: vec![
                check_backend(
                    "Read the application's logs and the kernel log for crashes and OOM kills",
                    Some("dmesg -T | grep -i -E 'killed process|oom' | tail"),
                ),
                adjust_timeouts(
                    "Raise the application's worker timeout (gunicorn --timeout, php-fpm \
                     request_terminate_timeout) if it kills slow requests",
                    None,
                ),
                scale_backend("Add workers or memory if they are exhausted", None),
            ],
        }
    }

    fn closed_unsure(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!(
                "nginx answers 502: {up} closes connections before a response header: a crash, \
                 or a keep-alive race (nginx reuses connections to it)"
            ),
            why: format!(
                "{up} closed or reset connections before any response header{}. nginx keeps \
                 connections to it alive, so these may be idle connections the upstream closed \
                 as nginx reused them (its idle timeout shorter than nginx's keepalive_timeout), \
                 or a crashing worker: nothing read tells which (no probe of the upstream, no \
                 $upstream_connect_time in the access log). {lines}.",
                self.detail_in(" (", ")")
            ),
            disproved: "The failed requests were on new connections ($upstream_connect_time \
                        above 0.000) and the application logs no crash.",
            steps: vec![
                check_backend(
                    "Compare the upstream's idle timeout with nginx's keepalive_timeout, and \
                     read the application's and the kernel's logs for crashes",
                    Some("dmesg -T | grep -i -E 'killed process|oom' | tail"),
                ),
                adjust_timeouts(
                    "Keep nginx's upstream keepalive_timeout below the upstream's idle timeout",
                    None,
                ),
            ],
        }
    }

    fn keepalive_race(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        let reused = if self.logs.reused > 0 {
            format!(
                ", {} on a reused connection ($upstream_connect_time 0.000)",
                self.logs.reused
            )
        } else {
            String::new()
        };
        Text {
            title: format!(
                "nginx answers 502: {up} closes kept-alive connections nginx still reuses"
            ),
            why: format!(
                "Requests on reused upstream connections fail with a premature close, reset or \
                 broken pipe while the upstream itself is up: the upstream's idle timeout is \
                 shorter than nginx's upstream keepalive_timeout (60 s by default), so nginx \
                 sends a request on a connection the upstream is closing. {lines}{reused}."
            ),
            disproved: "The failed requests were on new connections ($upstream_connect_time \
                        above 0), or the upstream's idle timeout is longer than nginx's \
                        keepalive_timeout.",
            steps: vec![
                adjust_timeouts(
                    "Make the upstream's keep-alive idle timeout longer than nginx's upstream \
                     keepalive_timeout, or set keepalive_timeout below the upstream's",
                    None,
                ),
                review_config(
                    "If the upstream cannot keep connections, disable reuse (`keepalive 0;` or \
                     remove keepalive)",
                    None,
                ),
            ],
        }
    }

    fn header_too_big(&self, sizes: &[(String, String, Option<SourceLocation>)]) -> Text {
        let (up, lines) = (self.up(), self.lines());
        let sizes = if sizes.is_empty() {
            "proxy_buffer_size (default one memory page, 4k or 8k)".to_owned()
        } else {
            let said: Vec<String> = sizes
                .iter()
                .map(|(name, value, at)| match at {
                    Some(l) => format!("{name} {value} at {l}"),
                    None => format!("{name} {value} (default: one memory page)"),
                })
                .collect();
            crate::rules::dedup(said).join("; ")
        };
        Text {
            title: format!("nginx answers 502: {up} sends a response header larger than {sizes}"),
            why: format!(
                "The response header from {up} does not fit in the buffer nginx reads it into \
                 ({sizes}): large cookies, long redirect URLs or many headers. {lines}."
            ),
            disproved: "The upstream's response header (curl -sv) is smaller than the buffer.",
            steps: vec![
                check_backend(
                    "Measure the upstream's header size",
                    Some(&format!(
                        "curl -s -o /dev/null -D - http://{}/ | wc -c",
                        self.first()
                    )),
                ),
                review_config(
                    "Raise proxy_buffer_size (and proxy_buffers, proxy_busy_buffers_size; \
                     fastcgi_buffer_size for PHP), e.g. `proxy_buffer_size 16k;`",
                    None,
                ),
            ],
        }
    }

    fn invalid_header(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!("nginx answers 502: {up} sends an invalid response header"),
            why: format!(
                "nginx rejected the response header from {up}{}. {lines}.",
                self.detail_in(": ", "")
            ),
            disproved: "`curl -sv` against the upstream shows a well-formed response header.",
            steps: vec![
                check_backend(
                    "Look at the raw response",
                    Some(&format!("curl -sv -o /dev/null http://{}/", self.first())),
                ),
                review_config(
                    "Fix the application's headers (control bytes, duplicate or conflicting \
                     Content-Length / Transfer-Encoding)",
                    None,
                ),
            ],
        }
    }

    fn tls(&self, fault: &TlsFault) -> Text {
        let (up, lines) = (self.up(), self.lines());
        let hint = match fault {
            TlsFault::PlainHttp => {
                "the upstream speaks plain HTTP on that port: use http:// in proxy_pass"
            }
            TlsFault::Protocol => {
                "no TLS version is shared: set proxy_ssl_protocols to one the upstream accepts"
            }
            // alerts 40 (handshake failure) and 80 (internal error) have several causes
            TlsFault::Alert => {
                "the upstream refused the handshake with an alert: it needs SNI \
                 (proxy_ssl_server_name on), or no cipher or protocol is shared \
                 (proxy_ssl_ciphers, proxy_ssl_protocols), or it requires a client certificate \
                 (proxy_ssl_certificate); openssl s_client with and without -servername, with \
                 -tls1_2 and -tls1_3, and with -cert tells them apart"
            }
            TlsFault::Verify => {
                "the upstream's certificate does not verify: set proxy_ssl_trusted_certificate"
            }
            TlsFault::Name => "the certificate does not match the name: set proxy_ssl_name",
            TlsFault::Unknown => "check the scheme, SNI and the trusted CA",
        };
        Text {
            title: format!("nginx answers 502: the TLS handshake to {up} fails ({hint})"),
            why: format!(
                "nginx's TLS handshake to {up} failed{}: {hint}. {lines}.",
                self.detail_in(" (", ")")
            ),
            disproved: "`openssl s_client -connect <upstream> -servername <name>` completes a \
                        handshake with the settings nginx uses.",
            steps: vec![
                check_backend(
                    "Handshake with the upstream as nginx would",
                    Some(&format!(
                        "openssl s_client -connect {} -servername {} </dev/null",
                        self.first(),
                        self.host_port().0
                    )),
                ),
                update_tls(
                    "Fix the scheme, or set proxy_ssl_server_name on / proxy_ssl_name / \
                     proxy_ssl_trusted_certificate",
                    None,
                ),
            ],
        }
    }

    fn dns(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!("nginx answers 502: {up} does not resolve at request time"),
            why: format!(
                "nginx's resolver could not resolve {up}{}. {lines}.",
                self.detail_in(" (", ")")
            ),
            disproved: "The name resolves through the resolver nginx is configured with.",
            steps: vec![
                check_backend(
                    "Resolve the name through nginx's resolver",
                    Some(&format!("dig +short {} @<resolver>", self.host_port().0)),
                ),
                review_config("Fix the DNS record, or the `resolver` directive", None),
            ],
        }
    }

    fn unresolvable_at_load(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!("nginx cannot load its configuration: upstream host {up} not found"),
            why: format!(
                "nginx logged [emerg] host not found in upstream: at start or reload a name in an \
                 upstream or proxy_pass did not resolve, so nginx did not start, or kept its old \
                 configuration. {lines}."
            ),
            disproved: "`nginx -t` passes now.",
            steps: vec![
                check_backend("Test the configuration", Some("nginx -t")),
                review_config(
                    "Fix the DNS name, or use a variable with a resolver so it resolves per \
                     request",
                    None,
                ),
            ],
        }
    }

    fn timeout(
        &self,
        connect: bool,
        mixed: bool,
        setting: &str,
        used: Option<&(String, String, bool)>,
    ) -> Text {
        let (up, lines) = (self.up(), self.lines());
        let which = if mixed {
            "connecting to, and waiting for a response header from,"
        } else if connect {
            "connecting to"
        } else {
            "waiting for a response header from"
        };
        let used = match used {
            Some((name, value, default)) => format!(
                " ({name} {value}{})",
                if *default { ", the default" } else { "" }
            ),
            None => String::new(),
        };
        Text {
            title: format!("nginx answers 504, not 502: it timed out {which} {up}"),
            why: format!(
                "nginx timed out {which} {up}{used}. A timeout is answered with 504 Gateway \
                 Time-out, not 502: if clients report 502, look at another layer. {lines}."
            ),
            disproved: "The upstream answers the same request well within the timeout.",
            steps: vec![
                check_backend(
                    "Time the upstream directly",
                    Some(&format!(
                        "curl -s -o /dev/null -w '%{{time_starttransfer}}\\n' http://{}/",
                        self.first()
                    )),
                ),
                adjust_timeouts(
                    &format!("Raise {setting} only if slow requests are expected"),
                    None,
                ),
                scale_backend("Add capacity if the upstream is saturated", None),
            ],
        }
    }

    fn client_closed(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!(
                "{} requests ended in 499: clients gave up before {up} answered",
                self.logs.count()
            ),
            why: format!(
                "Status 499 means the client closed the connection before nginx sent the \
                 response header: the upstream is slow, or the client's (or the layer in \
                 front's) timeout is short. {lines}."
            ),
            disproved: "The upstream answers those requests quickly.",
            steps: vec![
                check_backend("Find the slow requests in the access log", None),
                adjust_timeouts(
                    "Align the timeouts of the layer in front with the upstream's latency",
                    None,
                ),
            ],
        }
    }

    fn retried(&self) -> Text {
        let (up, n) = (self.up(), self.logs.count());
        Text {
            title: format!(
                "{n} request(s) failed at {up} and nginx retried them elsewhere: not 502s for \
                 the clients, but {up} is failing"
            ),
            why: format!(
                "The access log's $upstream_status lists a failed attempt at {up}{} before the \
                 attempt that answered (proxy_next_upstream): those clients got their answer, \
                 so these are not client-visible 502s. The server still fails, and each retry \
                 costs the clients the failed attempt's time; when every server fails, they get \
                 the 502. {n} access-log line(s).",
                self.detail_in(" (", ")")
            ),
            disproved: "Direct requests to that server succeed and new access-log lines show a \
                        single $upstream_status value.",
            steps: vec![
                check_backend(
                    "Probe the failing server directly",
                    Some(&format!("curl -sv -o /dev/null http://{}/", self.first())),
                ),
                restart("Restart or replace the failing server", None),
            ],
        }
    }

    fn returned_502(&self) -> Text {
        let (up, lines) = (self.up(), self.lines());
        Text {
            title: format!("{up} answered 502 itself; nginx only relayed it"),
            why: format!(
                "The access log shows 502 with an upstream header time: {up} sent the 502, nginx \
                 did not make it. The application, or a proxy behind it, is failing. {lines}."
            ),
            disproved: "error.log has upstream failures at the same times (then nginx made the \
                        502).",
            steps: vec![
                check_backend(
                    "Read the application's own logs for those requests (match $request_id)",
                    None,
                ),
                check_backend(
                    "Probe the application directly",
                    Some(&format!("curl -sv -o /dev/null http://{}/", self.first())),
                ),
            ],
        }
    }
}

impl From<Failure<'_>> for Finding {
    fn from(f: Failure<'_>) -> Finding {
        let text = f.text();
        let severity = match f.code {
            FindingCode::NginxClientClosed | FindingCode::NginxRetriedFailures => Severity::Warning,
            _ => Severity::Critical,
        };
        let layer = match f.code {
            FindingCode::NginxUpstreamReturned502 | FindingCode::NginxRetriedFailures => {
                Layer::Application
            }
            _ => Layer::Nginx,
        };
        let mut finding = finding(
            f.code,
            severity,
            f.confidence(),
            text.title,
            format!("{}{}{}", text.why, f.quoted(), f.probed()),
            f.evidence,
            f.locations,
            text.disproved,
            text.steps,
        );
        finding.layer = Some(layer);
        finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;
    use cloud502_model::*;

    fn group(class: LogClass, upstream: &str, count: u64) -> LogGroup {
        LogGroup {
            timeline: None,
            class,
            upstream: Some(upstream.to_owned()),
            status: class.client_status(),
            level: Some("error".into()),
            detail: None,
            count,
            reused: None,
            first_seen: None,
            last_seen: None,
            sample: LogSample {
                line: 3,
                text: format!("... {class} ..."),
            },
        }
    }

    fn logs(dialect: &str, groups: Vec<LogGroup>) -> LogSummary {
        LogSummary {
            id: format!("log.{dialect}"),
            source: format!("/var/log/nginx/{dialect}.log"),
            dialect: dialect.into(),
            lines: 100,
            matched: groups.iter().map(|g| g.count).sum(),
            bytes: 0,
            skipped: LogSkips::default(),
            first_seen: None,
            last_seen: None,
            counts: Vec::new(),
            groups,
            samples: Vec::new(),
        }
    }

    fn nginx_evidence(logs_: Vec<LogSummary>) -> Evidence {
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::Nginx,
            id: "nginx".into(),
        });
        ev.logs = logs_;
        crate::describe::describe(&mut ev);
        ev
    }

    #[test]
    fn tls_alerts_name_every_cause_and_protocol_alerts_the_version() {
        let title = |detail: &str| {
            let mut g = group(LogClass::TlsHandshake, "10.0.0.5:443", 2);
            g.detail = Some(detail.to_owned());
            let ev = nginx_evidence(vec![logs("nginx-error", vec![g])]);
            run_rule(check, &ev)[0].title.clone()
        };
        let alert = title(
            "SSL: error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40",
        );
        for cause in ["SNI", "cipher", "client certificate"] {
            assert!(alert.contains(cause), "{alert}");
        }
        let internal = title(
            "SSL: error:0A000438:SSL routines::tlsv1 alert internal error:SSL alert number 80",
        );
        assert!(internal.contains("client certificate"), "{internal}");
        let version = title(
            "SSL: error:0A00042E:SSL routines::tlsv1 alert protocol version:SSL alert number 70",
        );
        assert!(version.contains("no TLS version is shared"), "{version}");
        assert!(!version.contains("SNI"), "{version}");
    }

    #[test]
    fn two_upstreams_failing_tls_differently_get_a_finding_each() {
        let with = |up: &str, detail: &str, n| {
            let mut g = group(LogClass::TlsHandshake, up, n);
            g.detail = Some(detail.to_owned());
            g
        };
        let ev = nginx_evidence(vec![logs(
            "nginx-error",
            vec![
                with(
                    "10.0.0.5:443",
                    "SSL: error:0A00042E:SSL routines::tlsv1 alert protocol version:SSL alert number 70",
                    3,
                ),
                with(
                    "10.0.0.6:8443",
                    "SSL: error:0A00010B:SSL routines::wrong version number",
                    2,
                ),
            ],
        )]);
        let f = run_rule(check, &ev);
        assert_eq!(
            f.len(),
            2,
            "{:?}",
            f.iter().map(|f| &f.title).collect::<Vec<_>>()
        );
        assert!(f[0].title.contains("10.0.0.5:443") && f[0].title.contains("no TLS version"));
        assert!(!f[0].title.contains("10.0.0.6"), "{}", f[0].title);
        assert!(f[1].title.contains("10.0.0.6:8443") && f[1].title.contains("plain HTTP"));
        // the same fault on two upstreams stays one finding
        let ev = nginx_evidence(vec![logs(
            "nginx-error",
            vec![
                with("10.0.0.5:443", "SSL: wrong version number", 1),
                with("10.0.0.6:443", "SSL: wrong version number", 1),
            ],
        )]);
        assert_eq!(run_rule(check, &ev).len(), 1);
    }

    #[test]
    fn closes_with_keepalive_in_force_and_no_probe_do_not_blame_a_crash_alone() {
        let mut ev = nginx(
            &["10.0.0.5:8080"],
            vec![setting("keepalive", "16")],
            vec![
                setting("proxy_http_version", "1.1"),
                setting("proxy_set_header Connection", ""),
            ],
        );
        ev.logs
            .push(error_log(&[(LogClass::PrematureClose, "10.0.0.5:8080", 4)]));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::NginxUpstreamClosed);
        assert!(f[0].title.contains("keep-alive race"), "{}", f[0].title);
        assert!(f[0].title.contains("a crash, or"), "{}", f[0].title);
        // without keep-alive in force, a close is the upstream's own
        let mut ev = nginx(&["10.0.0.5:8080"], Vec::new(), Vec::new());
        ev.logs
            .push(error_log(&[(LogClass::PrematureClose, "10.0.0.5:8080", 4)]));
        crate::describe::describe(&mut ev);
        let f = run_rule(check, &ev);
        assert!(!f[0].title.contains("keep-alive"), "{}", f[0].title);
    }

    #[test]
    fn error_log_failures_nginx_retried_are_not_client_502s() {
        let mut retried = group(LogClass::UpstreamRetried, "10.0.0.5:8080", 6);
        retried.status = Some(200);
        let ev = nginx_evidence(vec![
            logs(
                "nginx-error",
                vec![
                    group(LogClass::ConnectRefused, "10.0.0.5:8080", 6),
                    group(LogClass::ConnectRefused, "10.0.0.7:8080", 2),
                ],
            ),
            logs(
                "nginx-access",
                vec![
                    retried,
                    group(LogClass::Status502NoConnect, "10.0.0.7:8080", 2),
                ],
            ),
        ]);
        let f = run_rule(check, &ev);
        let codes: Vec<_> = f.iter().map(|f| (f.code, f.title.clone())).collect();
        // 10.0.0.7's 502s reached clients; 10.0.0.5's failures were all retried
        let refused = f
            .iter()
            .find(|f| f.code == FindingCode::NginxUpstreamRefused)
            .unwrap_or_else(|| panic!("{codes:?}"));
        assert!(refused.title.contains("10.0.0.7:8080"), "{codes:?}");
        assert!(!refused.title.contains("10.0.0.5"), "{codes:?}");
        assert!(
            f.iter().any(|f| f.code == FindingCode::NginxRetriedFailures
                && f.title.contains("10.0.0.5:8080")),
            "{codes:?}"
        );
    }

    #[test]
    fn connect_and_read_timeouts_together_are_titled_as_both() {
        let ev = nginx_evidence(vec![logs(
            "nginx-error",
            vec![
                group(LogClass::ConnectTimeout, "10.0.0.5:8080", 2),
                group(LogClass::ReadTimeout, "10.0.0.5:8080", 3),
            ],
        )]);
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::NginxUpstreamTimeout);
        assert!(
            f[0].title
                .contains("connecting to, and waiting for a response header from, 10.0.0.5:8080"),
            "{}",
            f[0].title
        );
    }

    #[test]
    fn an_access_format_without_upstream_addr_says_what_it_cannot_tell() {
        let mut g = group(LogClass::Status502NoConnect, "x", 4);
        g.upstream = None;
        let ev = nginx_evidence(vec![logs("nginx-access", vec![g])]);
        let f = run_rule(check, &ev);
        assert_eq!(
            f[0].code,
            FindingCode::NginxUpstreamRefused,
            "{:?}",
            f[0].title
        );
        assert!(
            f[0].title.contains("cannot say which one"),
            "{}",
            f[0].title
        );
        assert!(!f[0].title.contains("marked down"), "{}", f[0].title);
    }

    #[test]
    fn each_error_class_names_its_cause() {
        let cases = [
            (LogClass::ConnectRefused, FindingCode::NginxUpstreamRefused),
            (
                LogClass::ConnectNoSocket,
                FindingCode::NginxUnixSocketFailed,
            ),
            (
                LogClass::ConnectPermission,
                FindingCode::NginxUnixSocketFailed,
            ),
            (
                LogClass::ConnectUnreachable,
                FindingCode::NginxUpstreamUnreachable,
            ),
            (
                LogClass::ConnectNoPorts,
                FindingCode::NginxEphemeralPortsExhausted,
            ),
            (LogClass::PrematureClose, FindingCode::NginxUpstreamClosed),
            (LogClass::ConnectionReset, FindingCode::NginxUpstreamClosed),
            (LogClass::TooBigHeader, FindingCode::NginxHeaderTooBig),
            (LogClass::InvalidHeader, FindingCode::NginxInvalidHeader),
            (LogClass::NoLiveUpstreams, FindingCode::NginxNoLiveUpstreams),
            (LogClass::TlsHandshake, FindingCode::NginxUpstreamTlsFailed),
            (LogClass::ResolveFailed, FindingCode::NginxUpstreamDnsFailed),
            (
                LogClass::HostNotFoundAtLoad,
                FindingCode::NginxUpstreamUnresolvableAtLoad,
            ),
            (LogClass::ReadTimeout, FindingCode::NginxUpstreamTimeout),
            (LogClass::ConnectTimeout, FindingCode::NginxUpstreamTimeout),
        ];
        for (class, code) in cases {
            let ev = nginx_evidence(vec![logs(
                "nginx-error",
                vec![group(class, "10.0.0.5:8080", 4)],
            )]);
            let out = run_rule(check, &ev);
            assert_eq!(out.len(), 1, "{class}: {out:?}");
            assert_eq!(out[0].code, code, "{class}");
            assert_eq!(out[0].confidence, Confidence::High);
            assert!(out[0].title.contains("10.0.0.5:8080"), "{}", out[0].title);
            assert_eq!(out[0].evidence, vec!["log.nginx-error.group.0"]);
        }
    }

    #[test]
    fn access_log_signatures_classify_without_an_error_log() {
        let cases = [
            (
                LogClass::Status502NoConnect,
                FindingCode::NginxUpstreamRefused,
                Confidence::Medium,
            ),
            (
                LogClass::Status502NoHeader,
                FindingCode::NginxUpstreamClosed,
                Confidence::Medium,
            ),
            (
                LogClass::Status502FromUpstream,
                FindingCode::NginxUpstreamReturned502,
                Confidence::Medium,
            ),
            (
                LogClass::Status504,
                FindingCode::NginxUpstreamTimeout,
                Confidence::Medium,
            ),
            (
                LogClass::Status499,
                FindingCode::NginxClientClosed,
                Confidence::Medium,
            ),
        ];
        for (class, code, confidence) in cases {
            let ev = nginx_evidence(vec![logs(
                "nginx-access",
                vec![group(class, "10.0.0.5:8080", 2)],
            )]);
            let out = run_rule(check, &ev);
            assert_eq!(out.len(), 1, "{class}");
            assert_eq!(
                (out[0].code, out[0].confidence),
                (code, confidence),
                "{class}"
            );
        }
        // An upstream 502 blames the application, not nginx.
        let ev = nginx_evidence(vec![logs(
            "nginx-access",
            vec![group(LogClass::Status502FromUpstream, "10.0.0.5:8080", 2)],
        )]);
        assert_eq!(run_rule(check, &ev)[0].layer, Some(Layer::Application));
    }

    #[test]
    fn an_upstreams_own_502s_are_reported_beside_its_error_log_lines() {
        // Some requests to 10.0.0.5 were closed early (error.log); others got the upstream's own
        // 502 ($upstream_status 502 with a header): two causes, neither hides the other.
        let ev = nginx_evidence(vec![
            logs(
                "nginx-error",
                vec![group(LogClass::PrematureClose, "10.0.0.5:8080", 3)],
            ),
            logs(
                "nginx-access",
                vec![
                    group(LogClass::Status502NoHeader, "10.0.0.5:8080", 3),
                    group(LogClass::Status502FromUpstream, "10.0.0.5:8080", 6),
                ],
            ),
        ]);
        let out = run_rule(check, &ev);
        let codes: Vec<_> = out.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [
                FindingCode::NginxUpstreamReturned502,
                FindingCode::NginxUpstreamClosed
            ],
            "{out:#?}"
        );
        assert_eq!(out[0].evidence, vec!["log.nginx-access.group.1"]);
        assert!(out[0].title.contains("10.0.0.5:8080"), "{}", out[0].title);
    }

    #[test]
    fn the_error_log_explains_access_log_lines_and_the_larger_cause_ranks_first() {
        let ev = nginx_evidence(vec![
            logs(
                "nginx-error",
                vec![
                    group(LogClass::ConnectRefused, "10.0.0.5:8080", 2),
                    group(LogClass::NoLiveUpstreams, "backend", 7),
                ],
            ),
            logs(
                "nginx-access",
                vec![group(LogClass::Status502NoConnect, "backend", 9)],
            ),
        ]);
        let codes: Vec<_> = run_rule(check, &ev).iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec![
                FindingCode::NginxNoLiveUpstreams,
                FindingCode::NginxUpstreamRefused
            ]
        );
    }

    #[test]
    fn reused_connections_turn_a_premature_close_into_a_keepalive_race() {
        let mut g = group(LogClass::Status502NoHeader, "10.0.0.5:8080", 5);
        g.reused = Some(4);
        let access = logs("nginx-access", vec![g]);
        // Without keep-alive in force, 0.000 connect times are just fast connects.
        let ev = nginx_evidence(vec![access.clone()]);
        assert_eq!(
            run_rule(check, &ev)[0].code,
            FindingCode::NginxUpstreamClosed
        );
        let mut ev = nginx(
            &["10.0.0.5:8080"],
            vec![setting("keepalive", "32")],
            vec![
                setting("proxy_http_version", "1.1"),
                setting("proxy_set_header Connection", ""),
            ],
        );
        ev.logs.push(access);
        assert_eq!(
            run_rule(check, &ev)[0].code,
            FindingCode::NginxKeepaliveRace
        );
    }

    #[test]
    fn access_lines_for_an_upstream_the_error_log_explains_add_nothing() {
        let ev = nginx_evidence(vec![
            logs(
                "nginx-error",
                vec![group(LogClass::TooBigHeader, "10.0.0.5:8080", 1)],
            ),
            logs(
                "nginx-access",
                vec![group(LogClass::Status502NoHeader, "10.0.0.5:8080", 1)],
            ),
        ]);
        let codes: Vec<_> = run_rule(check, &ev).iter().map(|f| f.code).collect();
        assert_eq!(codes, vec![FindingCode::NginxHeaderTooBig]);
    }

    #[test]
    fn a_refusing_backend_probe_alone_is_a_medium_confidence_finding() {
        let mut p = probe("http://127.0.0.1:8080/");
        p.id = "upstream.0".into();
        p.error = Some(ProbeError {
            phase: Phase::Connect,
            kind: ProbeErrorKind::Refused,
            message: "connect to 127.0.0.1:8080 failed: Connection refused".into(),
        });
        let mut ev = nginx_evidence(Vec::new());
        ev.probes.push(p);
        let out = run_rule(check, &ev);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, FindingCode::NginxUpstreamRefused);
        assert_eq!(out[0].confidence, Confidence::Medium);
        assert!(out[0].explanation.contains("now fails the same way"));
    }

    #[test]
    fn healthy_evidence_gives_nothing() {
        let mut p = probe("http://127.0.0.1:8080/");
        p.id = "upstream.0".into();
        p.http = Some(response(200, ""));
        let mut ev = nginx_evidence(vec![logs("nginx-error", Vec::new())]);
        ev.probes.push(p);
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn the_port_sweep_alone_says_a_local_upstream_refuses() {
        // --local --no-probe, no log lines yet: only the check says nothing listens
        let mut ev = nginx(&["127.0.0.1:8000"], Vec::new(), Vec::new());
        ev.checks.push(HostCheck {
            id: "host.listening.127.0.0.1:8000".into(),
            name: "listening on 127.0.0.1:8000".into(),
            status: CheckStatus::Fail,
            detail: "nothing listens on 127.0.0.1:8000".into(),
        });
        let out = run_rule(check, &ev);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].code, FindingCode::NginxUpstreamRefused);
        assert!(
            out[0]
                .evidence
                .contains(&"host.listening.127.0.0.1:8000".to_owned())
        );
        // a passing check says nothing
        ev.checks[0].status = CheckStatus::Pass;
        assert!(run_rule(check, &ev).is_empty());
    }
}
