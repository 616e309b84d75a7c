//! Cloudflare's own 52x and 530 status codes (KB 3.1, 3.4 #4-#9): each names a failure between
//! Cloudflare's edge and the origin.
//!
//! Three sources, one finding per status:
//! - a front probe answered by Cloudflare with that status (`cloud502 probe`);
//! - the analytics or Logpush split (`cloudflare-http-requests`, class `edge-error`): requests the
//!   edge answered with that status, counted in the title (high confidence);
//! - the direct origin checks (`upstream.N` probes of `cloud502 cloudflare`), read against the
//!   zone's SSL mode (setting `ssl`): only the check of the port the mode uses counts (http for
//!   Off/Flexible, https for Full/Full (strict)). Refused: 521; no answer to the connect: 522; no
//!   route: 523; connected, no response header: 524 (medium: the check gives up long before
//!   Cloudflare's Proxy Read Timeout (100 s by default), unless the analytics show 524s); closed or not
//!   HTTP: 520; TLS handshake failed: 525; invalid certificate: 526 under Full (strict), and an
//!   info finding under Full (Full accepts it; Full (strict) would answer 526); a name that does
//!   not resolve: 530, whatever the port.
//!
//! When the analytics and an origin check agree on a status, the finding cites both.
//!
//! SSL-mode mismatch (KB 3.4 #10): when `cloudflare_ssl_mode` explains an origin's failure
//! (Flexible without port 80, Full without 443), this rule predicts nothing from that origin's
//! checks, and the analytics count of the status the mismatch makes (521, 522 or 525) goes into
//! the mismatch finding instead of a 52x finding here (see `cloudflare::claimed_statuses`). A
//! status that another origin's checks also predict stays here, with its count.
//!
//! The file reads in three parts: the check gathers facts (`EdgeAnswer`, `ZoneStatus`); the
//! words of each status are data (`TEXTS`, `remediation`); each fact type turns itself into
//! its finding.

use crate::remediation::{adjust_timeouts, check_backend, review_config, update_tls};
use crate::rules::cloudflare::shared::{
    self as cloudflare, Failure, Prediction, Requests, SslMode, claimed_statuses, edge_errors,
    edge_statuses, existing, origin_probe_command, predictions, probe_items, ssl_mode,
};
use crate::rules::{Rule, cite, front_probes};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, Layer, Probe, ProbeScheme, Remediation, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "cloudflare_52x",
    codes: &[
        FindingCode::Cloudflare520,
        FindingCode::Cloudflare521,
        FindingCode::Cloudflare522,
        FindingCode::Cloudflare523,
        FindingCode::Cloudflare524,
        FindingCode::Cloudflare525,
        FindingCode::Cloudflare526,
        FindingCode::Cloudflare530,
        FindingCode::CloudflareOriginCheckFromHere,
    ],
    check,
};

fn check(evidence: &Evidence, out: &mut Vec<Finding>) {
    let start = out.len();
    for probe in front_probes(evidence) {
        let (Some(http), Some(fp)) = (&probe.http, &probe.fingerprint) else {
            continue;
        };
        // These codes are Cloudflare's own; without Cloudflare's headers a 52x is someone else's.
        if fp.answered_by != Layer::Cloudflare {
            continue;
        }
        if let Some(text) = text(http.status) {
            out.push(Finding::from(EdgeAnswer {
                probe,
                text,
                evidence: cite(evidence, probe, &["status", "header", "body"]),
            }));
        }
    }
    zone_findings(evidence, out, start);
}

/// One finding per status from the analytics split and the direct origin checks, merged into a
/// front-probe finding of the same code when there is one.
fn zone_findings(ev: &Evidence, out: &mut Vec<Finding>, start: usize) {
    let claimed = claimed_statuses(ev);
    let preds = predictions(ev);
    let observed = edge_statuses(ev);
    let mode = ssl_mode(ev);
    let host = cloudflare::host(ev);
    for text in TEXTS {
        let status = text.status;
        let analytics = if claimed.contains(&status) || !observed.contains(&status) {
            Requests::default()
        } else {
            edge_errors(ev, status)
        };
        let mut origin: Vec<&Prediction<'_>> =
            preds.iter().filter(|p| p.status == status).collect();
        // Precedence (KB 9.3): when Cloudflare's own records of the status are not confirming it,
        // a check from here that they contradict is reported as a check from here.
        if analytics.count == 0 {
            origin.retain(|p| {
                let over = p.now.then(|| cloudflare::overruled(ev, status, &p.address));
                match over.flatten() {
                    Some(over) => {
                        out.push(Finding::from(FromHere {
                            prediction: p,
                            text,
                            host: host.clone(),
                            evidence: crate::rules::dedup(
                                over.items
                                    .iter()
                                    .cloned()
                                    .chain(probe_items(ev, p.probe))
                                    .collect(),
                            ),
                            over,
                        }));
                        false
                    }
                    None => true,
                }
            });
        }
        if analytics.count == 0 && origin.is_empty() {
            continue;
        }
        let scheme = mode
            .map(SslMode::scheme)
            .or(origin.first().map(|p| p.probe.scheme))
            .unwrap_or(ProbeScheme::Https);
        let address = origin
            .first()
            .map(|p| p.address.clone())
            .or(analytics.origins.first().map(|o| o.0.clone()));
        let direct = match &address {
            Some(address) => {
                origin_probe_command(&host, scheme, address, cloudflare::origin_port(ev, scheme))
            }
            None => crate::rules::cloudflare_command(&host),
        };
        let address = address.unwrap_or_else(|| "<origin-ip>".to_owned());
        let cmd = Commands {
            tls_check: format!(
                "openssl s_client -connect {address}:443 -servername {host} </dev/null"
            ),
            url: format!("https://{host}/"),
            direct,
        };
        let mut evidence = analytics.items.clone();
        if !origin.is_empty() {
            evidence.extend(existing(ev, ["cloudflare.ssl".to_owned()]));
            if status == 524 {
                evidence.extend(existing(ev, ["cloudflare.proxy_read_timeout".to_owned()]));
            }
            for p in &origin {
                evidence.extend(probe_items(ev, p.probe));
            }
        }
        let facts = ZoneStatus {
            text,
            addresses: crate::rules::dedup(origin.iter().map(|p| p.address.clone()).collect()),
            analytics,
            origin,
            mode,
            read_timeout: cloudflare::setting(ev, "proxy_read_timeout").unwrap_or("100"),
            cmd,
            evidence: crate::rules::dedup(evidence),
        };
        if let Some(f) = out[start..].iter_mut().find(|f| f.code == text.code) {
            f.evidence = crate::rules::dedup(
                f.evidence
                    .iter()
                    .cloned()
                    .chain(facts.evidence.iter().cloned())
                    .collect(),
            );
            f.explanation = format!("{} {}", f.explanation, facts.sentences().join(" "));
            continue;
        }
        out.push(Finding::from(facts));
    }
}

