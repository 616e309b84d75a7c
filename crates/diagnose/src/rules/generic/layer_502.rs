//! Who made the 502: the layer that answered, or a layer below it (KB section 5, 3.3, 1.8, 2.4, 4.6).
//!
//! The answering layer comes from the headers (`Server`, `CF-RAY`, `cf-error-type`); the author of
//! the page from the body (the `<hr><center>..</center>` footer, the ALB's footerless page,
//! Cloudflare's branded page). Same layer on both sides: it generated the 502. Different: it
//! relayed a 502 from below. A body no proxy page matches: the application behind made it.
//!
//! Cloudflare's analytics (or Logpush `http_requests`) split answers the same question for a whole
//! zone (KB 0.3, 3.3): groups `status-502-from-upstream` (edge 502, origin 502) are
//! `cloudflare-origin-502`, the origin made them (KB 3.4 #1: diagnose the next layer, the origin
//! IPs are named); `edge-error` groups with status 502 (origin status 0) are
//! `cloudflare-edge-502`. An edge 502 burst confined to one colo (`colo XXX`) within
//! [`cloudflare::TRANSIENT_MINUTES`] minutes is the transient edge shift of KB 3.4 #3 (warning,
//! retry); any other edge 502 is KB 3.4 #2, most often a gzip / Content-Length mismatch from the
//! origin (critical; disable origin compression or fix Content-Length, low risk).
//!
//! The check gathers facts (`ProbeAnswer`, `OriginRelayed`, `EdgeMade`); each fact type words
//! its own finding in the text part below them.

use crate::remediation::{adjust_timeouts, check_backend, restart, review_config};
use crate::rules::cloudflare::shared::{self as cloudflare, Requests};
use crate::rules::{Rule, cite, front_probes, zone_guess};
use cloud502_model::{
    CloudflarePage, Confidence, Evidence, Finding, FindingCode, Fingerprint, Layer, LogClass,
    Probe, ProbeScheme, Remediation, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "layer_502",
    codes: &[
        FindingCode::Nginx502,
        FindingCode::Alb502,
        FindingCode::Appgw502,
        FindingCode::CloudflareEdge502,
        FindingCode::CloudflareOrigin502,
        FindingCode::Relayed502,
        FindingCode::UnknownLayer502,
    ],
    check,
};

/// Who made the 502, as far as the fingerprint tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Author {
    /// The layer generated it itself.
    Generated(Layer, Confidence),
    /// `by` passed through a 502 that `from` made.
    Relayed { by: Layer, from: Layer },
    /// Cloudflare's edge made it (no usable origin response).
    CloudflareEdge(Confidence),
    /// Cloudflare relayed the origin's 502; `from` is the origin's layer when its page came through.
    CloudflareOrigin(Option<Layer>, Confidence),
    /// Nothing identified the author.
    Unknown,
}

fn attribute(fp: &Fingerprint) -> Author {
    use Layer::*;
    match fp.answered_by {
        Cloudflare => match (fp.cloudflare_page, &fp.cf_error_type, fp.error_page_by) {
            // KB 3.3: an origin 502 is replaced by a branded page; the edge's own is plain.
            (Some(CloudflarePage::Branded), _, _) => {
                Author::CloudflareOrigin(None, Confidence::High)
            }
            (Some(CloudflarePage::Plain), _, _) => Author::CloudflareEdge(Confidence::High),
            // KB 3.1: cf-error-type appears only on errors Cloudflare generated.
            (None, Some(_), _) => Author::CloudflareEdge(Confidence::Medium),
            // Origin's own page passed through (origin_error_page_pass_thru, Enterprise).
            (None, None, Some(from)) if from != Cloudflare => {
                Author::CloudflareOrigin(Some(from), Confidence::Medium)
            }
            (None, None, _) => Author::CloudflareOrigin(None, Confidence::Low),
        },
        by @ (Nginx | AwsAlb | AzureAppgw) => match fp.error_page_by {
            Some(page) if page == by => Author::Generated(by, Confidence::High),
            Some(from) => Author::Relayed { by, from },
            None => Author::Relayed {
                by,
                from: Application,
            },
        },
        Application | Unknown | Custom(_) => match fp.error_page_by {
            // The Server header was removed or rewritten, but the page still tells.
            Some(Cloudflare) if fp.cloudflare_page == Some(CloudflarePage::Plain) => {
                Author::CloudflareEdge(Confidence::Medium)
            }
            Some(Cloudflare) => Author::CloudflareOrigin(None, Confidence::Medium),
            Some(layer @ (Nginx | AwsAlb | AzureAppgw)) => {
                Author::Generated(layer, Confidence::Medium)
            }
            _ => Author::Unknown,
        },
    }
}

