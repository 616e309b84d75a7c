//! `cloud502 probe` names the right layer for each layer's documented 502 fingerprint (KB 5),
//! served byte for byte by a server on loopback, and ranks the right finding first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::server::{Behaviour, response, start};
use cloud502_e2e::{answered_by, probe, top_code};

const NGINX_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
/// KB 1.8: nginx's template without the footer; 122 bytes.
const ALB_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
/// KB 2.4.
const APPGW_PAGE: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>Microsoft-Azure-Application-Gateway/v2</center></body></html>";
/// KB 3.3: the edge's own page is plain, with a `cloudflare` footer.
const CLOUDFLARE_PLAIN: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";
const CF_RAY: &str = "8f1d2c3b4a596877-AMS";

fn branded(host: &str, code: u16, text: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html class=\"no-js\" lang=\"en-US\">\n<head>\n<title>{host} | {code}: {text}</title>\n\
         <meta charset=\"UTF-8\" />\n</head>\n<body>\n<div id=\"cf-wrapper\"><div id=\"cf-error-details\">\n\
         <h1><span>{text}</span> <span>Error code {code}</span></h1>\n\
         <p>Visit <a href=\"https://www.cloudflare.com/\">cloudflare.com</a> for more information.</p>\n\
         <span>Cloudflare Ray ID: <strong>8f1d2c3b4a596877</strong></span>\n</div></div>\n</body>\n</html>\n"
    )
}

fn serve(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    start(Behaviour::Respond(response(status, headers, body))).url()
}

