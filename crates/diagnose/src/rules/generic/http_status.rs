//! Every 5xx and 4xx the probed URL answers is a finding: a probe is never healthy on an error.
//!
//! 502 (`layer_502`), 504 (`gateway_timeout`) and Cloudflare's own 52x/530 (`cloudflare_52x`) have
//! their own rules; every other 5xx is `http-5xx-response` (critical), with the layer that made
//! it named from the fingerprint the probe computed: a proxy's built-in error page (its
//! `<hr><center>` footer, the ALB's footerless page, Cloudflare's pages) means that proxy made
//! the response; a proxy's `Server` header over a page no proxy makes means it relayed the
//! application's error. A 4xx is `http-4xx-response` (info): the server refused the request, so
//! the probe did not reach what it meant to test.
//!
//! What a status usually means where a layer makes it itself: nginx answers 503 for
//! `limit_req` / `limit_conn` rejections (their default `*_status`) and for `return 503`
//! (maintenance); an ALB answers 503 when its target group has no registered targets (KB 1.9);
//! 500 made by a proxy is its own internal error (nginx: a rewrite or internal-redirect cycle);
//! 500 from the application is its own unhandled error.
//!
//! The check gathers an `Answer` (worded as a `ServerError` or a `ClientError`); the statuses'
//! meanings are a match (`meaning`), the rest is methods of the fact.

use super::layer_502::{inspect_command, observed};
use crate::remediation::{check_backend, review_config, scale_backend};
use crate::rules::{Rule, cite, cloudflare_command, front_probes};
use cloud502_model::{
    CloudflarePage, Confidence, Evidence, Finding, FindingCode, Fingerprint, Layer, Probe,
    Remediation, Severity,
};

pub(crate) const RULE: Rule = Rule {
    name: "http_status",
    codes: &[FindingCode::HttpServerError, FindingCode::HttpClientError],
    check,
};

/// Cloudflare's own statuses, judged by `cloudflare_52x` when Cloudflare answered.
const CLOUDFLARE_OWN: &[u16] = &[520, 521, 522, 523, 524, 525, 526, 530];

fn check(evidence: &Evidence, out: &mut Vec<Finding>) {
    for probe in front_probes(evidence) {
        let Some(http) = &probe.http else { continue };
        let fp = probe.fingerprint.clone().unwrap_or_else(|| Fingerprint {
            answered_by: Layer::Unknown,
            error_page_by: None,
            cloudflare_page: None,
            cf_error_type: None,
            signals: Vec::new(),
        });
        let status = http.status;
        let answer = || Answer {
            probe,
            status,
            reason: http.reason.as_deref().unwrap_or(""),
            author: author(&fp),
            fp: fp.clone(),
            evidence: cite(evidence, probe, &["status", "header", "body"]),
        };
        match status {
            502 | 504 => {}
            s if CLOUDFLARE_OWN.contains(&s) && fp.answered_by == Layer::Cloudflare => {}
            500..=599 => out.push(Finding::from(ServerError(answer()))),
            400..=499 => out.push(Finding::from(ClientError(answer()))),
            _ => {}
        }
    }
}

/// Who made the response: the layer, how sure, and the layer that relayed it (if any).
fn author(fp: &Fingerprint) -> (Layer, Confidence, Option<Layer>) {
    use Layer::*;
    let proxy = |l: Layer| matches!(l, Nginx | AwsAlb | AzureAppgw | Cloudflare);
    match (fp.answered_by, fp.error_page_by) {
        // Cloudflare's branded page replaces an error the origin made (KB 3.3).
        (_, Some(Cloudflare)) if fp.cloudflare_page == Some(CloudflarePage::Branded) => {
            (Unknown, Confidence::Medium, Some(Cloudflare))
        }
        (answered, Some(page)) if answered == page => (page, Confidence::High, None),
        (answered, Some(page)) if proxy(answered) => (page, Confidence::High, Some(answered)),
        (_, Some(page)) => (page, Confidence::Medium, None),
        (answered, None) if proxy(answered) => (Application, Confidence::Medium, Some(answered)),
        _ => (Unknown, Confidence::Low, None),
    }
}

// ---- facts ----

/// A front probe answered with an error status.
struct Answer<'a> {
    probe: &'a Probe,
    status: u16,
    /// The reason phrase, or empty.
    reason: &'a str,
    fp: Fingerprint,
    /// (the layer that made it, how sure, the layer that relayed it).
    author: (Layer, Confidence, Option<Layer>),
    /// The probe's status, header and body items.
    evidence: Vec<String>,
}

