//! What the Cloudflare rules share: the zone's SSL mode and host, the analytics split of a
//! `cloudflare-http-requests` summary (who made each 5xx, KB 0.3, 3.3), and the direct origin
//! checks (`upstream.N` probes) read against the SSL mode (KB 3.1, 3.4). The shapes are the
//! provider's evidence contract (docs/providers/cloudflare.md). Not a rule itself.
//!
//! The SSL-mode mismatch (KB 3.4 #10) is decided here, once, because two rules need it:
//! `cloudflare_ssl_mode` reports it, and `cloudflare_52x` must not repeat the 52x it predicts.

use crate::describe::log_group_id;
use crate::rules::cite;
use cloud502_model::{
    Evidence, HealthState, LogClass, LogGroup, LogSummary, Phase, Probe, ProbeErrorKind,
    ProbeScheme, ProviderKind, TlsFacts,
};

/// The dialect of Cloudflare analytics and Logpush `http_requests` summaries.
pub(crate) const DIALECT: &str = "cloudflare-http-requests";

/// Edge 502s from one colo within this many minutes are a transient edge shift (KB 3.4 #3).
pub(crate) const TRANSIENT_MINUTES: i64 = 10;

/// The zone's SSL/TLS encryption mode (`settings/ssl` `result.value`, KB 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Off,
    Flexible,
    Full,
    Strict,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        match value.trim().to_ascii_lowercase().as_str() {
            "off" => Some(SslMode::Off),
            "flexible" => Some(SslMode::Flexible),
            "full" => Some(SslMode::Full),
            "strict" | "full (strict)" | "full_strict" => Some(SslMode::Strict),
            _ => None,
        }
    }

    /// The mode as the dashboard names it.
    pub fn label(self) -> &'static str {
        match self {
            SslMode::Off => "Off",
            SslMode::Flexible => "Flexible",
            SslMode::Full => "Full",
            SslMode::Strict => "Full (strict)",
        }
    }

    /// The scheme Cloudflare uses to reach the origin in this mode: HTTP (port 80) for Off and
    /// Flexible, HTTPS (port 443) for Full and Full (strict) (KB 3.1, 521).
    pub fn scheme(self) -> ProbeScheme {
        match self {
            SslMode::Off | SslMode::Flexible => ProbeScheme::Http,
            SslMode::Full | SslMode::Strict => ProbeScheme::Https,
        }
    }
}

/// The zone's SSL mode, when it was read.
pub(crate) fn ssl_mode(ev: &Evidence) -> Option<SslMode> {
    ev.config
        .setting("ssl")
        .and_then(|s| SslMode::parse(&s.value))
}

/// Whether the evidence comes from `cloud502 cloudflare`.
pub(crate) fn is_cloudflare(ev: &Evidence) -> bool {
    ev.subject.kind == ProviderKind::Cloudflare
}

/// A global setting's value.
pub(crate) fn setting<'a>(ev: &'a Evidence, name: &str) -> Option<&'a str> {
    ev.config.setting(name).map(|s| s.value.as_str())
}

/// The host diagnosed: the `host` setting, else the subject's `<host> (zone <zone>)`.
pub(crate) fn host(ev: &Evidence) -> String {
    if let Some(h) = setting(ev, "host").filter(|h| !h.is_empty()) {
        return h.to_owned();
    }
    if is_cloudflare(ev) {
        if let Some(h) = ev
            .subject
            .id
            .split(" (zone ")
            .next()
            .filter(|h| !h.is_empty())
        {
            return h.trim().to_owned();
        }
    }
    // Saved Logpush records name the host each request was for.
    crate::rules::sample_field(ev, "ClientRequestHost").unwrap_or_else(|| "<host>".to_owned())
}

/// The Cloudflare Tunnel the host is served through (setting `tunnel`, the UUID of
/// `<uuid>.cfargotunnel.com`), when its record is one.
pub(crate) fn tunnel(ev: &Evidence) -> Option<&str> {
    setting(ev, "tunnel").filter(|t| !t.is_empty())
}

/// The Workers in front of the host (settings `worker`, `SCRIPT (PATTERN)`), from the Workers
/// routes whose pattern covers it.
pub(crate) fn workers(ev: &Evidence) -> Vec<&str> {
    ev.config
        .settings
        .iter()
        .filter(|s| s.name == "worker" && !s.value.is_empty())
        .map(|s| s.value.as_str())
        .collect()
}

/// Where a Configuration Rule or Page Rule set the host's SSL mode (setting `ssl.source`), when
/// one did.
pub(crate) fn ssl_source(ev: &Evidence) -> Option<&str> {
    setting(ev, "ssl.source").filter(|s| !s.is_empty())
}

/// The zone name from the subject `<host> (zone <zone-name>)`, else a guess from the host.
pub(crate) fn zone(ev: &Evidence) -> String {
    ev.subject
        .id
        .split_once("(zone ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .filter(|z| !z.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| match host(ev).as_str() {
            "<host>" => "<zone>".to_owned(),
            h => crate::rules::zone_guess(h),
        })
}

/// These ids, keeping only the items the evidence holds.
pub(crate) fn existing(ev: &Evidence, ids: impl IntoIterator<Item = String>) -> Vec<String> {
    ids.into_iter().filter(|id| ev.item(id).is_some()).collect()
}

/// `cloud502 probe <scheme>://<host>[:<port>]/ --resolve <host>:<port>:<address>`: the origin
/// check by hand, on `port` when the run checked another port than the scheme's (`--http-port`,
/// `--https-port`; see [`origin_port`]).
pub(crate) fn origin_probe_command(
    host: &str,
    scheme: ProbeScheme,
    address: &str,
    port: Option<u16>,
) -> String {
    let (s, default) = match scheme {
        ProbeScheme::Http => ("http", 80),
        _ => ("https", 443),
    };
    let port = port.unwrap_or(default);
    let address = if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]")
    } else {
        address.to_owned()
    };
    let authority = if port == default {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    format!("cloud502 probe {s}://{authority}/ --resolve {host}:{port}:{address}")
}