// ---- facts ----

/// A front probe that Cloudflare's edge answered with one of its 52x statuses.
struct EdgeAnswer<'a> {
    probe: &'a Probe,
    text: &'static StatusText,
    /// The probe's status, header and body items.
    evidence: Vec<String>,
}

/// One status that the analytics count or the direct origin checks predict for the zone.
struct ZoneStatus<'a> {
    text: &'static StatusText,
    /// Requests the edge answered with the status (none when the SSL-mode rule claimed it).
    analytics: Requests,
    /// The origin checks that predict the status.
    origin: Vec<&'a Prediction<'a>>,
    /// The checked origins' addresses, each once.
    addresses: Vec<String>,
    mode: Option<SslMode>,
    /// The zone's Proxy Read Timeout, seconds (Cloudflare's 100 when not read).
    read_timeout: &'a str,
    cmd: Commands,
    evidence: Vec<String>,
}

impl ZoneStatus<'_> {
    /// Whether visitors get the status today, rather than under a stricter SSL mode.
    fn now(&self) -> bool {
        self.analytics.count > 0 || self.origin.iter().any(|p| p.now)
    }

    fn confidence(&self) -> Confidence {
        if self.analytics.count > 0 {
            Confidence::High
        } else if self.origin.iter().any(|p| !p.mode_known) {
            Confidence::Medium
        } else {
            match self.text.status {
                521 | 525 | 526 | 530 => Confidence::High,
                _ => Confidence::Medium,
            }
        }
    }
}

/// A direct check from this machine that predicts a 52x which Cloudflare's own records of the
/// same window contradict (`cloudflare::overruled`): what it says is about this machine.
struct FromHere<'a> {
    prediction: &'a Prediction<'a>,
    text: &'static StatusText,
    host: String,
    over: cloudflare::Overruled,
    evidence: Vec<String>,
}

/// Commands the remediation steps name.
struct Commands {
    /// Probe the origin directly, keeping Host and SNI.
    direct: String,
    /// `openssl s_client` to the origin with SNI.
    tls_check: String,
    /// The URL for `curl` (the 1xxx code of a 530).
    url: String,
}

// ---- text ----

/// What one status means, as data.
struct StatusText {
    status: u16,
    code: FindingCode,
    title: &'static str,
    /// What went wrong, a clause after "This is Cloudflare NNN: ".
    what: &'static str,
    disproved: &'static str,
}

/// The words of `status`, if this rule knows it.
fn text(status: u16) -> Option<&'static StatusText> {
    TEXTS.iter().find(|t| t.status == status)
}