fn check(evidence: &Evidence, out: &mut Vec<Finding>) {
    for probe in front_probes(evidence) {
        let (Some(http), Some(fp)) = (&probe.http, &probe.fingerprint) else {
            continue;
        };
        if http.status != 502 {
            continue;
        }
        out.push(Finding::from(ProbeAnswer {
            probe,
            fp,
            author: attribute(fp),
            evidence: cite(evidence, probe, &["status", "header", "body"]),
        }));
    }
    if cloudflare::has_analytics(evidence) {
        // Behind a Cloudflare Tunnel the "origin" is cloudflared: `cloudflare_tunnel` reports it.
        // Behind a Worker the 502s are the Worker's answers: `cloudflare_worker` reports them.
        let worker = !cloudflare::workers(evidence).is_empty();
        if cloudflare::tunnel(evidence).is_none() && !worker {
            out.extend(origin_relayed(evidence).map(Finding::from));
        }
        if !worker {
            out.extend(edge_made(evidence).map(Finding::from));
        }
    }
}

/// The origin checks (`upstream.N`) that got a 502 themselves, with the layer whose page it is.
fn origin_checks_502(ev: &Evidence) -> Vec<(&Probe, Option<Layer>)> {
    ev.probes
        .iter()
        .filter(|p| {
            cloudflare::is_cloudflare(ev) && p.id.starts_with(crate::rules::BACKEND_PROBE_PREFIX)
        })
        .filter(|p| p.http.as_ref().is_some_and(|h| h.status == 502))
        .map(|p| {
            let layer = p.fingerprint.as_ref().and_then(|fp| match attribute(fp) {
                Author::Generated(l, _) => Some(l),
                Author::Relayed { from, .. } => Some(from),
                _ => None,
            });
            (p, layer)
        })
        .collect()
}

/// The scheme Cloudflare uses to reach the origin, for the next command.
fn origin_scheme(ev: &Evidence) -> ProbeScheme {
    cloudflare::ssl_mode(ev).map_or(ProbeScheme::Https, cloudflare::SslMode::scheme)
}

/// KB 3.4 #1: edge 502 with origin 502 in the analytics: the origin made them.
fn origin_relayed(ev: &Evidence) -> Option<OriginRelayed<'_>> {
    let r: Requests = cloudflare::requests(ev, |g| g.class == LogClass::Status502FromUpstream);
    if r.count == 0 {
        return None;
    }
    let host = cloudflare::host(ev);
    let checks = origin_checks_502(ev);
    let layer = checks
        .iter()
        .find_map(|(_, l)| *l)
        .unwrap_or(Layer::Unknown);
    let mut evidence = r.items.clone();
    for (p, _) in &checks {
        evidence.extend(cloudflare::probe_items(ev, p));
    }
    let first = r.origins.first().map(|o| o.0.clone()).or_else(|| {
        checks
            .first()
            .and_then(|(p, _)| p.resolved.first().cloned())
    });
    // With no origin address read, the zone's DNS records name it.
    let direct = match &first {
        Some(first) => cloudflare::origin_probe_command(
            &host,
            origin_scheme(ev),
            first,
            cloudflare::origin_port(ev, origin_scheme(ev)),
        ),
        None => crate::rules::cloudflare_command(&host),
    };
    Some(OriginRelayed {
        requests: r,
        checks,
        layer,
        direct,
        evidence: crate::rules::dedup(evidence),
    })
}

/// KB 3.4 #2 and #3: edge 502 with no origin response in the analytics: the edge made them.
fn edge_made(ev: &Evidence) -> Option<EdgeMade> {
    let r = cloudflare::edge_errors(ev, 502);
    if r.count == 0 {
        return None;
    }
    let host = cloudflare::host(ev);
    let span = r.span_minutes();
    let transient = (r.colos.len() == 1
        && r.all_timed
        && span.is_some_and(|m| m <= cloudflare::TRANSIENT_MINUTES))
    .then(|| (r.colos[0].0.clone(), span.unwrap_or(0)));
    let known = r.origins.first().map(|o| o.0.clone());
    let direct = match &known {
        Some(origin) => cloudflare::origin_probe_command(
            &host,
            origin_scheme(ev),
            origin,
            cloudflare::origin_port(ev, origin_scheme(ev)),
        ),
        None => crate::rules::cloudflare_command(&host),
    };
    Some(EdgeMade {
        transient,
        origin: known.unwrap_or_else(|| "<origin-ip>".to_owned()),
        zone: cloudflare::zone(ev),
        host,
        direct,
        requests: r,
    })
}

// ---- facts ----

/// A front probe that got a 502, and who made it.
struct ProbeAnswer<'a> {
    probe: &'a Probe,
    fp: &'a Fingerprint,
    author: Author,
    /// The probe's status, header and body items.
    evidence: Vec<String>,
}

/// Cloudflare's records show 502s the origin answered and the edge passed on.
struct OriginRelayed<'a> {
    requests: Requests,
    /// The direct origin checks that got a 502 too, with the layer whose page it is.
    checks: Vec<(&'a Probe, Option<Layer>)>,
    /// The first layer those checks name, else unknown.
    layer: Layer,
    /// Probe the origin directly (or, with no address read, read the zone's records).
    direct: String,
    evidence: Vec<String>,
}