/// The port the run checked origins on for this scheme (`--http-port` / `--https-port`), when
/// an origin check of that scheme was made.
pub(crate) fn origin_port(ev: &Evidence, scheme: ProbeScheme) -> Option<u16> {
    origins(ev)
        .iter()
        .find_map(|o| o.probe(scheme))
        .map(|p| p.port)
}

// ---------------------------------------------------------------------------------------------
// Analytics
// ---------------------------------------------------------------------------------------------

/// Requests of the analytics (or Logpush) summaries that some groups hold, with what they say.
#[derive(Debug, Default, Clone)]
pub(crate) struct Requests {
    pub count: u64,
    /// The summary items and group items that exist.
    pub items: Vec<String>,
    /// Origin IPs, by requests, largest first.
    pub origins: Vec<(String, u64)>,
    /// Edge data centres (`colo XXX`), by requests, largest first.
    pub colos: Vec<(String, u64)>,
    /// The earliest `first_seen` and latest `last_seen` of the groups.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Whether every group had both timestamps.
    pub all_timed: bool,
}

impl Requests {
    /// `203.0.113.10 (40), 203.0.113.11 (2)`, or `-`.
    pub fn origin_list(&self) -> String {
        list(&self.origins)
    }

    /// `FRA (40), AMS (2)`, or `-`.
    pub fn colo_list(&self) -> String {
        list(&self.colos)
    }

    /// Minutes between the first and the last request, when both parse.
    pub fn span_minutes(&self) -> Option<i64> {
        let (a, b) = (
            parse_time(self.first_seen.as_deref()?)?,
            parse_time(self.last_seen.as_deref()?)?,
        );
        Some((b - a).whole_minutes())
    }

    /// `between A and B`, `at A`, or empty.
    pub fn window(&self) -> String {
        match (&self.first_seen, &self.last_seen) {
            (Some(a), Some(b)) if a != b => format!(" between {a} and {b}"),
            (Some(a), _) | (None, Some(a)) => format!(" at {a}"),
            _ => String::new(),
        }
    }
}