/// A 5xx other than 502, 504 and Cloudflare's own.
struct ServerError<'a>(Answer<'a>);

/// A 4xx.
struct ClientError<'a>(Answer<'a>);

// ---- text ----

/// What the status means when `layer` made it.
fn meaning(status: u16, layer: Layer) -> &'static str {
    match (status, layer) {
        (503, Layer::Nginx) => {
            "nginx answers 503 itself when limit_req or limit_conn rejects a request (their \
             default status) or when its configuration says `return 503` (a maintenance switch)"
        }
        (503, Layer::AwsAlb) => {
            "an ALB answers 503 when the target group of the matched rule has no registered \
             targets"
        }
        (503, Layer::Cloudflare) => {
            "Cloudflare's edge answered 503 itself: the service is unavailable at the edge"
        }
        (503, _) => {
            "503 means the server is unavailable: overloaded, in maintenance, or a proxy or load \
             balancer with no healthy upstream behind it"
        }
        (500, Layer::Application | Layer::Unknown) => {
            "500 is the application's own error: an unhandled exception or a failing dependency \
             (a database, another service); its own log names it"
        }
        (500, Layer::Nginx) => {
            "nginx made a 500 itself: an internal error such as a rewrite or internal-redirect \
             cycle or a failed file access; its error.log names it"
        }
        (500, _) => "the proxy made a 500 itself: an internal error of that layer",
        (501, _) => "501 means the server does not implement the request method",
        (505, _) => "505 means the server refused the HTTP version of the request",
        (507, _) => "507 means the server has no storage left to complete the request",
        (508, _) => "508 means the server detected an infinite loop while processing the request",
        _ => "a 5xx is a server-side error: the server failed to answer the request",
    }
}

impl Answer<'_> {
    /// `503 Service Unavailable`, or the bare status.
    fn status_text(&self) -> String {
        format!("{} {}", self.status, self.reason).trim().to_owned()
    }
}

impl ServerError<'_> {
    /// Who made it, in words.
    fn who(&self) -> String {
        match (self.0.author.0, self.0.author.2) {
            (Layer::Unknown, Some(relay)) => {
                format!("the origin behind {}", relay.display_name())
            }
            (Layer::Unknown, None) => match server_header(self.0.probe) {
                Some(server) => {
                    format!("a server cloud502 does not recognise (Server: {server})")
                }
                None => "a server cloud502 could not identify".to_owned(),
            },
            (Layer::Application, Some(relay)) => {
                format!("the application behind {}", relay.display_name())
            }
            (l, Some(relay)) => {
                format!("{} (relayed by {})", l.display_name(), relay.display_name())
            }
            (l, None) => l.display_name().to_owned(),
        }
    }

    fn title(&self) -> String {
        let (url, status_text) = (&self.0.probe.url, self.0.status_text());
        match (self.0.author.0, self.0.author.2) {
            (Layer::Unknown, None) => format!("{url} answered {status_text}"),
            _ => format!("{} answered {status_text} for {url}", self.who()),
        }
    }

    fn explanation(&self) -> String {
        let (layer, _, via) = self.0.author;
        let who_note = match (layer, via) {
            (Layer::Unknown, None) => format!(" It came from {}.", self.who()),
            _ => String::new(),
        };
        let relay_note = match via {
            Some(relay) => format!(
                " {} passed the response through: its body is not {}'s own error page, so look \
                 one layer further in.",
                relay.display_name(),
                relay.display_name()
            ),
            None => String::new(),
        };
        format!(
            "The probe got {}, a server error: not a 502, but the URL is failing. The response \
             shows {}.{who_note} {}.{relay_note}",
            self.0.status_text(),
            observed(&self.0.fp),
            capitalize(meaning(self.0.status, layer))
        )
    }

    fn remediation(&self) -> Vec<Remediation> {
        let (probe, status, layer) = (self.0.probe, self.0.status, self.0.author.0);
        let mut steps = match layer {
            Layer::Nginx => vec![
                check_backend(
                    "Read nginx's error.log at the time of the request: it names why nginx \
                     answered this status (a limit_req/limit_conn rejection, a rewrite cycle, a \
                     missing file)",
                    Some("cloud502 nginx --error-log /var/log/nginx/error.log"),
                ),
                review_config(
                    "Look for `return`, `limit_req`, `limit_conn` and `error_page` in the server \
                     and location blocks that match the probed path",
                    Some("nginx -T | grep -nE 'return|limit_req|limit_conn|error_page'"),
                ),
            ],
            Layer::AwsAlb if status == 503 => vec![check_backend(
                "Check that the target group of the matched listener rule has registered targets",
                Some("aws elbv2 describe-target-health --target-group-arn ARN"),
            )],
            Layer::Cloudflare => vec![check_backend(
                "Read the zone's request records for this status by colo and origin status",
                Some(&cloudflare_command(&probe.host)),
            )],
            _ => vec![check_backend(
                "Read the application's own log at the time of the request: a 5xx it made names \
                 its cause (an exception, a failing database or downstream service)",
                None,
            )],
        };
        if status == 503 {
            steps.push(scale_backend(
                "If the backends are overloaded, add capacity or reduce the load",
                None,
            ));
        }
        steps.push(check_backend(
            "Repeat the probe to see whether the error persists",
            Some(&format!("cloud502 probe {}", probe.url)),
        ));
        steps
    }

    /// The command that inspects the layer that made the response, with nothing left to fill
    /// in: the same commands the 502 rule gives (a plain `cloud502 nginx`, which reads every log
    /// the config names; `--error-log` would replace them).
    fn next_command(&self) -> Option<String> {
        let (probe, layer) = (self.0.probe, self.0.author.0);
        match layer {
            Layer::Nginx => Some(inspect_command(layer, probe, None)),
            Layer::Cloudflare => Some(cloudflare_command(&probe.host)),
            _ => None,
        }
    }
}

