//! Which layer answered, and whose error page the body is (KB section 5).
//!
//! Header signals name the answering layer: `Server` (`nginx[/ver]`, `awselb/2.0`,
//! `Microsoft-Azure-Application-Gateway/v2`, `cloudflare`), `CF-RAY` and `cf-error-type`.
//! Cloudflare is the outermost layer whenever `CF-RAY` is present. Body signals name the page's
//! author: the `<hr><center>NAME</center>` footer of nginx-style pages, the ALB's footerless page
//! (Obs: 122 bytes for 502), Cloudflare's branded page (`<title>host | 502: Bad gateway</title>`).

use cloud502_model::{CloudflarePage, Fingerprint, Header, Layer, Signal};

/// How much of the body is examined.
const BODY_SCAN_LIMIT: usize = 64 * 1024;

/// Classify a response. Pure: status, headers and the first bytes of the body in, layer out.
pub fn fingerprint(status: u16, headers: &[Header], body: &[u8]) -> Fingerprint {
    let mut signals = Vec::new();
    let header = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.trim())
    };

    let mut server_layer = None;
    if let Some(server) = header("server") {
        if let Some(layer) = server_layer_of(server) {
            server_layer = Some(layer);
            signals.push(signal("header", "Server", server, layer));
        }
    }
    let mut cloudflare = server_layer == Some(Layer::Cloudflare);
    if let Some(ray) = header("cf-ray") {
        let name = if is_cf_ray(ray) {
            "CF-RAY"
        } else {
            "CF-RAY (unusual format)"
        };
        signals.push(signal("header", name, ray, Layer::Cloudflare));
        cloudflare = true;
    }
    let cf_error_type = header("cf-error-type").map(str::to_owned);
    if let Some(t) = &cf_error_type {
        signals.push(signal("header", "cf-error-type", t, Layer::Cloudflare));
        cloudflare = true;
    }
    let answered_by = if cloudflare {
        Layer::Cloudflare
    } else {
        server_layer.unwrap_or(Layer::Unknown)
    };

    let body = &body[..body.len().min(BODY_SCAN_LIMIT)];
    let text = String::from_utf8_lossy(body);
    let (error_page_by, cloudflare_page) = match page_author(status, &text) {
        Some((layer, page, name, value)) => {
            signals.push(signal("body", name, &value, layer));
            (Some(layer), page)
        }
        None => (None, None),
    };

    Fingerprint {
        answered_by,
        error_page_by,
        cloudflare_page,
        cf_error_type,
        signals,
    }
}

fn signal(source: &str, name: &str, value: &str, layer: Layer) -> Signal {
    Signal {
        source: source.to_owned(),
        name: name.to_owned(),
        value: sanitize(value),
        layer,
    }
}