fn list(v: &[(String, u64)]) -> String {
    if v.is_empty() {
        return "-".to_owned();
    }
    v.iter()
        .map(|(k, n)| format!("{k} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

fn add(v: &mut Vec<(String, u64)>, key: &str, n: u64) {
    match v.iter_mut().find(|(k, _)| k == key) {
        Some((_, c)) => *c += n,
        None => v.push((key.to_owned(), n)),
    }
}

/// The edge data centre a group names (`colo FRA`).
pub(crate) fn colo(g: &LogGroup) -> Option<&str> {
    let d = g.detail.as_deref()?.trim();
    let code = d
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("colo "))
        .map(|_| d[5..].trim())?;
    (!code.is_empty()).then_some(code)
}

/// The Cloudflare analytics and Logpush summaries.
pub(crate) fn summaries(ev: &Evidence) -> impl Iterator<Item = &LogSummary> {
    ev.logs.iter().filter(|l| l.dialect == DIALECT)
}

/// Whether any Cloudflare analytics or Logpush summary was read.
pub(crate) fn has_analytics(ev: &Evidence) -> bool {
    summaries(ev).next().is_some()
}

/// The requests of the groups that `keep` keeps.
pub(crate) fn requests(ev: &Evidence, keep: impl Fn(&LogGroup) -> bool) -> Requests {
    let mut out = Requests {
        all_timed: true,
        ..Requests::default()
    };
    let mut first: Option<(Option<time::OffsetDateTime>, String)> = None;
    let mut last: Option<(Option<time::OffsetDateTime>, String)> = None;
    for log in summaries(ev) {
        let mut cited_log = false;
        for (i, g) in log.groups.iter().enumerate() {
            if !keep(g) {
                continue;
            }
            if !cited_log {
                out.items.push(log.id.clone());
                cited_log = true;
            }
            out.items.push(log_group_id(log, i));
            out.count += g.count;
            if let Some(o) = g.upstream.as_deref().filter(|o| !o.is_empty()) {
                add(&mut out.origins, o, g.count);
            }
            if let Some(c) = colo(g) {
                add(&mut out.colos, c, g.count);
            }
            if g.first_seen.is_none() || g.last_seen.is_none() {
                out.all_timed = false;
            }
            if let Some(f) = &g.first_seen {
                let t = parse_time(f);
                if first.as_ref().is_none_or(|(ft, fs)| match (t, ft) {
                    (Some(t), Some(ft)) => t < *ft,
                    _ => f < fs,
                }) {
                    first = Some((t, f.clone()));
                }
            }
            if let Some(l) = &g.last_seen {
                let t = parse_time(l);
                if last.as_ref().is_none_or(|(lt, ls)| match (t, lt) {
                    (Some(t), Some(lt)) => t > *lt,
                    _ => l > ls,
                }) {
                    last = Some((t, l.clone()));
                }
            }
        }
    }
    out.items = existing(ev, out.items);
    out.origins.sort_by_key(|o| std::cmp::Reverse(o.1));
    out.colos.sort_by_key(|c| std::cmp::Reverse(c.1));
    out.first_seen = first.map(|f| f.1);
    out.last_seen = last.map(|l| l.1);
    if out.count == 0 {
        out.all_timed = false;
    }
    out
}

/// Edge-made requests (class `edge-error`) with this edge status.
pub(crate) fn edge_errors(ev: &Evidence, status: u16) -> Requests {
    requests(ev, |g| {
        g.class == LogClass::EdgeError && g.status == Some(status)
    })
}

/// The edge statuses of `edge-error` groups, in first-seen order.
pub(crate) fn edge_statuses(ev: &Evidence) -> Vec<u16> {
    crate::rules::dedup(
        summaries(ev)
            .flat_map(|l| l.groups_of(LogClass::EdgeError))
            .filter_map(|g| g.status)
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Direct origin checks
// ---------------------------------------------------------------------------------------------

/// One origin address and its direct checks (`upstream.N` probes), http and https.
#[derive(Debug)]
pub(crate) struct Origin<'a> {
    /// The origin IP, or what the provider says the address came from when it did not resolve.
    pub address: String,
    pub probes: Vec<&'a Probe>,
}

impl<'a> Origin<'a> {
    /// The check with this scheme.
    pub fn probe(&self, scheme: ProbeScheme) -> Option<&'a Probe> {
        self.probes.iter().copied().find(|p| p.scheme == scheme)
    }
}

/// The direct origin checks, grouped by origin address, in the order first seen. A check of a
/// name that did not resolve has no address: it is named by its own `host` when that is not the
/// diagnosed host (the origin's name), else by its `upstream.N.origin` item.
pub(crate) fn origins(ev: &Evidence) -> Vec<Origin<'_>> {
    let diagnosed = host(ev);
    let mut out: Vec<Origin<'_>> = Vec::new();
    // nginx's provider names its upstream probes the same way; those are not Cloudflare origins.
    if !is_cloudflare(ev) {
        return out;
    }
    for p in ev
        .probes
        .iter()
        .filter(|p| p.id.starts_with(crate::rules::BACKEND_PROBE_PREFIX))
    {
        let address = p
            .resolved
            .first()
            .cloned()
            .or_else(|| {
                (!p.host.is_empty() && !p.host.eq_ignore_ascii_case(&diagnosed))
                    .then(|| p.host.clone())
            })
            .or_else(|| ev.item(&format!("{}.origin", p.id)).map(|i| i.fact.clone()))
            .unwrap_or_else(|| p.url.clone());
        match out.iter_mut().find(|o| o.address == address) {
            Some(o) => o.probes.push(p),
            None => out.push(Origin {
                address,
                probes: vec![p],
            }),
        }
    }
    out
}

/// The items of an origin check: what it reached, its error, status, headers, TLS, and where
/// the address came from.
pub(crate) fn probe_items(ev: &Evidence, probe: &Probe) -> Vec<String> {
    let mut ids = cite(ev, probe, &["target", "error", "status", "tls"]);
    ids.extend(existing(ev, [format!("{}.origin", probe.id)]));
    ids
}

/// How an origin check failed, in the terms of Cloudflare's 52x.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The origin's name did not resolve (530 / 1016).
    Dns,
    /// Refused (521).
    Refused,
    /// No answer to the connection attempt (522).
    ConnectTimeout,
    /// No route to host, network unreachable (523).
    NoRoute,
    /// Connected, but no response header in time (524).
    NoHeader,
    /// Closed or reset before a response, or not valid HTTP (520).
    Empty,
    /// The TLS handshake failed (525).
    Handshake,
    /// The certificate is invalid: what is wrong with it (526 under Full (strict)).
    Certificate(Vec<String>),
    /// Something else went wrong.
    Other,
}

/// What is wrong with a certificate, as Full (strict) validates it.
pub(crate) fn cert_problems(tls: &TlsFacts, host: &str) -> Vec<String> {
    let mut out = Vec::new();
    if tls.expired {
        out.push(format!("expired on {}", tls.not_after));
    }
    if tls.not_yet_valid {
        out.push(format!("not valid before {}", tls.not_before));
    }
    if !tls.hostname_match {
        out.push(format!(
            "does not cover {host} (SANs: {})",
            if tls.sans.is_empty() {
                "none".to_owned()
            } else {
                tls.sans.join(", ")
            }
        ));
    }
    // Full (strict) trusts Cloudflare's Origin CA, which public roots do not: without
    // `--ca-file` such a certificate does not verify here, and that is not a problem.
    if !tls.verified && !is_origin_ca(tls) {
        if tls.issuer == tls.subject {
            out.push(format!("self-signed ({})", tls.subject));
        } else if out.is_empty() {
            out.push(format!(
                "not trusted: {} (issuer {})",
                tls.verify_error.as_deref().unwrap_or("verification failed"),
                tls.issuer
            ));
        }
    }
    out
}

/// Whether a Cloudflare Origin CA certificate issued it (`CloudFlare Origin SSL ... Certificate
/// Authority`).
pub(crate) fn is_origin_ca(tls: &TlsFacts) -> bool {
    let issuer = tls.issuer.to_ascii_lowercase();
    issuer.contains("cloudflare origin")
}