impl From<ServerError<'_>> for Finding {
    fn from(f: ServerError<'_>) -> Finding {
        Finding {
            code: FindingCode::HttpServerError,
            severity: Severity::Critical,
            confidence: f.0.author.1,
            layer: Some(f.0.author.0),
            title: f.title(),
            explanation: f.explanation(),
            locations: Vec::new(),
            disproved_by: "The same request answers 2xx when repeated (a transient error), or the \
                           probed path is not the one clients use."
                .to_owned(),
            remediation: f.remediation(),
            next_command: f.next_command(),
            evidence: f.0.evidence,
        }
    }
}

impl ClientError<'_> {
    /// Why the server refused, and the step that gets the probe through.
    fn why_and_fix(&self) -> (&'static str, Remediation) {
        let url = &self.0.probe.url;
        match self.0.status {
            401 | 407 => (
                "the server wants credentials",
                check_backend(
                    "Probe with the credentials a client sends (they are masked in the report)",
                    Some(&format!(
                        "cloud502 probe {url} -H 'Authorization: Bearer TOKEN'"
                    )),
                ),
            ),
            403 => (
                "the server refuses this client: an access rule, a WAF, or missing credentials",
                check_backend(
                    "Probe from an allowed address or with the headers a real client sends (-H)",
                    None,
                ),
            ),
            404 => (
                "the path does not exist on the server that answered; probe a path that does, \
                 such as the health-check path",
                check_backend(
                    "Probe the path clients and health checks use",
                    Some(&format!("cloud502 probe {url}")),
                ),
            ),
            421 => (
                "the server does not serve this host name on this connection (Host or SNI \
                 mismatch)",
                review_config(
                    "Probe the name the server is configured for, keeping the address with --resolve",
                    None,
                ),
            ),
            429 => (
                "the server is rate-limiting this client",
                check_backend("Wait and probe again, or probe from another address", None),
            ),
            400 => (
                "the server could not parse the request (an nginx 400 often means plain HTTP was \
                 sent to its HTTPS port)",
                review_config(
                    "Check the scheme and port of the URL: https:// for a TLS port",
                    None,
                ),
            ),
            _ => (
                "the server refused the request as sent",
                check_backend(
                    "Probe with the method, path and headers a real client uses",
                    None,
                ),
            ),
        }
    }
}