/// Cloudflare's records show 502s the edge made with no origin response.
struct EdgeMade {
    requests: Requests,
    /// `(colo, minutes)` when every 502 came from one colo within a few minutes.
    transient: Option<(String, i64)>,
    host: String,
    zone: String,
    /// The first origin address the records name, or `<origin-ip>`.
    origin: String,
    direct: String,
}

// ---- text ----

/// What a layer that generates its own 502 page does to make one: (code, why).
fn generated(layer: Layer) -> (FindingCode, &'static str) {
    match layer {
        Layer::Nginx => (
            FindingCode::Nginx502,
            "nginx answers 502 itself when the request to its upstream fails: connection \
             refused, reset, premature close, an invalid or too big header, no live upstreams or \
             an unresolvable name",
        ),
        Layer::AwsAlb => (
            FindingCode::Alb502,
            "the ALB answers 502 itself when a target refuses or resets the connection, closes a \
             kept-alive connection while a request is on it, sends a malformed response or fails \
             the TLS handshake",
        ),
        _ => (
            FindingCode::Appgw502,
            "Application Gateway answers 502 itself when no backend is healthy or reachable: \
             empty pool, failing probes, NSG/UDR blocks, backend TLS problems or a backend that \
             closed the connection",
        ),
    }
}

impl ProbeAnswer<'_> {
    fn code(&self) -> FindingCode {
        match self.author {
            Author::Generated(layer, _) => generated(layer).0,
            Author::Relayed { .. } => FindingCode::Relayed502,
            Author::CloudflareEdge(_) => FindingCode::CloudflareEdge502,
            Author::CloudflareOrigin(..) => FindingCode::CloudflareOrigin502,
            Author::Unknown => FindingCode::UnknownLayer502,
        }
    }

    /// The layer blamed.
    fn layer(&self) -> Layer {
        match self.author {
            Author::Generated(layer, _) => layer,
            Author::Relayed { from, .. } => from,
            Author::CloudflareEdge(_) => Layer::Cloudflare,
            Author::CloudflareOrigin(from, _) => from.unwrap_or(Layer::Unknown),
            Author::Unknown => Layer::Unknown,
        }
    }

    fn confidence(&self) -> Confidence {
        match self.author {
            Author::Generated(_, c)
            | Author::CloudflareEdge(c)
            | Author::CloudflareOrigin(_, c) => c,
            Author::Relayed {
                from: Layer::Application,
                ..
            } => Confidence::Medium,
            Author::Relayed { .. } => Confidence::High,
            Author::Unknown => Confidence::Low,
        }
    }

    fn title(&self) -> String {
        match self.author {
            Author::Generated(layer, _) => format!(
                "{} generated this 502: its upstream failed",
                layer.display_name()
            ),
            Author::Relayed { by, from } => format!(
                "{} relayed a 502 generated by {}",
                by.display_name(),
                from.display_name()
            ),
            Author::CloudflareEdge(_) => {
                "Cloudflare's edge generated this 502: it got no usable response from the origin"
                    .to_owned()
            }
            Author::CloudflareOrigin(Some(from), _) => format!(
                "Cloudflare relayed a 502 from the origin ({} generated it)",
                from.display_name()
            ),
            Author::CloudflareOrigin(None, _) => {
                "Cloudflare relayed a 502 from the origin: look at the origin".to_owned()
            }
            Author::Unknown => "A 502 came from a layer cloud502 could not identify".to_owned(),
        }
    }

    fn explanation(&self) -> String {
        let seen = observed(self.fp);
        match self.author {
            Author::Generated(layer, confidence) => {
                let caveat = if confidence < Confidence::High {
                    " The Server header did not say so (it may have been removed or rewritten), \
                     so the error page alone names the layer."
                } else {
                    ""
                };
                let name = layer.display_name();
                format!(
                    "The response shows {seen}. The body is {name}'s own error page, so {name} \
                     made this 502 rather than relaying it: {}.{caveat}",
                    generated(layer).1
                )
            }
            Author::Relayed { by, from } => format!(
                "The response shows {seen}. {} answered, but the body is {}, so {} passed through \
                 a 502 made one layer further in: look there, not at {}.",
                by.display_name(),
                if from == Layer::Application {
                    "not any proxy's built-in error page".to_owned()
                } else {
                    format!("{}'s error page", from.display_name())
                },
                by.display_name(),
                by.display_name()
            ),
            Author::CloudflareEdge(_) => format!(
                "The response shows {seen}. Cloudflare serves its plain (unbranded) page, or sets \
                 cf-error-type, only for errors it generates itself, so the origin's response \
                 never reached the client: often a Content-Length that does not match a gzip \
                 body, or a transient problem in one data centre."
            ),
            Author::CloudflareOrigin(..) => format!(
                "The response shows {seen}. Cloudflare replaces an origin's 502 with its branded \
                 page (\"| 502: Bad gateway\"), so the origin answered 502 and Cloudflare passed \
                 it on; the next layer in (load balancer or nginx at the origin) made it."
            ),
            Author::Unknown => format!(
                "The response shows {seen}. No Server header, CF-RAY or error-page footer matched \
                 nginx, AWS ALB, Azure Application Gateway or Cloudflare, so the layer that made \
                 the 502 cannot be named from the response alone."
            ),
        }
    }

    fn disproved_by(&self) -> String {
        match self.author {
            Author::Generated(layer, _) => {
                let name = layer.display_name();
                format!(
                    "{name}'s logs show no failed upstream request at that time, or a layer in \
                     front of it rewrote the response so that it only looks like {name}'s page."
                )
            }
            Author::Relayed { by, .. } => format!(
                "{} has a custom error page configured for 502 that looks like this body, or the \
                 layer below answers 2xx when probed directly.",
                by.display_name()
            ),
            Author::CloudflareEdge(_) => "The origin's logs show a 502 answered at that time \
                                          (Cloudflare's OriginResponseStatus would be 502, not \
                                          0), or the origin probed directly returns a malformed \
                                          response."
                .to_owned(),
            Author::CloudflareOrigin(..) => "The origin, probed directly with the same Host \
                                             header, answers 2xx, or Cloudflare's logs show \
                                             OriginResponseStatus 0 for these requests."
                .to_owned(),
            Author::Unknown => {
                "A direct request to each hop shows which one answers 502.".to_owned()
            }
        }
    }

    fn remediation(&self) -> Vec<Remediation> {
        let probe = self.probe;
        match self.author {
            Author::Generated(layer, _) => remediation_for(layer, probe),
            Author::Relayed { from, .. } => remediation_for(from, probe),
            Author::CloudflareEdge(_) => remediation_for(Layer::Cloudflare, probe),
            Author::CloudflareOrigin(..) => vec![check_backend(
                "Probe the origin directly with the same Host header and SNI to see which layer \
                 there answers the 502",
                Some(&origin_probe_command(probe)),
            )],
            Author::Unknown => vec![
                check_backend(
                    "Look at every response header for a proxy's name (Via, X-Cache, \
                     X-Served-By, a custom Server value)",
                    Some(&format!("curl -sv -o /dev/null {}", probe.url)),
                ),
                check_backend(
                    "Probe each hop directly, keeping the Host header",
                    Some(&origin_probe_command(probe)),
                ),
            ],
        }
    }

    fn next_command(&self) -> String {
        let probe = self.probe;
        match self.author {
            Author::Generated(layer, _) => inspect_command(layer, probe, None),
            Author::Relayed { by, from } => inspect_command(from, probe, Some(by)),
            Author::CloudflareEdge(_) => inspect_command(Layer::Cloudflare, probe, None),
            // the origin's address is not known from here; this reads it from the zone's DNS
            // records and checks it directly
            Author::CloudflareOrigin(..) => crate::rules::cloudflare_command(&probe.host),
            Author::Unknown => format!("curl -sv -o /dev/null {}", probe.url),
        }
    }
}