/// How this origin check failed, if it did.
pub(crate) fn failure(probe: &Probe) -> Option<Failure> {
    use ProbeErrorKind as K;
    if let Some(e) = &probe.error {
        let msg = e.message.to_ascii_lowercase();
        return Some(match (e.kind, e.phase) {
            (K::Dns, _) | (_, Phase::Dns) => Failure::Dns,
            (K::Refused, _) => Failure::Refused,
            (K::Timeout, Phase::Connect) => Failure::ConnectTimeout,
            (K::Io, _) if msg.contains("no route to host") || msg.contains("unreachable") => {
                Failure::NoRoute
            }
            (K::TlsHandshake, _) | (K::Timeout | K::Closed, Phase::Tls) => Failure::Handshake,
            (K::TlsCertificate, _) => Failure::Certificate(
                probe
                    .tls
                    .as_ref()
                    .map(|t| cert_problems(t, &probe.host))
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| vec![e.message.clone()]),
            ),
            (K::Timeout, Phase::ResponseHeader) => Failure::NoHeader,
            // Under TLS 1.3 a server that wants a client certificate sends its alert after the
            // handshake, so it surfaces on the first read as an I/O error, not a closed
            // connection: the same thing for Cloudflare (no response).
            (K::Io, Phase::ResponseHeader) if msg.contains("alert") => Failure::Empty,
            (K::Closed, Phase::ResponseHeader) | (K::MalformedResponse, _) => Failure::Empty,
            _ => Failure::Other,
        });
    }
    let problems = probe
        .tls
        .as_ref()
        .map(|t| cert_problems(t, &probe.host))
        .unwrap_or_default();
    (!problems.is_empty()).then_some(Failure::Certificate(problems))
}

/// Whether the check got an HTTP response (any status): the origin serves on that port.
pub(crate) fn serves(probe: &Probe) -> bool {
    probe.http.is_some()
}

/// A 52x that an origin check predicts.
#[derive(Debug, Clone)]
pub(crate) struct Prediction<'a> {
    pub status: u16,
    pub address: String,
    pub probe: &'a Probe,
    pub failure: Failure,
    /// False for a 526 under Full: Full accepts the certificate today; Full (strict) would not.
    pub now: bool,
    /// False when the SSL mode is unknown and the checks of both ports agreed.
    pub mode_known: bool,
}

/// The 52x a failed check of the port the mode uses leads to.
fn status_for(mode: Option<SslMode>, probe: &Probe, f: &Failure) -> Option<(u16, bool)> {
    let https = probe.scheme == ProbeScheme::Https;
    match f {
        Failure::Dns => Some((530, true)),
        Failure::Refused => Some((521, true)),
        Failure::ConnectTimeout => Some((522, true)),
        Failure::NoRoute => Some((523, true)),
        Failure::NoHeader => Some((524, true)),
        Failure::Empty => Some((520, true)),
        Failure::Handshake if https => Some((525, true)),
        Failure::Certificate(_) if https => match mode {
            Some(SslMode::Strict) => Some((526, true)),
            Some(SslMode::Full) => Some((526, false)),
            _ => None,
        },
        _ => None,
    }
}

/// The 52x the origin checks predict, one per (origin, status), for origins that no SSL-mode
/// mismatch explains. With the mode known, only the check of the port the mode uses counts (a
/// 530 from either); with it unknown, a status counts when every check of the origin agrees.
pub(crate) fn predictions<'a>(ev: &'a Evidence) -> Vec<Prediction<'a>> {
    let mode = ssl_mode(ev);
    let mismatched: Vec<String> = mismatches(ev).into_iter().map(|m| m.address).collect();
    let mut out: Vec<Prediction<'a>> = Vec::new();
    for origin in origins(ev) {
        if mismatched.contains(&origin.address) {
            continue;
        }
        let address = origin.address.clone();
        let mut push = |status: u16, now: bool, probe: &'a Probe, failure: Failure, known| {
            if !out
                .iter()
                .any(|p| p.address == address && p.status == status)
            {
                out.push(Prediction {
                    status,
                    address: address.clone(),
                    probe,
                    failure,
                    now,
                    mode_known: known,
                });
            }
        };
        // Cloudflare cannot resolve a name whatever the port.
        for p in &origin.probes {
            if failure(p) == Some(Failure::Dns) {
                push(530, true, p, Failure::Dns, true);
            }
        }
        match mode {
            Some(mode) => {
                if let Some(p) = origin.probe(mode.scheme()) {
                    if let Some(f) = failure(p).filter(|f| *f != Failure::Dns) {
                        if let Some((status, now)) = status_for(Some(mode), p, &f) {
                            push(status, now, p, f, true);
                        }
                    }
                }
            }
            None => {
                let statuses: Vec<Option<(u16, bool, Failure)>> = origin
                    .probes
                    .iter()
                    .map(|p| {
                        let f = failure(p)?;
                        status_for(None, p, &f).map(|(s, n)| (s, n, f))
                    })
                    .collect();
                if let Some(Some((status, now, f))) = statuses.first() {
                    if *status != 530
                        && statuses
                            .iter()
                            .all(|s| s.as_ref().map(|s| s.0) == Some(*status))
                    {
                        push(*status, *now, origin.probes[0], f.clone(), false);
                    }
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Precedence: Cloudflare's own records before checks from this machine (KB 9.3)
// ---------------------------------------------------------------------------------------------

/// Cloudflare's own records that contradict a 52x a check from this machine predicts: the
/// analytics of the window (requests, none with that status), the pool's health monitor or a
/// Health Check reaching the same origin. Origins are commonly allow-listed to Cloudflare's
/// ranges, require a client certificate (Authenticated Origin Pulls), or are reached on another
/// port, Host or address (pool origin settings, Origin Rules), so a check from here that
/// disagrees with Cloudflare's records says something about this machine, not about visitors.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overruled {
    /// What Cloudflare's records say, a clause each.
    pub said: Vec<String>,
    /// The items those records are in.
    pub items: Vec<String>,
}

/// Cloudflare's records for this status and origin address, when they contradict the check.
/// Analytics contradict when they were read, counted requests, and none was answered `status`;
/// a pool origin or a Health Check of the same address contradicts when Cloudflare saw it healthy.
pub(crate) fn overruled(ev: &Evidence, status: u16, address: &str) -> Option<Overruled> {
    let mut out = Overruled::default();
    let total: u64 = summaries(ev).map(|s| s.lines).sum();
    if total > 0 && edge_errors(ev, status).count == 0 {
        let origin_502 = requests(ev, |g| g.class == LogClass::Status502FromUpstream).count;
        out.said.push(format!(
            "Cloudflare's analytics for the same window count {total} request(s) and no {status}{}",
            if origin_502 > 0 {
                format!(" ({origin_502} 502(s) came from the origin itself)")
            } else {
                String::new()
            }
        ));
        out.items
            .extend(summaries(ev).map(|s| s.id.clone()).collect::<Vec<_>>());
    }
    for t in ev.targets.iter().filter(|t| {
        t.health == HealthState::Healthy
            && t.address
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(address))
    }) {
        let group = t.group.as_deref().unwrap_or("");
        if group == "healthchecks" {
            let name = t.id.strip_prefix("healthcheck/").unwrap_or(&t.id);
            out.said.push(format!(
                "Cloudflare's Health Check {name} reaches {address} and finds it healthy"
            ));
            out.items.push(format!("cloudflare.healthcheck.{name}"));
        } else {
            out.said.push(format!(
                "Cloudflare's health monitor of pool {group} reaches origin {address} and finds it \
                 healthy"
            ));
            out.items.push(format!("cloudflare.pool.{group}"));
        }
    }
    out.items = existing(ev, crate::rules::dedup(out.items));
    (!out.said.is_empty()).then_some(out)
}

/// The kinds of SSL-mode mismatch (KB 3.4 #10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MismatchKind {
    /// Flexible: port 80 does not serve while HTTPS does.
    FlexibleWithoutHttp,
    /// Flexible: port 80 redirects to `https://` the same host: a redirect loop.
    RedirectLoop,
    /// Full or Full (strict): port 443 refuses or fails the handshake while HTTP serves.
    FullWithoutHttps,
}

