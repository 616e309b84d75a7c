//! Who made the 502: the layer that answered, or a layer below it (KB section 5, 3.3, 1.8, 2.4, 4.6).
//!
//! The answering layer comes from the headers (`Server`, `CF-RAY`, `cf-error-type`); the author of
//! the page from the body (the `<hr><center>..</center>` footer, the ALB's footerless page,
//! Cloudflare's branded page). Same layer on both sides: it generated the 502. Different: it
//! relayed a 502 from below. A body no proxy page matches: the application behind made it.

use super::{Rule, cite, front_probes, zone_guess};
use crate::remediation::{adjust_timeouts, check_backend, restart, review_config};
use cloud502_model::{
    CloudflarePage, Confidence, Evidence, Finding, FindingCode, Fingerprint, Layer, Probe,
    Remediation, Severity,
};

pub(super) const RULE: Rule = Rule {
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
        Application | Unknown => match fp.error_page_by {
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
        let ids = cite(evidence, probe, &["status", "header", "body"]);
        out.push(finding(probe, fp, attribute(fp), ids));
    }
}

/// The signals, quoted, for explanations.
fn observed(fp: &Fingerprint) -> String {
    if fp.signals.is_empty() {
        return "no identifying header or error page".to_owned();
    }
    fp.signals
        .iter()
        .map(|s| format!("{} {} `{}`", s.source, s.name, s.value))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `cloud502` command that inspects `layer` itself.
fn inspect_command(layer: Layer, probe: &Probe) -> String {
    match layer {
        Layer::Nginx => "cloud502 nginx --error-log /var/log/nginx/error.log".to_owned(),
        Layer::AwsAlb => "cloud502 aws --tg <target-group-arn>".to_owned(),
        Layer::AzureAppgw => "cloud502 azure -g <resource-group> --gw <gateway-name>".to_owned(),
        Layer::Cloudflare => format!("cloud502 cloudflare --zone {}", zone_guess(&probe.host)),
        Layer::Application | Layer::Unknown => {
            "cloud502 probe http://<upstream-host>:<port>/".to_owned()
        }
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
        Layer::Application | Layer::Unknown => vec![
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

fn finding(probe: &Probe, fp: &Fingerprint, author: Author, evidence: Vec<String>) -> Finding {
    let seen = observed(fp);
    let (code, layer, confidence, title, explanation, disproved_by, remediation, next) =
        match author {
            Author::Generated(layer, confidence) => {
                let (code, why) = match layer {
                    Layer::Nginx => (
                        FindingCode::Nginx502,
                        "nginx answers 502 itself when the request to its upstream fails: \
                         connection refused, reset, premature close, an invalid or too big \
                         header, no live upstreams or an unresolvable name (KB 4.2, 4.7)",
                    ),
                    Layer::AwsAlb => (
                        FindingCode::Alb502,
                        "the ALB answers 502 itself when a target refuses or resets the \
                         connection, closes a kept-alive connection while a request is on it, \
                         sends a malformed response or fails the TLS handshake (KB 1.9)",
                    ),
                    _ => (
                        FindingCode::Appgw502,
                        "Application Gateway answers 502 itself when no backend is healthy or \
                         reachable: empty pool, failing probes, NSG/UDR blocks, backend TLS \
                         problems or a backend that closed the connection (KB 2.5)",
                    ),
                };
                let caveat = if confidence < Confidence::High {
                    " The Server header did not say so (it may have been removed or rewritten), \
                     so the error page alone names the layer."
                } else {
                    ""
                };
                (
                    code,
                    layer,
                    confidence,
                    format!(
                        "{} generated this 502: its upstream failed",
                        layer.display_name()
                    ),
                    format!(
                        "The response shows {seen}. The body is {}'s own error page, so {} made \
                         this 502 rather than relaying it: {why}.{caveat}",
                        layer.display_name(),
                        layer.display_name()
                    ),
                    format!(
                        "{}'s logs show no failed upstream request at that time, or a layer in \
                         front of it rewrote the response so that it only looks like {}'s page.",
                        layer.display_name(),
                        layer.display_name()
                    ),
                    remediation_for(layer, probe),
                    inspect_command(layer, probe),
                )
            }
            Author::Relayed { by, from } => (
                FindingCode::Relayed502,
                from,
                if from == Layer::Application {
                    Confidence::Medium
                } else {
                    Confidence::High
                },
                format!(
                    "{} relayed a 502 generated by {}",
                    by.display_name(),
                    from.display_name()
                ),
                format!(
                    "The response shows {seen}. {} answered, but the body is {}, so {} passed \
                     through a 502 made one layer further in: look there, not at {}.",
                    by.display_name(),
                    if from == Layer::Application {
                        "not any proxy's built-in error page".to_owned()
                    } else {
                        format!("{}'s error page", from.display_name())
                    },
                    by.display_name(),
                    by.display_name()
                ),
                format!(
                    "{} has a custom error page configured for 502 that looks like this body, or \
                     the layer below answers 2xx when probed directly.",
                    by.display_name()
                ),
                remediation_for(from, probe),
                inspect_command(from, probe),
            ),
            Author::CloudflareEdge(confidence) => (
                FindingCode::CloudflareEdge502,
                Layer::Cloudflare,
                confidence,
                "Cloudflare's edge generated this 502: it got no usable response from the origin"
                    .to_owned(),
                format!(
                    "The response shows {seen}. Cloudflare serves its plain (unbranded) page, \
                     or sets cf-error-type, only for errors it generates itself, so the origin's \
                     response never reached the client: often a Content-Length that does not \
                     match a gzip body, or a transient problem in one data centre (KB 3.1, 3.4)."
                ),
                "The origin's logs show a 502 answered at that time (Cloudflare's \
                 OriginResponseStatus would be 502, not 0), or the origin probed directly \
                 returns a malformed response."
                    .to_owned(),
                remediation_for(Layer::Cloudflare, probe),
                inspect_command(Layer::Cloudflare, probe),
            ),
            Author::CloudflareOrigin(from, confidence) => (
                FindingCode::CloudflareOrigin502,
                from.unwrap_or(Layer::Unknown),
                confidence,
                match from {
                    Some(from) => format!(
                        "Cloudflare relayed a 502 from the origin ({} generated it)",
                        from.display_name()
                    ),
                    None => {
                        "Cloudflare relayed a 502 from the origin: look at the origin".to_owned()
                    }
                },
                format!(
                    "The response shows {seen}. Cloudflare replaces an origin's 502 with its \
                     branded page (\"| 502: Bad gateway\"), so the origin answered 502 and \
                     Cloudflare passed it on; the next layer in (load balancer or nginx at the \
                     origin) made it (KB 3.3)."
                ),
                "The origin, probed directly with the same Host header, answers 2xx, or \
                 Cloudflare's logs show OriginResponseStatus 0 for these requests."
                    .to_owned(),
                vec![check_backend(
                    "Probe the origin directly with the same Host header and SNI to see which \
                     layer there answers the 502",
                    Some(&origin_probe_command(probe)),
                )],
                origin_probe_command(probe),
            ),
            Author::Unknown => (
                FindingCode::UnknownLayer502,
                Layer::Unknown,
                Confidence::Low,
                "A 502 came from a layer cloud502 could not identify".to_owned(),
                format!(
                    "The response shows {seen}. No Server header, CF-RAY or error-page footer \
                     matched nginx, AWS ALB, Azure Application Gateway or Cloudflare, so the \
                     layer that made the 502 cannot be named from the response alone (KB 5)."
                ),
                "A direct request to each hop shows which one answers 502.".to_owned(),
                vec![
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
                origin_probe_command(probe),
            ),
        };
    Finding {
        code,
        severity: Severity::Critical,
        confidence,
        layer: Some(layer),
        title,
        explanation,
        evidence,
        locations: Vec::new(),
        disproved_by,
        remediation,
        next_command: Some(next),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

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
        assert_eq!(
            out[0].next_command.as_deref(),
            Some("cloud502 nginx --error-log /var/log/nginx/error.log")
        );
        let app = run(fingerprint(Layer::Nginx, None), 502);
        assert_eq!(app[0].code, FindingCode::Relayed502);
        assert_eq!(app[0].layer, Some(Layer::Application));
    }

    #[test]
    fn cloudflare_branded_is_origin_plain_is_edge() {
        let mut fp = fingerprint(Layer::Cloudflare, Some(Layer::Cloudflare));
        fp.cloudflare_page = Some(CloudflarePage::Branded);
        let out = run(fp.clone(), 502);
        assert_eq!(out[0].code, FindingCode::CloudflareOrigin502);
        assert_eq!(
            out[0].next_command.as_deref(),
            Some(
                "cloud502 probe https://shop.example.com/checkout \
                 --resolve shop.example.com:443:<origin-ip>"
            )
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