impl From<ProbeAnswer<'_>> for Finding {
    fn from(f: ProbeAnswer<'_>) -> Finding {
        Finding {
            code: f.code(),
            severity: Severity::Critical,
            confidence: f.confidence(),
            layer: Some(f.layer()),
            title: f.title(),
            explanation: f.explanation(),
            locations: Vec::new(),
            disproved_by: f.disproved_by(),
            remediation: f.remediation(),
            next_command: Some(f.next_command()),
            evidence: f.evidence,
        }
    }
}

impl OriginRelayed<'_> {
    /// ` from origin(s) A (n), B (m)`, or empty.
    fn origins(&self) -> String {
        if self.requests.origins.is_empty() {
            String::new()
        } else {
            format!(" from origin(s) {}", self.requests.origin_list())
        }
    }

    /// What the direct origin checks saw, a sentence, or empty.
    fn checked(&self) -> String {
        if self.checks.is_empty() {
            return String::new();
        }
        format!(
            " The direct origin check answered 502 too ({}){}.",
            self.checks
                .iter()
                .map(|(p, _)| p.resolved.first().cloned().unwrap_or_else(|| p.url.clone()))
                .collect::<Vec<_>>()
                .join(", "),
            if self.layer == Layer::Unknown {
                String::new()
            } else {
                format!(", with {}'s error page", self.layer.display_name())
            }
        )
    }
}

impl From<OriginRelayed<'_>> for Finding {
    fn from(f: OriginRelayed<'_>) -> Finding {
        let (count, origins) = (f.requests.count, f.origins());
        Finding {
            code: FindingCode::CloudflareOrigin502,
            severity: Severity::Critical,
            confidence: Confidence::High,
            layer: Some(f.layer),
            title: format!(
                "Cloudflare relayed {count} 502(s) made by the origin{origins}: look at the origin"
            ),
            explanation: format!(
                "Cloudflare's request records (analytics or Logpush) show {count} request(s) with \
                 edge status 502 and origin status 502{}{origins}: the origin answered 502 and \
                 Cloudflare passed it on (with its branded page), so the next layer in made it, \
                 not Cloudflare.{}",
                f.requests.window(),
                f.checked()
            ),
            locations: Vec::new(),
            disproved_by: "The origin, probed directly with the same Host header, answers 2xx and \
                           its logs show no 502 at those times (the analytics would then show \
                           origin status 0 for them)."
                .to_owned(),
            remediation: vec![
                check_backend(
                    "Probe the origin directly with the same Host header and SNI to see which \
                     layer there answers the 502",
                    Some(&f.direct),
                ),
                check_backend(
                    "Read the origin's own logs at those times (load balancer, nginx error.log, \
                     the application): the layer that made the 502 names its cause",
                    Some("cloud502 nginx --error-log /var/log/nginx/error.log"),
                ),
            ],
            next_command: Some(f.direct),
            evidence: f.evidence,
        }
    }
}