/// An SSL-mode mismatch seen on one origin.
#[derive(Debug, Clone)]
pub(crate) struct Mismatch<'a> {
    pub kind: MismatchKind,
    pub mode: SslMode,
    pub address: String,
    /// The check of the port the mode uses.
    pub failed: &'a Probe,
    /// The check of the other port, which works.
    pub working: Option<&'a Probe>,
    /// The 52x visitors get, when the mismatch makes one (none for a redirect loop).
    pub status: Option<u16>,
    /// The `Location` of a redirect loop.
    pub location: Option<String>,
}

/// Whether a redirect target is `https://` on this host (or has no host of its own).
fn https_to_same_host(location: &str, host: &str) -> bool {
    let Some(rest) = location
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("https://"))
        .map(|_| &location[8..])
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let name = authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .split(':')
        .next()
        .unwrap_or("")
        .trim_end_matches('.');
    name.is_empty() || host == "<host>" || name.eq_ignore_ascii_case(host.trim_end_matches('.'))
}

/// The SSL-mode mismatches the origin checks show, one per origin. Mode `off` is left alone.
pub(crate) fn mismatches(ev: &Evidence) -> Vec<Mismatch<'_>> {
    let Some(mode) = ssl_mode(ev) else {
        return Vec::new();
    };
    let host = host(ev);
    let mut out = Vec::new();
    for origin in origins(ev) {
        let http = origin.probe(ProbeScheme::Http);
        let https = origin.probe(ProbeScheme::Https);
        match mode {
            SslMode::Flexible => {
                let Some(h) = http else { continue };
                if let Some(resp) = &h.http {
                    if matches!(resp.status, 301 | 302 | 307 | 308) {
                        if let Some(loc) = resp
                            .header("location")
                            .filter(|l| https_to_same_host(l, &host))
                        {
                            out.push(Mismatch {
                                kind: MismatchKind::RedirectLoop,
                                mode,
                                address: origin.address.clone(),
                                failed: h,
                                working: https,
                                status: None,
                                location: Some(loc.to_owned()),
                            });
                        }
                    }
                    continue;
                }
                let status = match failure(h) {
                    Some(Failure::Refused) => 521,
                    Some(Failure::ConnectTimeout) => 522,
                    _ => continue,
                };
                // Cloudflare's records outrank the checks: an overruled mismatch is a check
                // from here, reported as such by `cloudflare_52x`.
                if let Some(s) = https
                    .filter(|s| serves(s))
                    .filter(|_| overruled(ev, status, &origin.address).is_none())
                {
                    out.push(Mismatch {
                        kind: MismatchKind::FlexibleWithoutHttp,
                        mode,
                        address: origin.address.clone(),
                        failed: h,
                        working: Some(s),
                        status: Some(status),
                        location: None,
                    });
                }
            }
            SslMode::Full | SslMode::Strict => {
                let (Some(s), Some(h)) = (https, http) else {
                    continue;
                };
                let status = match failure(s) {
                    Some(Failure::Refused) => 521,
                    Some(Failure::Handshake) => 525,
                    Some(Failure::ConnectTimeout) => 522,
                    _ => continue,
                };
                if serves(h) && overruled(ev, status, &origin.address).is_none() {
                    out.push(Mismatch {
                        kind: MismatchKind::FullWithoutHttps,
                        mode,
                        address: origin.address.clone(),
                        failed: s,
                        working: Some(h),
                        status: Some(status),
                        location: None,
                    });
                }
            }
            SslMode::Off => {}
        }
    }
    out
}