impl From<ClientError<'_>> for Finding {
    fn from(f: ClientError<'_>) -> Finding {
        let (why, fix) = f.why_and_fix();
        let (layer, confidence, _) = f.0.author;
        let status_text = f.0.status_text();
        let who = match layer {
            Layer::Unknown | Layer::Application => "The server".to_owned(),
            l => l.display_name().to_owned(),
        };
        Finding {
            code: FindingCode::HttpClientError,
            severity: Severity::Info,
            confidence,
            layer: Some(layer),
            title: format!(
                "{who} answered {status_text}: the probe did not reach what it meant to test"
            ),
            explanation: format!(
                "The probe got {status_text}, a client error: {why}. This is not a server \
                 failure, but it means this probe says nothing about the backend's health. The \
                 response shows {}.",
                observed(&f.0.fp)
            ),
            locations: Vec::new(),
            disproved_by: "Real clients get the same status on the same path (then it is expected \
                           behaviour, not a problem)."
                .to_owned(),
            remediation: vec![fix],
            next_command: None,
            evidence: f.0.evidence,
        }
    }
}

/// The response's `Server` header, when it names no layer the fingerprint knows.
fn server_header(probe: &Probe) -> Option<String> {
    let http = probe.http.as_ref()?;
    http.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("server"))
        .map(|h| h.value.chars().take(100).collect())
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;

    fn run(status: u16, fp: Fingerprint) -> Vec<Finding> {
        let mut p = probe("http://shop.example.com/checkout");
        p.http = Some(response(status, "body"));
        p.fingerprint = Some(fp);
        run_rule(check, &evidence(p))
    }

    #[test]
    fn every_5xx_but_502_and_504_is_a_critical_finding() {
        for status in [500, 501, 503, 505, 507, 511, 599] {
            let out = run(status, fingerprint(Layer::Unknown, None));
            assert_eq!(out.len(), 1, "{status}");
            assert_eq!(out[0].code, FindingCode::HttpServerError);
            assert_eq!(out[0].severity, Severity::Critical);
            assert!(
                out[0].title.contains(&status.to_string()),
                "{}",
                out[0].title
            );
        }
        assert!(run(502, fingerprint(Layer::Nginx, Some(Layer::Nginx))).is_empty());
        assert!(run(504, fingerprint(Layer::Nginx, Some(Layer::Nginx))).is_empty());
        assert!(run(200, fingerprint(Layer::Nginx, None)).is_empty());
        assert!(run(301, fingerprint(Layer::Nginx, None)).is_empty());
    }

    #[test]
    fn cloudflare_own_statuses_are_left_to_their_rule_unless_someone_else_answered() {
        assert!(run(522, fingerprint(Layer::Cloudflare, None)).is_empty());
        let out = run(522, fingerprint(Layer::Unknown, None));
        assert_eq!(out[0].code, FindingCode::HttpServerError);
    }

    #[test]
    fn the_layer_comes_from_the_page_and_the_header() {
        let out = run(503, fingerprint(Layer::Nginx, Some(Layer::Nginx)));
        assert_eq!(out[0].layer, Some(Layer::Nginx));
        assert_eq!(out[0].confidence, Confidence::High);
        assert!(
            out[0].explanation.contains("limit_req"),
            "{}",
            out[0].explanation
        );
        assert_eq!(
            out[0].next_command.as_deref(),
            Some("cloud502 nginx   # on the nginx host")
        );

        let out = run(503, fingerprint(Layer::AwsAlb, Some(Layer::AwsAlb)));
        assert!(out[0].explanation.contains("no registered targets"));

        let out = run(500, fingerprint(Layer::Nginx, None));
        assert_eq!(out[0].layer, Some(Layer::Application));
        assert!(
            out[0]
                .title
                .starts_with("the application behind nginx answered 500"),
            "{}",
            out[0].title
        );
        assert!(out[0].explanation.contains("application's own error"));
        assert_eq!(out[0].next_command, None);
        for r in &out[0].remediation {
            assert!(!r.command.as_deref().unwrap_or("").contains('<'), "{r:?}");
        }
    }

    #[test]
    fn a_4xx_is_an_info_finding() {
        let out = run(404, fingerprint(Layer::Nginx, Some(Layer::Nginx)));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, FindingCode::HttpClientError);
        assert_eq!(out[0].severity, Severity::Info);
        assert!(
            out[0].title.starts_with("nginx answered 404"),
            "{}",
            out[0].title
        );
    }

    #[test]
    fn cited_evidence_exists() {
        let out = run(500, fingerprint(Layer::Unknown, None));
        assert_eq!(
            out[0].evidence,
            vec!["probe.0.status", "probe.0.header.server", "probe.0.body"]
        );
    }
}