impl EdgeMade {
    fn title(&self) -> String {
        let count = self.requests.count;
        match &self.transient {
            Some((colo, minutes)) => format!(
                "Cloudflare's edge made {count} 502(s), all in colo {colo} within {minutes} \
                 minute(s): a transient edge shift"
            ),
            None => format!(
                "Cloudflare's edge made {count} 502(s) with no origin response: likely a gzip / \
                 Content-Length mismatch from the origin"
            ),
        }
    }

    /// Why the edge made them: a one-colo burst, or an origin response it could not use.
    fn cause(&self) -> String {
        match &self.transient {
            Some((colo, minutes)) => format!(
                "Every edge 502 came from one data centre ({colo}) within {minutes} minute(s){}: \
                 the short-lived traffic shift between data centres that Cloudflare documents. \
                 There is nothing to change at the origin.",
                self.requests.window()
            ),
            None => format!(
                "They span colo(s) {}{}, so this is not a one-colo burst. The documented edge \
                 cause is an origin response Cloudflare cannot use: gzip-encoded content whose \
                 Content-Length does not match, or broken gzip.",
                self.requests.colo_list(),
                self.requests.window()
            ),
        }
    }

    fn remediation(&self) -> Vec<Remediation> {
        let (host, origin) = (&self.host, &self.origin);
        match &self.transient {
            Some(_) => vec![
                check_backend(
                    "Retry, and keep watching the edge status by colo and minute; a burst that \
                     returns or spreads to other colos is not transient",
                    Some(&format!("curl -sI https://{host}/")),
                ),
                check_backend(
                    "Read the split again later to confirm the burst ended",
                    Some(&format!(
                        "cloud502 cloudflare --zone {} --host {host}",
                        self.zone
                    )),
                ),
            ],
            None => vec![
                check_backend(
                    "Fetch from the origin directly and compare Content-Encoding and \
                     Content-Length with the body received",
                    Some(&format!(
                        "curl -sv --compressed -o /dev/null --resolve {host}:443:{origin} https://{host}/"
                    )),
                ),
                adjust_timeouts(
                    "Disable compression at the origin for the failing path (Cloudflare \
                     compresses for visitors itself), or fix the Content-Length the application \
                     sets on compressed bodies",
                    Some("nginx: gzip off; in the server or location block, then nginx -s reload"),
                ),
            ],
        }
    }
}

impl From<EdgeMade> for Finding {
    fn from(f: EdgeMade) -> Finding {
        let (severity, confidence) = match f.transient {
            Some(_) => (Severity::Warning, Confidence::Medium),
            None => (Severity::Critical, Confidence::High),
        };
        Finding {
            code: FindingCode::CloudflareEdge502,
            severity,
            confidence,
            layer: Some(Layer::Cloudflare),
            title: f.title(),
            explanation: format!(
                "Cloudflare's request records (analytics or Logpush) show {} request(s) with edge \
                 status 502 and origin status 0: the edge made them itself, with no usable origin \
                 response. Colo(s): {}. {}",
                f.requests.count,
                f.requests.colo_list(),
                f.cause()
            ),
            locations: Vec::new(),
            disproved_by: "The origin's logs show a 502 answered at those times (the analytics \
                           would show origin status 502), or the origin probed directly returns a \
                           well-formed response with a matching Content-Length."
                .to_owned(),
            remediation: f.remediation(),
            next_command: Some(f.direct.clone()),
            evidence: f.requests.items,
        }
    }
}