/// The 52x statuses the SSL-mode mismatch finding reports instead of `cloudflare_52x`: the
/// statuses a mismatch makes that no other origin check predicts. Their analytics counts go
/// into the mismatch finding, and `cloudflare_52x` does not repeat them.
pub(crate) fn claimed_statuses(ev: &Evidence) -> Vec<u16> {
    let others: Vec<u16> = predictions(ev).iter().map(|p| p.status).collect();
    crate::rules::dedup(
        mismatches(ev)
            .iter()
            .filter_map(|m| m.status)
            .filter(|s| !others.contains(s))
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Cloudflare evidence for rule tests, shaped as docs/providers/cloudflare.md says.
    use cloud502_model::*;

    pub const HOST: &str = "www.example.com";
    pub const ORIGIN: &str = "203.0.113.10";

    pub fn s(name: &str, value: &str) -> Setting {
        Setting {
            name: name.into(),
            value: value.into(),
            location: None,
            default: false,
        }
    }

    /// A proxied zone `example.com` for `www.example.com` with this SSL mode, one proxied A
    /// record to 203.0.113.10, and the items the provider states.
    pub fn cf_zone(mode: &str) -> Evidence {
        let mut ev = Evidence::new(Subject {
            kind: ProviderKind::Cloudflare,
            id: format!("{HOST} (zone example.com)"),
        });
        ev.config.sources = vec![
            "cloudflare:zones/023e105f4ecef8ad9ca31a8372d0c353".into(),
            "cloudflare:settings/ssl".into(),
        ];
        ev.config.settings = vec![
            s("ssl", mode),
            Setting {
                default: true,
                ..s("proxy_read_timeout", "100")
            },
            s("zone.status", "active"),
            s("zone.paused", "false"),
            s("zone.plan", "Free Website"),
            s("host", HOST),
        ];
        ev.config.routes.push(dns_route(0, ORIGIN, true));
        ev.add_item(
            "cloudflare.zone",
            "cloudflare:zones",
            "example.com active, not paused, Free Website",
        );
        ev.add_item(
            "cloudflare.ssl",
            "cloudflare:settings/ssl",
            format!("SSL/TLS mode {mode}"),
        );
        ev.add_item(
            "cloudflare.proxy_read_timeout",
            "cloudflare:settings/proxy_read_timeout",
            "proxy_read_timeout 100 s (default)",
        );
        ev.add_item(
            "cloudflare.dns.0",
            "cloudflare:dns_records",
            format!("{HOST} A {ORIGIN} proxied"),
        );
        ev
    }

    pub fn dns_route(n: usize, content: &str, proxied: bool) -> Route {
        Route {
            id: format!("route.{n}"),
            server_names: vec![HOST.into()],
            listen: vec![],
            path: None,
            kind: ForwardKind::Proxy,
            target: content.into(),
            scheme: Some("https".into()),
            pool: None,
            dynamic: false,
            location: None,
            settings: vec![
                s("type", "A"),
                s("proxied", if proxied { "true" } else { "false" }),
            ],
        }
    }

    /// An origin check of `address` over `scheme`, with the items `cloud502_probe::describe`
    /// and the provider state.
    pub fn origin_check(ev: &mut Evidence, scheme: ProbeScheme, address: &str) -> usize {
        let n = ev.probes.len();
        let https = scheme == ProbeScheme::Https;
        let port = if https { 443 } else { 80 };
        let p = Probe {
            id: format!("upstream.{n}"),
            url: format!("{}://{HOST}/", if https { "https" } else { "http" }),
            scheme,
            host: HOST.into(),
            port,
            resolved: vec![address.into()],
            connected: Some(format!("{address}:{port}")),
            resolve_override: true,
            timings: ProbeTimings {
                total_ms: 20.0,
                ..Default::default()
            },
            http: Some(HttpResponse {
                status: 200,
                reason: Some("OK".into()),
                version: "HTTP/1.1".into(),
                headers: vec![],
                body_excerpt: String::new(),
                body_bytes: 10,
                body_complete: true,
            }),
            tls: https.then(|| TlsFacts {
                protocol: Some("TLSv1.3".into()),
                cipher: Some("TLS13_AES_128_GCM_SHA256".into()),
                sni: HOST.into(),
                subject: format!("CN={HOST}"),
                sans: vec![HOST.into()],
                issuer: "CN=R11, O=Let's Encrypt".into(),
                not_before: "2025-01-01T00:00:00Z".into(),
                not_after: "2030-01-01T00:00:00Z".into(),
                days_remaining: 1000,
                expired: false,
                not_yet_valid: false,
                hostname_match: true,
                verified: true,
                verify_error: None,
            }),
            fingerprint: None,
            error: None,
        };
        ev.probes.push(p);
        n
    }

    /// Make check `n` fail with this error (no response, no TLS facts unless kept).
    pub fn fail(ev: &mut Evidence, n: usize, phase: Phase, kind: ProbeErrorKind, message: &str) {
        let p = &mut ev.probes[n];
        p.http = None;
        if phase <= Phase::Tls {
            p.tls = None;
        }
        if phase <= Phase::Connect {
            p.connected = None;
        }
        if phase == Phase::Dns {
            p.resolved.clear();
        }
        p.error = Some(ProbeError {
            phase,
            kind,
            message: message.into(),
        });
    }

    /// State the checks' items as `cloud502_probe::describe` and the provider do (call last).
    pub fn describe_checks(ev: &mut Evidence) {
        let probes = ev.probes.clone();
        for p in probes.iter().filter(|p| p.id.starts_with("upstream.")) {
            ev.add_item(
                format!("{}.target", p.id),
                "probe",
                format!("{} via {:?}", p.url, p.resolved),
            );
            ev.add_item(format!("{}.timing", p.id), "probe", "timing");
            if let Some(e) = &p.error {
                ev.add_item(
                    format!("{}.error", p.id),
                    "probe",
                    format!("{} failed: {}", e.phase.as_str(), e.message),
                );
            }
            if p.tls.is_some() {
                ev.add_item(format!("{}.tls.cert", p.id), "probe", "certificate");
                ev.add_item(format!("{}.tls.verify", p.id), "probe", "verify");
            }
            if let Some(h) = &p.http {
                ev.add_item(
                    format!("{}.status", p.id),
                    "probe",
                    format!("HTTP/1.1 {}", h.status),
                );
            }
            ev.add_item(
                format!("{}.origin", p.id),
                "cloudflare:dns_records",
                match p.resolved.first() {
                    Some(a) => format!("{a} from the proxied DNS record {HOST}"),
                    None => "origin.example.net (CNAME of www.example.com)".to_owned(),
                },
            );
        }
    }

    /// The `cloudflare.analytics` summary with these (class, edge status, origin, colo, count,
    /// first, last) groups, and its items.
    #[allow(clippy::type_complexity)]
    pub fn analytics(
        ev: &mut Evidence,
        groups: &[(LogClass, u16, Option<&str>, &str, u64, &str, &str)],
    ) {
        let total: u64 = groups.iter().map(|g| g.4).sum();
        let log = LogSummary {
            id: "cloudflare.analytics".into(),
            source: "cloudflare:graphql httpRequestsAdaptiveGroups".into(),
            dialect: "cloudflare-http-requests".into(),
            lines: 10_000,
            matched: total,
            bytes: 0,
            skipped: LogSkips::default(),
            first_seen: Some("2025-06-01T10:00:00Z".into()),
            last_seen: Some("2025-06-01T11:00:00Z".into()),
            counts: vec![],
            groups: groups
                .iter()
                .map(
                    |(class, status, origin, colo, count, first, last)| LogGroup {
                        timeline: None,
                        class: *class,
                        upstream: origin.map(str::to_owned),
                        status: Some(*status),
                        level: None,
                        detail: Some(format!("colo {colo}")),
                        count: *count,
                        reused: None,
                        first_seen: Some((*first).into()),
                        last_seen: Some((*last).into()),
                        sample: LogSample {
                            line: 0,
                            text: format!("edge {status}"),
                        },
                    },
                )
                .collect(),
            samples: vec![],
        };
        ev.add_item(
            "cloudflare.analytics",
            "cloudflare:graphql",
            format!("10000 requests, {total} 5xx"),
        );
        for (i, g) in log.groups.iter().enumerate() {
            ev.add_item(
                format!("cloudflare.analytics.group.{i}"),
                "cloudflare:graphql",
                format!("{} x {}", g.count, g.class),
            );
        }
        ev.logs.push(log);
    }

    /// Every cited id exists in the evidence.
    pub fn assert_cited_exist(ev: &Evidence, findings: &[Finding]) {
        for f in findings {
            assert!(!f.evidence.is_empty(), "{} cites nothing", f.code);
            for id in &f.evidence {
                assert!(ev.item(id).is_some(), "{} cites missing item {id}", f.code);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;
    use cloud502_model::LogClass;

    #[test]
    fn a_client_certificate_alert_on_the_first_read_is_no_response() {
        // TLS 1.3: the server's "certificate required" alert arrives after the handshake.
        use cloud502_model::{Phase, ProbeErrorKind as K};
        let mut ev = cf_zone("strict");
        let n = origin_check(&mut ev, ProbeScheme::Https, ORIGIN);
        fail(
            &mut ev,
            n,
            Phase::ResponseHeader,
            K::Io,
            "connection error: the server ended the TLS handshake with an alert (certificate \
             required: the server wants a client certificate)",
        );
        assert_eq!(failure(&ev.probes[n]), Some(Failure::Empty));
        fail(&mut ev, n, Phase::ResponseHeader, K::Io, "broken pipe");
        assert_eq!(failure(&ev.probes[n]), Some(Failure::Other));
    }

    #[test]
    fn mode_picks_the_port() {
        assert_eq!(ssl_mode(&cf_zone("flexible")), Some(SslMode::Flexible));
        assert_eq!(
            ssl_mode(&cf_zone("strict")).map(SslMode::scheme),
            Some(ProbeScheme::Https)
        );
        assert_eq!(
            ssl_mode(&cf_zone("off")).map(SslMode::scheme),
            Some(ProbeScheme::Http)
        );
        assert_eq!(ssl_mode(&cf_zone("bogus")), None);
        assert_eq!(host(&cf_zone("full")), HOST);
        assert_eq!(zone(&cf_zone("full")), "example.com");
    }

    #[test]
    fn redirect_targets_are_compared_by_host() {
        assert!(https_to_same_host("https://www.example.com/", HOST));
        assert!(https_to_same_host("HTTPS://WWW.EXAMPLE.COM:443/a?b", HOST));
        assert!(!https_to_same_host("https://example.com/", HOST));
        assert!(!https_to_same_host("http://www.example.com/", HOST));
        assert!(!https_to_same_host("/login", HOST));
    }

    #[test]
    fn colo_and_span_come_from_the_groups() {
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[
                (
                    LogClass::EdgeError,
                    502,
                    None,
                    "FRA",
                    5,
                    "2025-06-01T10:00:00Z",
                    "2025-06-01T10:04:00Z",
                ),
                (
                    LogClass::EdgeError,
                    502,
                    None,
                    "FRA",
                    3,
                    "2025-06-01T10:02:00Z",
                    "2025-06-01T10:07:00Z",
                ),
            ],
        );
        let r = edge_errors(&ev, 502);
        assert_eq!(r.count, 8);
        assert_eq!(r.colo_list(), "FRA (8)");
        assert_eq!(r.span_minutes(), Some(7));
        assert_eq!(
            r.items,
            vec![
                "cloudflare.analytics",
                "cloudflare.analytics.group.0",
                "cloudflare.analytics.group.1"
            ]
        );
    }

    /// KB 3.4 causes #1-#11, each as `cloud502 cloudflare` would collect it, through the whole
    /// registry: the expected code is the top finding, and nothing but Cloudflare codes fire.
    #[test]
    fn every_kb_3_4_cause_is_diagnosed_through_the_registry() {
        use cloud502_model::{FindingCode as C, Phase, ProbeErrorKind as K, Severity};
        const T0: &str = "2025-06-01T10:00:00Z";
        const T1: &str = "2025-06-01T10:45:00Z";
        let checked = |mode: &str| {
            let mut ev = cf_zone(mode);
            origin_check(&mut ev, ProbeScheme::Http, ORIGIN);
            origin_check(&mut ev, ProbeScheme::Https, ORIGIN);
            ev
        };
        let edge = |status: u16, colo: &'static str, last: &'static str| {
            (LogClass::EdgeError, status, None, colo, 25, T0, last)
        };
        let mut cases: Vec<(&str, Evidence, C, Severity)> = Vec::new();

        let mut ev = checked("full");
        analytics(
            &mut ev,
            &[(
                LogClass::Status502FromUpstream,
                502,
                Some(ORIGIN),
                "FRA",
                25,
                T0,
                T1,
            )],
        );
        cases.push((
            "#1 origin returned 502",
            ev,
            C::CloudflareOrigin502,
            Severity::Critical,
        ));

        let mut ev = checked("full");
        analytics(&mut ev, &[edge(502, "FRA", T1), edge(502, "AMS", T1)]);
        cases.push(("#2 edge 502", ev, C::CloudflareEdge502, Severity::Critical));

        let mut ev = checked("full");
        analytics(&mut ev, &[edge(502, "FRA", "2025-06-01T10:04:00Z")]);
        cases.push(("#3 transient", ev, C::CloudflareEdge502, Severity::Warning));

        for (n, status, code) in [
            ("#4", 520, C::Cloudflare520),
            ("#5", 521, C::Cloudflare521),
            ("#6", 522, C::Cloudflare522),
            ("#7", 523, C::Cloudflare523),
            ("#8", 524, C::Cloudflare524),
        ] {
            let mut ev = checked("full");
            analytics(&mut ev, &[edge(status, "FRA", T1)]);
            cases.push((n, ev, code, Severity::Critical));
        }

        let mut ev = checked("strict");
        ev.probes[1].tls.as_mut().unwrap().expired = true;
        ev.probes[1].tls.as_mut().unwrap().verified = false;
        cases.push(("#9 526", ev, C::Cloudflare526, Severity::Critical));

        let mut ev = checked("full");
        fail(&mut ev, 0, Phase::Connect, K::Refused, "refused");
        fail(&mut ev, 1, Phase::Tls, K::TlsHandshake, "handshake failure");
        cases.push(("#9 525", ev, C::Cloudflare525, Severity::Critical));

        let mut ev = checked("flexible");
        fail(&mut ev, 0, Phase::Connect, K::Refused, "refused");
        analytics(&mut ev, &[edge(521, "FRA", T1)]);
        cases.push((
            "#10 mismatch",
            ev,
            C::CloudflareSslModeMismatch,
            Severity::Critical,
        ));

        let mut ev = checked("full");
        ev.targets.push(cloud502_model::Target {
            id: "eu/eu-1".into(),
            address: Some(ORIGIN.into()),
            port: None,
            group: Some("eu".into()),
            health: cloud502_model::HealthState::Unhealthy,
            reason: Some("TCP connection failed".into()),
            detail: None,
        });
        ev.add_item(
            "cloudflare.pool.eu",
            "cloudflare:pools",
            "pool eu: 0 of 1 healthy",
        );
        cases.push((
            "#11 pool",
            ev,
            C::CloudflarePoolUnhealthy,
            Severity::Critical,
        ));

        for (name, mut ev, code, severity) in cases {
            describe_checks(&mut ev);
            crate::describe::describe(&mut ev);
            let f = crate::rules::diagnose(&ev);
            assert!(!f.is_empty(), "{name}: no finding");
            assert_eq!(
                (f[0].code, f[0].severity),
                (code, severity),
                "{name}: {f:#?}"
            );
            for x in &f {
                assert!(
                    x.code.as_str().starts_with("cloudflare-"),
                    "{name}: {} fired",
                    x.code
                );
            }
            assert_cited_exist(&ev, &f);
            // One finding per status: the mismatch's 521 is not repeated.
            if code == C::CloudflareSslModeMismatch {
                assert!(f[0].title.contains("25 request(s)"), "{}", f[0].title);
                assert!(f.iter().all(|x| x.code != C::Cloudflare521), "{f:#?}");
            }
        }
    }

    #[test]
    fn a_healthy_zone_has_no_warning_or_critical_finding() {
        let mut ev = cf_zone("strict");
        origin_check(&mut ev, ProbeScheme::Http, ORIGIN);
        origin_check(&mut ev, ProbeScheme::Https, ORIGIN);
        ev.targets.push(cloud502_model::Target {
            id: "healthcheck/origin".into(),
            address: Some(ORIGIN.into()),
            port: Some(443),
            group: Some("healthchecks".into()),
            health: cloud502_model::HealthState::Healthy,
            reason: None,
            detail: Some("HTTPS GET / on port 443".into()),
        });
        describe_checks(&mut ev);
        analytics(
            &mut ev,
            &[(
                LogClass::Status5xx,
                503,
                Some(ORIGIN),
                "FRA",
                1,
                "2025-06-01T10:00:00Z",
                "2025-06-01T10:00:00Z",
            )],
        );
        crate::describe::describe(&mut ev);
        let f = crate::rules::diagnose(&ev);
        assert!(
            f.iter()
                .all(|f| f.severity == cloud502_model::Severity::Info),
            "{f:#?}"
        );
    }
}