/// Every status this rule knows, in order.
const TEXTS: &[StatusText] = &[
    StatusText {
        status: 520,
        code: FindingCode::Cloudflare520,
        title: "Cloudflare 520: the origin returned an empty, unknown or unexpected response",
        what: "the origin's response was empty or unreadable: a crashed or reset origin process, \
               Cloudflare's IPs blocked mid-connection, response headers over the size limit, or \
               a broken HTTP/2 at the origin",
        disproved: "The origin, probed directly, returns a complete, valid response.",
    },
    StatusText {
        status: 521,
        code: FindingCode::Cloudflare521,
        title: "Cloudflare 521: the origin refused Cloudflare's connection",
        what: "the origin refused the TCP connection: the web server is down, it does not listen \
               on the port the SSL mode needs (80 for Flexible, 443 for Full/Strict), or a \
               firewall rejects Cloudflare's IPs",
        disproved: "The origin accepts a direct connection from Cloudflare's address ranges on \
                    the port the zone's SSL mode uses.",
    },
    StatusText {
        status: 522,
        code: FindingCode::Cloudflare522,
        title: "Cloudflare 522: the connection to the origin timed out",
        what: "Cloudflare got no SYN+ACK from the origin within 19 s (or no ACK within 90 s): \
               packets dropped by a firewall, an overloaded origin, or a DNS record pointing at \
               the wrong address",
        disproved: "The origin completes a TCP handshake quickly from outside, and the DNS \
                    record points at it.",
    },
    StatusText {
        status: 523,
        code: FindingCode::Cloudflare523,
        title: "Cloudflare 523: the origin is unreachable",
        what: "Cloudflare found no route to the origin address (a routing problem, or a record \
               pointing at an address that is not routed, such as 172.0.0.0/8 swallowing \
               172.64.0.0/13)",
        disproved: "The origin address is routable from the internet and answers a direct \
                    probe.",
    },
    StatusText {
        status: 524,
        code: FindingCode::Cloudflare524,
        title: "Cloudflare 524: the origin sent no response within Cloudflare's read timeout",
        what: "the origin accepted the connection but did not send a response header within the \
               Proxy Read Timeout (100 s by default): a slow request or a hung worker",
        disproved: "The same request answered directly by the origin finishes well within 100 s.",
    },
    StatusText {
        status: 525,
        code: FindingCode::Cloudflare525,
        title: "Cloudflare 525: the TLS handshake with the origin failed",
        what: "the zone's SSL mode is Full or Full (strict) and the TLS handshake between \
               Cloudflare and the origin failed: no certificate on 443, port 443 closed, no SNI \
               support or no cipher in common",
        disproved: "openssl s_client to the origin with the zone's host name as SNI completes a \
                    handshake.",
    },
    StatusText {
        status: 526,
        code: FindingCode::Cloudflare526,
        title: "Cloudflare 526: the origin's certificate is invalid (Full strict mode)",
        what: "the zone's SSL mode is Full (strict) and the origin's certificate is expired, \
               revoked, self-signed, or does not cover the host name",
        disproved: "The origin's certificate, fetched with the zone's host name as SNI, is \
                    valid, unexpired and covers the name.",
    },
    StatusText {
        status: 530,
        code: FindingCode::Cloudflare530,
        title: "Cloudflare 530: Cloudflare could not resolve or reach the origin",
        what: "Cloudflare returned 530 with a 1xxx error in the body (for example 1016: origin \
               DNS error): the origin's host name does not resolve, or a Tunnel is down",
        disproved: "The origin host name resolves publicly, and the 1xxx code in the body names \
                    something else.",
    },
];

/// The steps that fix `status`, naming the commands of this case.
fn remediation(status: u16, cmd: &Commands) -> Vec<Remediation> {
    let allow_cf = || {
        review_config(
            "Allow Cloudflare's IP ranges (https://www.cloudflare.com/ips/) through the origin's \
             firewall, security group or rate limiter",
            None,
        )
    };
    let probe_origin = || {
        check_backend(
            "Probe the origin directly with the same Host header and SNI",
            Some(&cmd.direct),
        )
    };
    match status {
        520 => vec![
            probe_origin(),
            check_backend(
                "Read the origin web server's error log for crashes or resets",
                None,
            ),
            review_config(
                "Keep response headers (cookies above all) well under Cloudflare's limit; turn \
                 off HTTP/2 to origin if the origin's HTTP/2 is broken",
                None,
            ),
        ],
        521 => vec![
            probe_origin(),
            check_backend(
                "Check that the web server runs and listens on 80/443 to match the SSL mode",
                Some("ss -ltnp | grep -E ':(80|443) '"),
            ),
            allow_cf(),
        ],
        522 => vec![
            probe_origin(),
            allow_cf(),
            review_config(
                "Check that the proxied DNS record points at the right origin address",
                None,
            ),
        ],
        523 => vec![
            probe_origin(),
            review_config("Fix the DNS record or the routing to the origin", None),
        ],
        524 => vec![
            probe_origin(),
            adjust_timeouts(
                "Move long work to background jobs; on Enterprise, raise proxy_read_timeout",
                None,
            ),
        ],
        525 => vec![
            check_backend(
                "Test the origin's TLS listener with SNI",
                Some(&cmd.tls_check),
            ),
            update_tls(
                "Install a certificate on the origin (a Cloudflare Origin CA certificate works) \
                 and enable SNI and modern ciphers; lowering the SSL mode is a last, temporary \
                 resort",
                None,
            ),
        ],
        526 => vec![
            check_backend("Read the origin's certificate", Some(&cmd.tls_check)),
            update_tls(
                "Replace the origin certificate with one valid for the host name (a Cloudflare \
                 Origin CA certificate works)",
                None,
            ),
            update_tls(STOPGAP_526, None),
        ],
        530 => vec![
            check_backend(
                "Read the 1xxx code in the error page and check the origin DNS record",
                Some(&format!("curl -s {} | grep -o 'Error 1[0-9]*'", cmd.url)),
            ),
            review_config(
                "Fix the origin DNS record or restart the Cloudflare Tunnel",
                None,
            ),
        ],
        _ => Vec::new(),
    }
}

/// The 526 step that lowers the SSL mode: moot when the mode is Full already.
const STOPGAP_526: &str = "Only as a stopgap while the certificate is replaced: lower the SSL \
                           mode from Full (strict) to Full, which stops validating the origin's \
                           certificate; switch back as soon as the new certificate is in place";