#[test]
fn nginx_page_is_named_nginx_generated() {
    let url = serve(
        "502 Bad Gateway",
        &[("Server", "nginx/1.22.1"), ("Content-Type", "text/html")],
        NGINX_PAGE,
    );
    let (run, report) = probe(&url, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(answered_by(&report), "nginx");
    assert_eq!(top_code(&report), "nginx-502");
    assert_eq!(report["findings"][0]["layer"], "nginx");
    assert_eq!(
        report["findings"][0]["title"],
        "nginx generated this 502: its upstream failed"
    );
    // no --error-log: that would replace the logs nginx's config names with one file
    assert_eq!(
        report["findings"][0]["next_command"],
        "cloud502 nginx   # on the nginx host"
    );
}

#[test]
fn alb_page_is_named_alb_generated() {
    assert_eq!(ALB_PAGE.len(), 122);
    let url = serve(
        "502 Bad Gateway",
        &[
            ("Server", "awselb/2.0"),
            ("Date", "Sat, 21 Nov 2026 10:00:00 GMT"),
            ("Content-Type", "text/html"),
        ],
        ALB_PAGE,
    );
    let (_, report) = probe(&url, &[]);
    assert_eq!(answered_by(&report), "aws-alb");
    assert_eq!(top_code(&report), "alb-502");
    assert_eq!(report["findings"][0]["confidence"], "high");
    // no placeholder: the address the probe connected to finds the load balancer
    let next = report["findings"][0]["next_command"].as_str().unwrap();
    assert!(
        next.starts_with("aws ec2 describe-network-interfaces")
            && next.contains("Values=127.0.0.1"),
        "{next}"
    );
    assert_eq!(report["probes"][0]["http"]["body_bytes"], 122);
}

#[test]
fn alb_without_server_header_is_still_named_from_its_page() {
    // routing.http.response.server.enabled=false removes the Server header (KB 0.5).
    let url = serve(
        "502 Bad Gateway",
        &[("Content-Type", "text/html")],
        ALB_PAGE,
    );
    let (_, report) = probe(&url, &[]);
    assert_eq!(answered_by(&report), "unknown");
    assert_eq!(top_code(&report), "alb-502");
    assert_eq!(report["findings"][0]["confidence"], "medium");
}

#[test]
fn appgw_page_is_named_appgw_generated() {
    let url = serve(
        "502 Bad Gateway",
        &[
            ("Server", "Microsoft-Azure-Application-Gateway/v2"),
            ("Content-Type", "text/html"),
        ],
        APPGW_PAGE,
    );
    let (_, report) = probe(&url, &[]);
    assert_eq!(answered_by(&report), "azure-appgw");
    assert_eq!(top_code(&report), "appgw-502");
    assert_eq!(report["summary"]["layer"], "azure-appgw");
    let next = report["findings"][0]["next_command"].as_str().unwrap();
    assert!(next.contains("ipAddress=='127.0.0.1'"), "{next}");
}

#[test]
fn cloudflare_plain_page_is_the_edge() {
    let url = serve(
        "502 Bad Gateway",
        &[
            ("Server", "cloudflare"),
            ("CF-RAY", CF_RAY),
            ("Content-Type", "text/html"),
        ],
        CLOUDFLARE_PLAIN,
    );
    let (_, report) = probe(&url, &[]);
    assert_eq!(answered_by(&report), "cloudflare");
    assert_eq!(
        report["probes"][0]["fingerprint"]["cloudflare_page"],
        "plain"
    );
    assert_eq!(top_code(&report), "cloudflare-edge-502");
    let title = report["findings"][0]["title"].as_str().unwrap();
    assert!(
        title.starts_with("Cloudflare's edge generated this 502"),
        "{title}"
    );
}

#[test]
fn cloudflare_error_type_header_marks_an_edge_error() {
    let url = serve(
        "502 Bad Gateway",
        &[
            ("Server", "cloudflare"),
            ("CF-RAY", CF_RAY),
            ("cf-error-type", "502"),
        ],
        "bad gateway",
    );
    let (_, report) = probe(&url, &[]);
    assert_eq!(report["probes"][0]["fingerprint"]["cf_error_type"], "502");
    assert_eq!(top_code(&report), "cloudflare-edge-502");
    assert_eq!(report["findings"][0]["confidence"], "medium");
}

#[test]
fn cloudflare_branded_502_is_the_origin_relayed() {
    let url = serve(
        "502 Bad Gateway",
        &[
            ("Server", "cloudflare"),
            ("CF-RAY", CF_RAY),
            ("Content-Type", "text/html; charset=UTF-8"),
        ],
        &branded("app.test", 502, "Bad gateway"),
    );
    let (_, report) = probe(&url, &[]);
    assert_eq!(answered_by(&report), "cloudflare");
    assert_eq!(
        report["probes"][0]["fingerprint"]["cloudflare_page"],
        "branded"
    );
    assert_eq!(top_code(&report), "cloudflare-origin-502");
    let next = report["findings"][0]["next_command"].as_str().unwrap();
    // no placeholder for the origin's address: from a bare address, its reverse name
    assert!(next.starts_with("dig +short -x 127.0.0.1"), "{next}");
}

#[test]
fn cloudflare_52x_codes_each_get_their_finding() {
    for (code, text, expected) in [
        (
            520,
            "Web server is returning an unknown error",
            "cloudflare-520-unknown-response",
        ),
        (521, "Web server is down", "cloudflare-521-origin-refused"),
        (522, "Connection timed out", "cloudflare-522-origin-timeout"),
        (
            523,
            "Origin is unreachable",
            "cloudflare-523-origin-unreachable",
        ),
        (524, "A timeout occurred", "cloudflare-524-origin-slow"),
        (
            525,
            "SSL handshake failed",
            "cloudflare-525-origin-tls-handshake",
        ),
        (
            526,
            "Invalid SSL certificate",
            "cloudflare-526-origin-invalid-cert",
        ),
        (
            530,
            "Origin DNS error",
            "cloudflare-530-origin-unresolvable",
        ),
    ] {
        let url = serve(
            &format!("{code} <none>"),
            &[
                ("Server", "cloudflare"),
                ("CF-RAY", CF_RAY),
                ("cf-error-type", &code.to_string()),
            ],
            &branded("app.test", code, text),
        );
        let (run, report) = probe(&url, &[]);
        assert_eq!(run.code, 1);
        assert_eq!(report["probes"][0]["http"]["status"], code);
        assert_eq!(top_code(&report), expected, "status {code}");
        assert_eq!(report["findings"][0]["layer"], "cloudflare");
    }
}

#[test]
fn an_application_502_behind_an_unknown_server_is_unknown_layer() {
    let url = serve(
        "502 Bad Gateway",
        &[("Server", "gunicorn"), ("Content-Type", "application/json")],
        "{\"error\":\"upstream database unavailable\"}",
    );
    let (_, report) = probe(&url, &[]);
    assert_eq!(answered_by(&report), "unknown");
    assert_eq!(top_code(&report), "unknown-layer-502");
    assert_eq!(report["findings"][0]["confidence"], "low");
}

#[test]
fn a_504_is_told_apart_from_a_502() {
    let page = NGINX_PAGE.replace("502 Bad Gateway", "504 Gateway Time-out");
    let url = serve("504 Gateway Time-out", &[("Server", "nginx/1.22.1")], &page);
    let (_, report) = probe(&url, &[]);
    assert_eq!(top_code(&report), "gateway-timeout-504");
    assert_eq!(report["findings"][0]["layer"], "nginx");
}

#[test]
fn a_healthy_200_has_no_findings_and_exits_zero() {
    let url = serve("200 OK", &[("Server", "nginx/1.22.1")], "hello");
    let (run, report) = probe(&url, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(report["verdict"], "healthy");
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    assert_eq!(answered_by(&report), "nginx");
    // A successful body is application data: counted, not kept.
    assert_eq!(report["probes"][0]["http"]["body_excerpt"], "");
    assert_eq!(report["probes"][0]["http"]["body_bytes"], 5);
    for key in ["connect_ms", "first_byte_ms", "total_ms"] {
        assert!(
            report["probes"][0]["timings"][key].as_f64().unwrap() >= 0.0,
            "{key}"
        );
    }
}