/// Keep evidence printable: no control characters from a remote body reach a terminal.
fn sanitize(s: &str) -> String {
    let cut: String = s.chars().take(200).collect();
    cut.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn server_layer_of(server: &str) -> Option<Layer> {
    let lower = server.to_ascii_lowercase();
    if lower == "nginx" || lower.starts_with("nginx/") {
        Some(Layer::Nginx)
    } else if lower.starts_with("awselb") {
        Some(Layer::AwsAlb)
    } else if lower.starts_with("microsoft-azure-application-gateway") {
        Some(Layer::AzureAppgw)
    } else if lower == "cloudflare" {
        Some(Layer::Cloudflare)
    } else {
        None
    }
}

/// `<16 hex>-<COLO>` (KB 5); other shapes still count as Cloudflare, flagged as unusual.
fn is_cf_ray(value: &str) -> bool {
    match value.split_once('-') {
        Some((id, colo)) => {
            id.len() == 16
                && id.bytes().all(|b| b.is_ascii_hexdigit())
                && (3..=4).contains(&colo.len())
                && colo.bytes().all(|b| b.is_ascii_uppercase())
        }
        None => false,
    }
}

type PageAuthor = (Layer, Option<CloudflarePage>, &'static str, String);

fn page_author(status: u16, text: &str) -> Option<PageAuthor> {
    if let Some(footer) = footer(text) {
        let lower = footer.to_ascii_lowercase();
        let layer = if lower == "nginx" || lower.starts_with("nginx/") {
            Some((Layer::Nginx, None))
        } else if lower == "cloudflare" {
            Some((Layer::Cloudflare, Some(CloudflarePage::Plain)))
        } else if lower.starts_with("microsoft-azure-application-gateway") {
            Some((Layer::AzureAppgw, None))
        } else {
            None
        };
        if let Some((layer, page)) = layer {
            return Some((
                layer,
                page,
                "footer",
                format!("<hr><center>{footer}</center>"),
            ));
        }
    }
    if let Some(title) = cloudflare_branded_title(text) {
        return Some((
            Layer::Cloudflare,
            Some(CloudflarePage::Branded),
            "branded page",
            title,
        ));
    }
    if text.contains("Cloudflare Ray ID") || text.contains("cf-error-details") {
        return Some((
            Layer::Cloudflare,
            Some(CloudflarePage::Branded),
            "branded page",
            "Cloudflare Ray ID".to_owned(),
        ));
    }
    if is_alb_page(status, text) {
        return Some((
            Layer::AwsAlb,
            None,
            "alb page",
            format!(
                "nginx-style {status} page without footer, {} bytes",
                text.len()
            ),
        ));
    }
    // Application Gateway v1-era text (KB 2.4, [Z1]).
    if text.contains(
        "Web server received an invalid response while acting as a gateway or proxy server",
    ) {
        return Some((
            Layer::AzureAppgw,
            None,
            "appgw v1 page",
            "Web server received an invalid response while acting as a gateway or proxy server"
                .to_owned(),
        ));
    }
    None
}

/// The text of the last `<hr><center>..</center>` of an nginx-style page.
fn footer(text: &str) -> Option<&str> {
    let start = text.rfind("<hr><center>")? + "<hr><center>".len();
    let rest = &text[start..];
    let end = rest.find("</center>")?;
    let footer = rest[..end].trim();
    (!footer.is_empty() && footer.len() <= 100).then_some(footer)
}

/// `<title>host | 502: Bad gateway</title>`: Cloudflare's branded error page.
fn cloudflare_branded_title(text: &str) -> Option<String> {
    let start = text.find("<title>")? + "<title>".len();
    let end = start + text[start..].find("</title>")?;
    let title = text[start..end].trim();
    let (_, tail) = title.rsplit_once(" | ")?;
    let (code, _) = tail.split_once(": ")?;
    (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit())).then(|| title.to_owned())
}

/// The ALB's page: nginx's template for this status without the `<hr><center>` footer (Obs).
fn is_alb_page(status: u16, text: &str) -> bool {
    let heading = format!("<center><h1>{status} ");
    text.len() <= 512
        && text.contains("<html>")
        && text.contains(&heading)
        && text.contains(&format!("<title>{status} "))
        && !text.contains("<hr>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    const NGINX: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
    const ALB: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
    const APPGW: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>Microsoft-Azure-Application-Gateway/v2</center></body></html>";

    #[test]
    fn alb_page_is_the_documented_122_bytes() {
        assert_eq!(ALB.len(), 122);
    }

    #[test]
    fn each_layer_is_named_from_header_and_page() {
        let cases = [
            (h("Server", "nginx/1.22.1"), NGINX, Layer::Nginx),
            (h("server", "awselb/2.0"), ALB, Layer::AwsAlb),
            (
                h("Server", "Microsoft-Azure-Application-Gateway/v2"),
                APPGW,
                Layer::AzureAppgw,
            ),
        ];
        for (header, body, layer) in cases {
            let fp = fingerprint(502, &[header], body.as_bytes());
            assert_eq!(fp.answered_by, layer);
            assert_eq!(fp.error_page_by, Some(layer));
            assert_eq!(fp.signals.len(), 2, "{:?}", fp.signals);
        }
    }

    #[test]
    fn cloudflare_is_outermost_and_its_page_style_is_read() {
        let plain = NGINX.replace("nginx/1.22.1", "cloudflare");
        let fp = fingerprint(
            502,
            &[
                h("Server", "cloudflare"),
                h("CF-RAY", "8f1d2c3b4a596877-AMS"),
            ],
            plain.as_bytes(),
        );
        assert_eq!(fp.answered_by, Layer::Cloudflare);
        assert_eq!(fp.cloudflare_page, Some(CloudflarePage::Plain));
        assert_eq!(fp.signals[1].name, "CF-RAY");

        let branded = "<!DOCTYPE html><html><head><title>shop.example.com | 502: Bad gateway</title></head><body>Error code 502 ... Cloudflare Ray ID: 8f1d2c3b4a596877</body></html>";
        // An nginx Server header under CF-RAY: the origin's header, Cloudflare still outermost.
        let fp = fingerprint(
            502,
            &[h("Server", "nginx"), h("cf-ray", "x")],
            branded.as_bytes(),
        );
        assert_eq!(fp.answered_by, Layer::Cloudflare);
        assert_eq!(fp.cloudflare_page, Some(CloudflarePage::Branded));
        assert_eq!(fp.signals[1].name, "CF-RAY (unusual format)");
    }

    #[test]
    fn unknown_server_and_app_body_name_nothing() {
        let fp = fingerprint(502, &[h("Server", "gunicorn")], b"{\"error\":\"db down\"}");
        assert_eq!(fp.answered_by, Layer::Unknown);
        assert_eq!(fp.error_page_by, None);
        assert!(fp.signals.is_empty());
    }

    #[test]
    fn control_characters_never_reach_signals() {
        let fp = fingerprint(502, &[], b"<hr><center>nginx\x1b[31m</center>");
        // Not an nginx footer once it carries junk, and nothing raw is kept either way.
        assert!(fp.signals.iter().all(|s| !s.value.contains('\x1b')));
    }
}