/// The signals, quoted, for explanations.
pub(crate) fn observed(fp: &Fingerprint) -> String {
    if fp.signals.is_empty() {
        return "no identifying header or error page".to_owned();
    }
    fp.signals
        .iter()
        .map(|s| format!("{} {} `{}`", s.source, s.name, s.value))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The command that inspects `layer` itself, from what the probe knows: never a placeholder.
/// `cloud502 nginx` with no flag reads the config and every log it names (a `--error-log` here
/// would replace them with one file). The application behind a proxy is reached through the
/// proxy that relayed it (`by`), whose config names it.
pub(crate) fn inspect_command(layer: Layer, probe: &Probe, by: Option<Layer>) -> String {
    let ip = probe
        .connected
        .as_deref()
        .and_then(|c| c.parse::<std::net::SocketAddr>().ok())
        .map(|a| a.ip().to_string());
    match layer {
        Layer::Nginx => "cloud502 nginx   # on the nginx host".to_owned(),
        Layer::AwsAlb => match (crate::rules::alb_from_host(&probe.host), ip) {
            (Some((name, region)), _) => format!("cloud502 aws --lb {name} --region {region}"),
            // An internet-facing ALB's address belongs to a network interface described as
            // `ELB app/NAME/ID`: that NAME is what `cloud502 aws --lb` takes.
            (None, Some(ip)) => format!(
                "aws ec2 describe-network-interfaces --filters Name=association.public-ip,Values={ip} \
                 --query 'NetworkInterfaces[].Description' --output text   # ELB app/NAME/ID: then cloud502 aws --lb NAME"
            ),
            (None, None) => format!("dig +short CNAME {}   # the ALB's DNS name", probe.host),
        },
        Layer::AzureAppgw => match ip {
            Some(ip) => format!(
                "az network public-ip list --query \"[?ipAddress=='{ip}'].ipConfiguration.id\" -o tsv   # .../resourceGroups/RG/.../applicationGateways/NAME: then cloud502 azure -g RG --gw NAME"
            ),
            None => format!("dig +short {}   # the gateway's public address", probe.host),
        },
        Layer::Cloudflare => format!("cloud502 cloudflare --zone {}", zone_guess(&probe.host)),
        Layer::Application | Layer::Unknown | Layer::Custom(_) => match by {
            Some(by @ (Layer::Nginx | Layer::AwsAlb | Layer::AzureAppgw)) => {
                inspect_command(by, probe, None)
            }
            _ => format!("curl -sv -o /dev/null {}", probe.url),
        },
    }
}

/// Probe the origin directly, keeping the Host header and SNI (the guide's "test direct
/// connection to origin").
fn origin_probe_command(probe: &Probe) -> String {
    format!(
        "cloud502 probe {} --resolve {}:{}:<origin-ip>",
        probe.url, probe.host, probe.port
    )
}

fn remediation_for(layer: Layer, probe: &Probe) -> Vec<Remediation> {
    match layer {
        Layer::Nginx => vec![
            check_backend(
                "Read nginx's error.log at the time of the 502: the message names the cause \
                 (connect() failed (111: Connection refused), upstream prematurely closed \
                 connection, no live upstreams, upstream sent too big header, ...)",
                Some(
                    "grep -E 'upstream|connect\\(\\) failed' /var/log/nginx/error.log | tail -n 20",
                ),
            ),
            check_backend(
                "Check that the upstream in proxy_pass is running and answers on its address",
                Some("curl -sv -o /dev/null http://<upstream-host>:<port>/"),
            ),
            review_config(
                "Review the upstream block and proxy settings: address, port, unix socket path, \
                 max_fails/fail_timeout, proxy_buffer_size, keepalive",
                Some("nginx -T | grep -nE 'upstream|proxy_pass|server |keepalive|proxy_buffer'"),
            ),
            restart(
                "Restart the upstream application if it crashed or hangs",
                None,
            ),
        ],
        Layer::AwsAlb => vec![
            check_backend(
                "Check target health: unhealthy targets with Target.FailedHealthChecks point at a \
                 process down or a blocked port; if every target is unhealthy the ALB fails open",
                Some("aws elbv2 describe-target-health --target-group-arn <target-group-arn>"),
            ),
            check_backend(
                "Compare HTTPCode_ELB_502_Count with TargetConnectionErrorCount and \
                 TargetTLSNegotiationErrorCount to tell refused connections from TLS failures",
                Some(
                    "aws cloudwatch get-metric-statistics --namespace AWS/ApplicationELB \
                     --metric-name TargetConnectionErrorCount --dimensions \
                     Name=LoadBalancer,Value=app/<name>/<id> --statistics Sum --period 60 \
                     --start-time <start> --end-time <end>",
                ),
            ),
            adjust_timeouts(
                "Make the targets' keep-alive timeout longer than the ALB idle timeout (default \
                 60 s): shorter keep-alives cause sporadic 502s",
                Some("aws elbv2 describe-load-balancer-attributes --load-balancer-arn <alb-arn>"),
            ),
            review_config(
                "Check that the target security group and NACLs allow the ALB subnets to reach \
                 the target port (and ephemeral ports back)",
                None,
            ),
        ],
        Layer::AzureAppgw => vec![
            check_backend(
                "Check backend health; the healthProbeLog text names the cause",
                Some(
                    "az network application-gateway show-backend-health --name <gateway-name> \
                     --resource-group <resource-group>",
                ),
            ),
            review_config(
                "Check the health probe and backend settings: host name, path, port, match \
                 status codes, request timeout",
                Some(
                    "az network application-gateway probe list --gateway-name <gateway-name> \
                     --resource-group <resource-group>",
                ),
            ),
            review_config(
                "Check that NSG and UDR rules let the gateway subnet reach the backends, and \
                 allow GatewayManager inbound on 65200-65535",
                None,
            ),
        ],
        Layer::Cloudflare => vec![
            check_backend(
                "Probe the origin directly, with the same Host header and SNI, to see whether it \
                 answers",
                Some(&origin_probe_command(probe)),
            ),
            review_config(
                "If the origin compresses responses, check that Content-Length matches the \
                 encoded body; disable origin compression for the failing path",
                None,
            ),
            check_backend(
                "Retry: a short burst confined to one data centre (the CF-RAY suffix) is a \
                 transient edge problem",
                Some(&format!("curl -sI {}", probe.url)),
            ),
        ],
        Layer::Application | Layer::Unknown | Layer::Custom(_) => vec![
            check_backend(
                "Read the application's own logs at the time of the 502: it answered 502 itself \
                 (often a failing dependency such as a database or another HTTP service)",
                None,
            ),
            check_backend(
                "Call the application directly, bypassing the proxy, to reproduce",
                Some("curl -sv -o /dev/null http://<upstream-host>:<port>/"),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;

    fn run(fp: Fingerprint, status: u16) -> Vec<Finding> {
        let mut p = probe("https://shop.example.com/checkout");
        p.http = Some(response(status, "body"));
        p.fingerprint = Some(fp);
        let mut out = Vec::new();
        check(&evidence(p), &mut out);
        out
    }

    #[test]
    fn same_layer_on_header_and_page_generated_it() {
        for (layer, code) in [
            (Layer::Nginx, FindingCode::Nginx502),
            (Layer::AwsAlb, FindingCode::Alb502),
            (Layer::AzureAppgw, FindingCode::Appgw502),
        ] {
            let out = run(fingerprint(layer, Some(layer)), 502);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].code, code);
            assert_eq!(out[0].confidence, Confidence::High);
            assert!(
                out[0].title.starts_with(layer.display_name()),
                "{}",
                out[0].title
            );
            assert_eq!(
                out[0].evidence,
                vec!["probe.0.status", "probe.0.header.server", "probe.0.body"]
            );
        }
    }

    #[test]
    fn stripped_server_header_falls_back_to_the_page_with_medium_confidence() {
        let out = run(fingerprint(Layer::Unknown, Some(Layer::AwsAlb)), 502);
        assert_eq!(out[0].code, FindingCode::Alb502);
        assert_eq!(out[0].confidence, Confidence::Medium);
    }

    #[test]
    fn a_different_page_means_relayed() {
        let out = run(fingerprint(Layer::AwsAlb, Some(Layer::Nginx)), 502);
        assert_eq!(out[0].code, FindingCode::Relayed502);
        assert_eq!(out[0].layer, Some(Layer::Nginx));
        assert_eq!(out[0].title, "AWS ALB relayed a 502 generated by nginx");
        // with no flag, cloud502 nginx reads every log its config names: nothing is narrowed
        assert_eq!(
            out[0].next_command.as_deref(),
            Some("cloud502 nginx   # on the nginx host")
        );
        let app = run(fingerprint(Layer::Nginx, None), 502);
        assert_eq!(app[0].code, FindingCode::Relayed502);
        assert_eq!(app[0].layer, Some(Layer::Application));
        // the application is reached through the proxy that relayed it, whose config names it
        assert_eq!(
            app[0].next_command.as_deref(),
            Some("cloud502 nginx   # on the nginx host")
        );
        // the ALB and the gateway are found from the address the probe connected to
        let alb = run(fingerprint(Layer::AwsAlb, Some(Layer::AwsAlb)), 502);
        let next = alb[0].next_command.as_deref().unwrap();
        assert!(next.contains("Values=192.0.2.10"), "{next}");
        let gw = run(fingerprint(Layer::AzureAppgw, Some(Layer::AzureAppgw)), 502);
        let next = gw[0].next_command.as_deref().unwrap();
        assert!(next.contains("ipAddress=='192.0.2.10'"), "{next}");
        for f in [&alb[0], &gw[0], &app[0], &out[0]] {
            let next = f.next_command.as_deref().unwrap();
            assert!(!next.contains('<'), "a placeholder in {next}");
        }
    }

    #[test]
    fn cloudflare_branded_is_origin_plain_is_edge() {
        let mut fp = fingerprint(Layer::Cloudflare, Some(Layer::Cloudflare));
        fp.cloudflare_page = Some(CloudflarePage::Branded);
        let out = run(fp.clone(), 502);
        assert_eq!(out[0].code, FindingCode::CloudflareOrigin502);
        assert_eq!(
            out[0].next_command.as_deref(),
            Some("cloud502 cloudflare --zone example.com --host shop.example.com")
        );
        fp.cloudflare_page = Some(CloudflarePage::Plain);
        let out = run(fp.clone(), 502);
        assert_eq!(out[0].code, FindingCode::CloudflareEdge502);
        assert_eq!(
            out[0].next_command.as_deref(),
            Some("cloud502 cloudflare --zone example.com")
        );
        fp.cloudflare_page = None;
        fp.cf_error_type = Some("502".into());
        assert_eq!(run(fp, 502)[0].code, FindingCode::CloudflareEdge502);
    }

    #[test]
    fn nothing_identified_is_unknown_and_non_502_is_ignored() {
        let out = run(fingerprint(Layer::Unknown, None), 502);
        assert_eq!(out[0].code, FindingCode::UnknownLayer502);
        assert_eq!(out[0].confidence, Confidence::Low);
        assert!(run(fingerprint(Layer::Nginx, Some(Layer::Nginx)), 503).is_empty());
        assert!(run(fingerprint(Layer::Nginx, Some(Layer::Nginx)), 200).is_empty());
    }
}

#[cfg(test)]
mod cloudflare_tests {
    use super::*;
    use crate::rules::cloudflare::shared::tests_support::*;
    use crate::rules::test_support::{fingerprint, run_rule};
    use cloud502_model::{ProbeScheme as S, Risk};

    const T0: &str = "2025-06-01T10:00:00Z";

    #[test]
    fn origin_made_502s_in_the_analytics_are_cloudflare_origin_502_with_the_origins() {
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[
                (
                    LogClass::Status502FromUpstream,
                    502,
                    Some(ORIGIN),
                    "FRA",
                    70,
                    T0,
                    "2025-06-01T10:50:00Z",
                ),
                (
                    LogClass::Status502FromUpstream,
                    502,
                    Some("203.0.113.11"),
                    "AMS",
                    5,
                    T0,
                    T0,
                ),
            ],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].code, FindingCode::CloudflareOrigin502);
        assert_eq!(
            (f[0].severity, f[0].confidence),
            (Severity::Critical, Confidence::High)
        );
        assert_eq!(f[0].layer, Some(Layer::Unknown));
        assert_eq!(
            f[0].title,
            "Cloudflare relayed 75 502(s) made by the origin from origin(s) 203.0.113.10 (70), \
             203.0.113.11 (5): look at the origin"
        );
        assert!(!f[0].explanation.contains("KB "), "{}", f[0].explanation);
        assert_eq!(
            f[0].next_command.as_deref(),
            Some(
                "cloud502 probe https://www.example.com/ --resolve www.example.com:443:203.0.113.10"
            )
        );
        assert_cited_exist(&ev, &f);

        // The origin check got the 502 too, with nginx's page: that layer is named and cited.
        let n = origin_check(&mut ev, S::Https, ORIGIN);
        ev.probes[n].http.as_mut().unwrap().status = 502;
        ev.probes[n].fingerprint = Some(fingerprint(Layer::Nginx, Some(Layer::Nginx)));
        describe_checks(&mut ev);
        let f = run_rule(super::check, &ev);
        assert_eq!(f[0].layer, Some(Layer::Nginx));
        assert!(f[0].explanation.contains("with nginx's error page"));
        assert!(f[0].evidence.contains(&"upstream.0.status".to_owned()));
        assert_cited_exist(&ev, &f);
    }

    #[test]
    fn a_short_one_colo_burst_of_edge_502s_is_a_transient_shift() {
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[
                (
                    LogClass::EdgeError,
                    502,
                    None,
                    "SIN",
                    14,
                    "2025-06-01T10:00:00Z",
                    "2025-06-01T10:03:00Z",
                ),
                (
                    LogClass::EdgeError,
                    502,
                    Some(ORIGIN),
                    "SIN",
                    3,
                    "2025-06-01T10:05:00Z",
                    "2025-06-01T10:06:00Z",
                ),
            ],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::CloudflareEdge502);
        assert_eq!(f[0].layer, Some(Layer::Cloudflare));
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].title,
            "Cloudflare's edge made 17 502(s), all in colo SIN within 6 minute(s): a transient edge shift"
        );
        assert!(f[0].remediation[0].step.starts_with("Retry"));
        assert_cited_exist(&ev, &f);
    }

    #[test]
    fn other_edge_502s_point_to_a_compression_mismatch() {
        // Several colos.
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[
                (
                    LogClass::EdgeError,
                    502,
                    None,
                    "SIN",
                    14,
                    T0,
                    "2025-06-01T10:03:00Z",
                ),
                (
                    LogClass::EdgeError,
                    502,
                    None,
                    "FRA",
                    6,
                    T0,
                    "2025-06-01T10:03:00Z",
                ),
            ],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].severity, f[0].confidence),
            (Severity::Critical, Confidence::High)
        );
        assert!(f[0].title.contains("20 502(s)"), "{}", f[0].title);
        assert!(f[0].title.contains("Content-Length"), "{}", f[0].title);
        assert!(f[0].explanation.contains("SIN (14), FRA (6)"));
        let fix = f[0]
            .remediation
            .iter()
            .find(|r| r.step.starts_with("Disable compression"))
            .unwrap();
        assert_eq!(fix.risk, Risk::Low);
        // One colo, but over an hour: not a short burst.
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[(
                LogClass::EdgeError,
                502,
                None,
                "SIN",
                14,
                T0,
                "2025-06-01T11:00:00Z",
            )],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(!f[0].title.contains("transient"));
    }

    #[test]
    fn a_zone_with_no_502_in_its_analytics_has_no_finding() {
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[(LogClass::EdgeError, 521, None, "SIN", 14, T0, T0)],
        );
        assert!(run_rule(super::check, &ev).is_empty());
    }
}