impl From<EdgeAnswer<'_>> for Finding {
    fn from(f: EdgeAnswer<'_>) -> Finding {
        let EdgeAnswer {
            probe,
            text,
            evidence,
        } = f;
        let cmd = Commands {
            tls_check: format!(
                "openssl s_client -connect <origin-ip>:443 -servername {} </dev/null",
                probe.host
            ),
            url: probe.url.clone(),
            direct: format!(
                "cloud502 probe {} --resolve {}:{}:<origin-ip>",
                probe.url, probe.host, probe.port
            ),
        };
        Finding {
            code: text.code,
            severity: Severity::Critical,
            confidence: Confidence::High,
            layer: Some(Layer::Cloudflare),
            title: text.title.to_owned(),
            explanation: format!(
                "Cloudflare's edge answered {} (with CF-RAY / Server: cloudflare): {}.",
                text.status, text.what
            ),
            evidence,
            locations: Vec::new(),
            disproved_by: text.disproved.to_owned(),
            remediation: remediation(text.status, &cmd),
            // the origin's address is not known from a probe; the zone's DNS records name it
            next_command: Some(crate::rules::cloudflare_command(&probe.host)),
        }
    }
}

impl ZoneStatus<'_> {
    /// What the records and the checks saw, a sentence each; merged into a front-probe finding of
    /// the same status when there is one.
    fn sentences(&self) -> Vec<String> {
        let status = self.text.status;
        let mut parts = Vec::new();
        if self.analytics.count > 0 {
            parts.push(analytics_sentence(status, &self.analytics));
        }
        if !self.origin.is_empty() {
            let mode_text = match self.mode {
                Some(m) => format!(
                    "the port the zone's SSL mode {} uses to reach the origin",
                    m.label()
                ),
                None => "the SSL mode was not read, and the checks of both ports agree".to_owned(),
            };
            for p in &self.origin {
                parts.push(format!(
                    "The direct check of origin {} over {} ({mode_text}) {}.",
                    p.address,
                    scheme_name(p.probe.scheme),
                    failure_text(p)
                ));
            }
        }
        if status == 524 && !self.origin.is_empty() {
            parts.push(format!(
                "The check's own timeout is much shorter than Cloudflare's Proxy Read Timeout \
                 ({} s here; 100 s by default), so the origin may still answer within \
                 Cloudflare's limit{}.",
                self.read_timeout,
                if self.analytics.count > 0 {
                    "; the analytics show that it does not"
                } else {
                    ": the analytics show no 524 to confirm it"
                }
            ));
        }
        parts
    }

    /// The checked origins, each with the port of its check when that is not the scheme's
    /// default (`--http-port`, `--https-port`, an Origin Rule's port): `127.0.0.1:8443`.
    fn checked(&self) -> String {
        self.addresses
            .iter()
            .map(|a| {
                let port = self
                    .origin
                    .iter()
                    .find(|p| &p.address == a)
                    .map(|p| (p.probe.scheme, p.probe.port))
                    .filter(|(scheme, port)| {
                        *port
                            != if *scheme == ProbeScheme::Https {
                                443
                            } else {
                                80
                            }
                    });
                match port {
                    Some((_, port)) if a.contains(':') => format!("[{a}]:{port}"),
                    Some((_, port)) => format!("{a}:{port}"),
                    None => a.clone(),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn title(&self) -> String {
        let addresses = self.checked();
        if !self.now() {
            return format!(
                "Cloudflare 526 if the SSL mode were Full (strict): the origin's certificate is \
                 invalid ({addresses}); Full accepts it today"
            );
        }
        let suffix = match (self.analytics.count, self.addresses.is_empty()) {
            (0, _) => format!(" (origin check of {addresses})"),
            (n, true) => format!(" ({n} request(s))"),
            (n, false) => format!(" ({n} request(s); the origin check of {addresses} agrees)"),
        };
        format!("{}{suffix}", self.text.title)
    }

    fn explanation(&self) -> String {
        let seen = self.sentences().join(" ");
        if self.now() {
            format!(
                "{seen} This is Cloudflare {}: {}.",
                self.text.status, self.text.what
            )
        } else {
            format!(
                "{seen} The zone's SSL mode is Full, which encrypts to the origin but does not \
                 validate its certificate, so visitors are served today. Full (strict) validates \
                 it and would answer 526; so would a later switch to it."
            )
        }
    }
}

impl From<ZoneStatus<'_>> for Finding {
    fn from(f: ZoneStatus<'_>) -> Finding {
        let mut remediation = remediation(f.text.status, &f.cmd);
        if !f.now() {
            // Under Full the stopgap "lower Strict to Full" is moot: the fix is the certificate.
            remediation.retain(|r| r.step != STOPGAP_526);
        }
        Finding {
            code: f.text.code,
            severity: if f.now() {
                Severity::Critical
            } else {
                Severity::Info
            },
            confidence: f.confidence(),
            layer: Some(Layer::Cloudflare),
            title: f.title(),
            explanation: f.explanation(),
            locations: Vec::new(),
            disproved_by: f.text.disproved.to_owned(),
            remediation,
            next_command: Some(f.cmd.direct),
            evidence: f.evidence,
        }
    }
}

/// Why a check from here fails where Cloudflare gets through, most likely first.
fn likely_reasons(p: &Prediction<'_>) -> Vec<&'static str> {
    let msg = p
        .probe
        .error
        .as_ref()
        .map(|e| e.message.to_ascii_lowercase())
        .unwrap_or_default();
    let client_cert = msg.contains("certificate required")
        || msg.contains("certificaterequired")
        || msg.contains("handshake failure")
        || msg.contains("handshakefailure");
    let mut out = Vec::new();
    match &p.failure {
        Failure::Refused | Failure::ConnectTimeout | Failure::NoRoute => {
            out.push(ALLOW_LISTED);
            out.push(OTHER_PORT);
        }
        Failure::Handshake | Failure::Empty if client_cert => {
            out.push(CLIENT_CERT);
            out.push(ALLOW_LISTED);
        }
        Failure::Handshake | Failure::Empty | Failure::NoHeader => {
            out.push(CLIENT_CERT);
            out.push(ALLOW_LISTED);
            out.push(OTHER_PORT);
        }
        Failure::Certificate(_) => out.push(OTHER_PORT),
        Failure::Dns | Failure::Other => out.push(OTHER_PORT),
    }
    out
}

const ALLOW_LISTED: &str = "the origin lets in only Cloudflare's IP ranges \
                            (https://www.cloudflare.com/ips/), so it refuses or drops this machine";
const CLIENT_CERT: &str = "the origin requires a client certificate (Authenticated Origin Pulls), \
                           which Cloudflare presents and this machine does not";
const OTHER_PORT: &str = "Cloudflare reaches the origin on another port, Host header, SNI or \
                          address than this check used (the pool origin's own port and Host \
                          header, or an Origin Rule)";

impl From<FromHere<'_>> for Finding {
    fn from(f: FromHere<'_>) -> Finding {
        let p = f.prediction;
        let reasons = likely_reasons(p);
        Finding {
            code: FindingCode::CloudflareOriginCheckFromHere,
            severity: Severity::Info,
            confidence: Confidence::Low,
            layer: Some(Layer::Cloudflare),
            title: format!(
                "From this machine only: the check of origin {} over {} {}; Cloudflare's own \
                 records show it reaching the origin (no {} from Cloudflare)",
                p.address,
                scheme_name(p.probe.scheme),
                failure_text(p),
                f.text.status
            ),
            explanation: format!(
                "The direct check from this machine would mean Cloudflare {} ({}), but {}. \
                 Cloudflare's records outrank a check from here, so this is not what visitors \
                 get. Likely reason: {}.",
                f.text.status,
                f.text.what,
                f.over.said.join("; "),
                reasons.join("; or ")
            ),
            evidence: f.evidence,
            locations: Vec::new(),
            disproved_by: format!(
                "Cloudflare's analytics of the same window show {} answers from the edge, or the \
                 pool's health monitor fails the origin the same way.",
                f.text.status
            ),
            remediation: vec![check_backend(
                "Repeat the check from a network the origin lets in, with the port, Host and \
                 client certificate Cloudflare uses; nothing to fix while Cloudflare's records \
                 show the origin reached",
                Some(&origin_probe_command(
                    &f.host,
                    p.probe.scheme,
                    &p.address,
                    Some(p.probe.port),
                )),
            )],
            next_command: Some(crate::rules::cloudflare_command(&f.host)),
        }
    }
}

/// `(analytics) show N request(s) that the edge answered NNN ...`, with where they came from.
fn analytics_sentence(status: u16, analytics: &Requests) -> String {
    let mut seen = Vec::new();
    if !analytics.colos.is_empty() {
        seen.push(format!("colo(s) {}", analytics.colo_list()));
    }
    if !analytics.origins.is_empty() {
        seen.push(format!("origin(s) {}", analytics.origin_list()));
    }
    format!(
        "Cloudflare's request records (analytics or Logpush) show {} request(s) that the edge \
         answered {status} with no origin response (OriginResponseStatus 0){}{}.",
        analytics.count,
        analytics.window(),
        if seen.is_empty() {
            String::new()
        } else {
            format!(", from {}", seen.join(", "))
        }
    )
}

/// What a failed origin check saw, in words.
fn failure_text(p: &Prediction<'_>) -> String {
    let msg = p
        .probe
        .error
        .as_ref()
        .map(|e| e.message.as_str())
        .unwrap_or("");
    match &p.failure {
        Failure::Dns => format!("could not resolve the origin's name ({msg})"),
        Failure::Refused => format!("was refused ({msg})"),
        Failure::ConnectTimeout => format!("got no answer to its connection attempt ({msg})"),
        Failure::NoRoute => format!("found no route to the origin ({msg})"),
        Failure::NoHeader => format!(
            "connected, but got no response header before it gave up after {:.1} s ({msg})",
            p.probe.timings.total_ms / 1000.0
        ),
        Failure::Empty => format!("got no valid HTTP response ({msg})"),
        Failure::Handshake => format!("failed the TLS handshake ({msg})"),
        Failure::Certificate(problems) => {
            format!("got a certificate that is {}", problems.join("; "))
        }
        Failure::Other => format!("failed ({msg})"),
    }
}

fn scheme_name(s: ProbeScheme) -> &'static str {
    match s {
        ProbeScheme::Http => "http",
        ProbeScheme::Https => "https",
        ProbeScheme::Tcp => "tcp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;

    #[test]
    fn each_52x_maps_to_its_code_only_behind_cloudflare() {
        let cases = [
            (520, FindingCode::Cloudflare520),
            (521, FindingCode::Cloudflare521),
            (522, FindingCode::Cloudflare522),
            (523, FindingCode::Cloudflare523),
            (524, FindingCode::Cloudflare524),
            (525, FindingCode::Cloudflare525),
            (526, FindingCode::Cloudflare526),
            (530, FindingCode::Cloudflare530),
        ];
        for (status, code) in cases {
            for (layer, expected) in [(Layer::Cloudflare, Some(code)), (Layer::Nginx, None)] {
                let mut p = probe("https://example.com/");
                p.http = Some(response(status, ""));
                p.fingerprint = Some(fingerprint(layer, None));
                let mut out = Vec::new();
                check(&evidence(p), &mut out);
                assert_eq!(
                    out.first().map(|f| f.code),
                    expected,
                    "{status} via {layer:?}"
                );
            }
        }
        let mut p = probe("https://example.com/");
        p.http = Some(response(502, ""));
        p.fingerprint = Some(fingerprint(Layer::Cloudflare, None));
        let mut out = Vec::new();
        check(&evidence(p), &mut out);
        assert!(out.is_empty(), "502 belongs to layer_502");
    }
}

#[cfg(test)]
mod zone_tests {
    use super::*;
    use crate::rules::cloudflare::shared::tests_support::*;
    use crate::rules::test_support::run_rule;
    use cloud502_model::{LogClass, Phase, ProbeErrorKind as K, ProbeScheme as S};

    const T0: &str = "2025-06-01T10:00:00Z";
    const T1: &str = "2025-06-01T10:40:00Z";

    fn code_of(status: u16) -> FindingCode {
        match status {
            520 => FindingCode::Cloudflare520,
            521 => FindingCode::Cloudflare521,
            522 => FindingCode::Cloudflare522,
            523 => FindingCode::Cloudflare523,
            524 => FindingCode::Cloudflare524,
            525 => FindingCode::Cloudflare525,
            526 => FindingCode::Cloudflare526,
            _ => FindingCode::Cloudflare530,
        }
    }

    /// A zone in `mode` with one origin checked over http and https.
    fn checked(mode: &str) -> Evidence {
        let mut ev = cf_zone(mode);
        origin_check(&mut ev, S::Http, ORIGIN);
        origin_check(&mut ev, S::Https, ORIGIN);
        ev
    }

    #[test]
    fn each_52x_from_the_analytics_is_one_high_confidence_finding_with_its_count() {
        for status in [520, 521, 522, 523, 524, 525, 526, 530] {
            let mut ev = cf_zone("full");
            analytics(
                &mut ev,
                &[
                    (LogClass::EdgeError, status, Some(ORIGIN), "FRA", 30, T0, T1),
                    (LogClass::EdgeError, status, Some(ORIGIN), "AMS", 12, T0, T1),
                ],
            );
            let f = run_rule(super::check, &ev);
            assert_eq!(f.len(), 1, "{status}: {f:#?}");
            assert_eq!(f[0].code, code_of(status));
            assert_eq!(
                (f[0].severity, f[0].confidence),
                (Severity::Critical, Confidence::High)
            );
            assert!(f[0].title.contains("(42 request(s))"), "{}", f[0].title);
            assert!(f[0].explanation.contains("FRA (30), AMS (12)"));
            assert_eq!(
                f[0].evidence,
                vec![
                    "cloudflare.analytics",
                    "cloudflare.analytics.group.0",
                    "cloudflare.analytics.group.1"
                ]
            );
            assert_cited_exist(&ev, &f);
        }
    }

    #[test]
    fn other_classes_and_statuses_in_the_analytics_are_not_52x() {
        let mut ev = cf_zone("full");
        analytics(
            &mut ev,
            &[
                (LogClass::EdgeError, 502, None, "FRA", 9, T0, T1),
                (
                    LogClass::Status502FromUpstream,
                    502,
                    Some(ORIGIN),
                    "FRA",
                    9,
                    T0,
                    T1,
                ),
                (LogClass::Status5xx, 503, Some(ORIGIN), "FRA", 9, T0, T1),
            ],
        );
        assert!(run_rule(super::check, &ev).is_empty());
    }

    /// (mode, failing scheme(s), phase, kind, message, expected status, severity, confidence)
    #[allow(clippy::type_complexity)]
    const CASES: &[(&str, &[S], Phase, K, &str, u16, Severity, Confidence)] = &[
        (
            "flexible",
            &[S::Http, S::Https],
            Phase::Connect,
            K::Refused,
            "Connection refused (os error 111)",
            521,
            Severity::Critical,
            Confidence::High,
        ),
        (
            "off",
            &[S::Http],
            Phase::Connect,
            K::Refused,
            "Connection refused",
            521,
            Severity::Critical,
            Confidence::High,
        ),
        (
            "full",
            &[S::Http, S::Https],
            Phase::Connect,
            K::Timeout,
            "connect timed out after 5s",
            522,
            Severity::Critical,
            Confidence::Medium,
        ),
        (
            "strict",
            &[S::Https],
            Phase::Connect,
            K::Io,
            "No route to host (os error 113)",
            523,
            Severity::Critical,
            Confidence::Medium,
        ),
        (
            "flexible",
            &[S::Http],
            Phase::Connect,
            K::Io,
            "Network is unreachable (os error 101)",
            523,
            Severity::Critical,
            Confidence::Medium,
        ),
        (
            "strict",
            &[S::Https],
            Phase::ResponseHeader,
            K::Timeout,
            "no response header within 10s",
            524,
            Severity::Critical,
            Confidence::Medium,
        ),
        (
            "full",
            &[S::Https],
            Phase::ResponseHeader,
            K::Closed,
            "connection closed before the response",
            520,
            Severity::Critical,
            Confidence::Medium,
        ),
        (
            "full",
            &[S::Https],
            Phase::Tls,
            K::TlsHandshake,
            "received fatal alert: HandshakeFailure",
            525,
            Severity::Critical,
            Confidence::High,
        ),
        (
            "flexible",
            &[S::Http, S::Https],
            Phase::Dns,
            K::Dns,
            "failed to lookup address information",
            530,
            Severity::Critical,
            Confidence::High,
        ),
    ];

    #[test]
    fn origin_checks_are_read_against_the_ssl_mode() {
        for (mode, failing, phase, kind, msg, status, severity, confidence) in CASES {
            let mut ev = checked(mode);
            // The other port fails too where it would otherwise show an SSL-mode mismatch.
            if *status == 525 {
                fail(&mut ev, 0, Phase::Connect, K::Refused, "Connection refused");
            }
            for s in *failing {
                let n = if *s == S::Http { 0 } else { 1 };
                fail(&mut ev, n, *phase, *kind, msg);
            }
            describe_checks(&mut ev);
            let f = run_rule(super::check, &ev);
            assert_eq!(f.len(), 1, "{mode} {status}: {f:#?}");
            assert_eq!(f[0].code, code_of(*status), "{mode} {status}");
            assert_eq!(
                (f[0].severity, f[0].confidence),
                (*severity, *confidence),
                "{mode} {status}"
            );
            let origin = if *status == 530 {
                "origin.example.net"
            } else {
                ORIGIN
            };
            assert!(f[0].title.contains(origin), "{}", f[0].title);
            assert!(f[0].explanation.contains(msg), "{}", f[0].explanation);
            let n = if failing.contains(&S::Http) && (*mode == "flexible" || *mode == "off") {
                0
            } else {
                1
            };
            assert!(
                f[0].evidence.contains(&format!("upstream.{n}.error")),
                "{mode} {status}: {:?}",
                f[0].evidence
            );
            assert!(f[0].evidence.contains(&format!("upstream.{n}.origin")));
            assert_cited_exist(&ev, &f);
        }
    }

    #[test]
    fn an_origin_name_that_does_not_resolve_is_530_in_any_mode() {
        // The provider makes one check for such an origin, named by the origin's host name.
        for mode in ["off", "flexible", "full", "strict"] {
            let mut ev = cf_zone(mode);
            let n = origin_check(&mut ev, S::Http, ORIGIN);
            fail(
                &mut ev,
                n,
                Phase::Dns,
                K::Dns,
                "no record found for origin.example.net",
            );
            ev.probes[n].host = "origin.example.net".into();
            describe_checks(&mut ev);
            let f = run_rule(super::check, &ev);
            assert_eq!(f.len(), 1, "{mode}");
            assert_eq!(f[0].code, FindingCode::Cloudflare530);
            assert!(
                f[0].title.ends_with("(origin check of origin.example.net)"),
                "{}",
                f[0].title
            );
            assert_cited_exist(&ev, &f);
        }
    }

    #[test]
    fn a_failure_on_the_port_the_mode_does_not_use_is_no_52x() {
        // Full: Cloudflare never uses port 80.
        let mut ev = checked("full");
        fail(&mut ev, 0, Phase::Connect, K::Refused, "Connection refused");
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
        // Flexible: an invalid certificate on 443 does not matter.
        let mut ev = checked("flexible");
        ev.probes[1].tls.as_mut().unwrap().expired = true;
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
    }

    #[test]
    fn an_invalid_certificate_is_526_under_strict_and_info_under_full() {
        type Spoil = fn(&mut cloud502_model::TlsFacts);
        let problems: [(&str, Spoil); 4] = [
            ("expired", |t| {
                t.expired = true;
                t.verified = false;
            }),
            ("not valid before", |t| {
                t.not_yet_valid = true;
                t.verified = false;
            }),
            ("does not cover", |t| {
                t.hostname_match = false;
                t.verified = false;
            }),
            ("self-signed", |t| {
                t.issuer = t.subject.clone();
                t.verified = false;
                t.verify_error = Some("self-signed certificate".into());
            }),
        ];
        for (what, apply) in problems {
            for (mode, severity) in [("strict", Severity::Critical), ("full", Severity::Info)] {
                let mut ev = checked(mode);
                apply(ev.probes[1].tls.as_mut().unwrap());
                describe_checks(&mut ev);
                let f = run_rule(super::check, &ev);
                assert_eq!(f.len(), 1, "{what} {mode}");
                assert_eq!(f[0].code, FindingCode::Cloudflare526);
                assert_eq!(f[0].severity, severity, "{what} {mode}");
                assert!(f[0].explanation.contains(what), "{}", f[0].explanation);
                assert!(f[0].evidence.contains(&"upstream.1.tls.cert".to_owned()));
                assert_cited_exist(&ev, &f);
                let stopgap = f[0]
                    .remediation
                    .iter()
                    .find(|r| r.step.starts_with("Only as a stopgap"));
                if mode == "strict" {
                    // KB 3.4 #9: lowering Strict to Full is high risk and temporary.
                    assert_eq!(stopgap.map(|r| r.risk), Some(cloud502_model::Risk::High));
                } else {
                    assert!(stopgap.is_none());
                    assert!(
                        f[0].title.contains("Full accepts it today"),
                        "{}",
                        f[0].title
                    );
                }
            }
        }
        // An unknown issuer that is Cloudflare's Origin CA is trusted by Full (strict).
        let mut ev = checked("strict");
        let tls = ev.probes[1].tls.as_mut().unwrap();
        tls.verified = false;
        tls.issuer =
            "CN=CloudFlare Origin SSL ECC Certificate Authority, O=CloudFlare, Inc.".into();
        tls.verify_error = Some("unable to get local issuer certificate".into());
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
    }

    #[test]
    fn analytics_and_an_agreeing_origin_check_are_one_finding_citing_both() {
        let mut ev = checked("full");
        fail(&mut ev, 0, Phase::Connect, K::Refused, "Connection refused");
        fail(&mut ev, 1, Phase::Connect, K::Refused, "Connection refused");
        describe_checks(&mut ev);
        analytics(
            &mut ev,
            &[(LogClass::EdgeError, 521, Some(ORIGIN), "FRA", 12, T0, T1)],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].code, FindingCode::Cloudflare521);
        assert_eq!(f[0].confidence, Confidence::High);
        assert!(f[0].title.contains("12 request(s)"), "{}", f[0].title);
        assert!(f[0].title.contains("agrees"), "{}", f[0].title);
        for id in [
            "cloudflare.analytics",
            "cloudflare.analytics.group.0",
            "cloudflare.ssl",
            "upstream.1.error",
            "upstream.1.origin",
        ] {
            assert!(
                f[0].evidence.contains(&id.to_owned()),
                "{id}: {:?}",
                f[0].evidence
            );
        }
        assert_eq!(
            f[0].next_command.as_deref(),
            Some(
                "cloud502 probe https://www.example.com/ --resolve www.example.com:443:203.0.113.10"
            )
        );
        assert_cited_exist(&ev, &f);
    }

    #[test]
    fn a_524_check_is_medium_alone_and_high_when_the_analytics_show_524s() {
        let mut ev = checked("strict");
        fail(&mut ev, 1, Phase::ResponseHeader, K::Timeout, "timed out");
        describe_checks(&mut ev);
        let f = run_rule(super::check, &ev);
        assert_eq!(f[0].confidence, Confidence::Medium);
        assert!(
            f[0].explanation.contains("Proxy Read Timeout (100 s"),
            "{}",
            f[0].explanation
        );
        assert!(
            f[0].evidence
                .contains(&"cloudflare.proxy_read_timeout".to_owned())
        );
        analytics(
            &mut ev,
            &[(LogClass::EdgeError, 524, None, "FRA", 3, T0, T1)],
        );
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].confidence, Confidence::High);
        assert!(f[0].title.contains("3 request(s)"));
    }

    #[test]
    fn an_ssl_mode_mismatch_takes_the_52x_it_explains() {
        // Flexible, nothing on 80, HTTPS serves: the mismatch finding owns 521 and its count.
        let mut ev = checked("flexible");
        fail(&mut ev, 0, Phase::Connect, K::Refused, "Connection refused");
        describe_checks(&mut ev);
        analytics(
            &mut ev,
            &[(LogClass::EdgeError, 521, Some(ORIGIN), "FRA", 30, T0, T1)],
        );
        assert!(run_rule(super::check, &ev).is_empty());
        // A second origin that is simply down predicts 521 as well: then it stays here, once.
        origin_check(&mut ev, S::Http, "203.0.113.11");
        origin_check(&mut ev, S::Https, "203.0.113.11");
        fail(&mut ev, 2, Phase::Connect, K::Refused, "Connection refused");
        fail(&mut ev, 3, Phase::Connect, K::Refused, "Connection refused");
        describe_checks(&mut ev);
        let f = run_rule(super::check, &ev);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].code, FindingCode::Cloudflare521);
        assert!(f[0].title.contains("203.0.113.11"));
        assert!(!f[0].title.contains("203.0.113.10,"), "{}", f[0].title);
        assert!(f[0].title.contains("30 request(s)"));
    }

    #[test]
    fn with_the_mode_unknown_both_ports_must_agree() {
        let mut ev = checked("bogus");
        fail(&mut ev, 1, Phase::Connect, K::Refused, "Connection refused");
        describe_checks(&mut ev);
        assert!(run_rule(super::check, &ev).is_empty());
        fail(&mut ev, 0, Phase::Connect, K::Refused, "Connection refused");
        let f = run_rule(super::check, &ev);
        assert_eq!(f[0].code, FindingCode::Cloudflare521);
        assert_eq!(f[0].confidence, Confidence::Medium);
    }

    #[test]
    fn nginx_upstream_probes_are_not_cloudflare_origins() {
        let mut ev = crate::rules::test_support::nginx(&["10.0.0.5:8080"], vec![], vec![]);
        let mut zone = cf_zone("bogus");
        origin_check(&mut zone, S::Http, "10.0.0.5");
        fail(
            &mut zone,
            0,
            Phase::Connect,
            K::Refused,
            "Connection refused",
        );
        ev.probes = zone.probes;
        assert!(run_rule(super::check, &ev).is_empty());
    }

    #[test]
    fn a_healthy_zone_has_no_52x() {
        let mut ev = checked("strict");
        describe_checks(&mut ev);
        analytics(
            &mut ev,
            &[(LogClass::Status5xx, 503, Some(ORIGIN), "FRA", 1, T0, T1)],
        );
        assert!(run_rule(super::check, &ev).is_empty());
    }
}
