//! Helpers shared by the providers that call a remote API (Azure, Cloudflare): service messages in
//! one line, transport errors by their innermost cause, and the rule that a bearer token is sent
//! only over https, or plain http on loopback (test servers).

use url::Url;

/// The first non-empty line, trimmed and capped at 300 bytes: service and credential messages can
/// span lines (a troubleshooting link, a CLI's stderr).
pub fn one_line(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.len() > 300 {
        let mut end = 300;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &line[..end])
    } else {
        line.to_owned()
    }
}

/// An error by its innermost cause (HTTP clients' own text is "error sending request for url").
pub fn innermost_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut source = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

/// `raw` (or `default`) as an API endpoint for flag `flag`: https, or plain http only on loopback,
/// so that a bearer token never travels in clear.
pub fn secure_endpoint(flag: &str, given: Option<&str>, default: &str) -> Result<Url, String> {
    let raw = given.unwrap_or(default);
    let url = Url::parse(raw).map_err(|e| format!("{flag} {raw:?} is not a URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(format!(
            "{flag} {raw:?} uses plain http off loopback: the bearer token would travel in clear (use https)"
        )),
        other => Err(format!(
            "{flag} {raw:?} has scheme {other:?} (expected https)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_takes_the_first_line_and_caps_it() {
        assert_eq!(one_line("\n  first \nsecond"), "first");
        let long = "é".repeat(400);
        let cut = one_line(&long);
        assert!(cut.ends_with("...") && cut.len() <= 303, "{}", cut.len());
    }

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        assert!(secure_endpoint("--x", Some("https://api.example.net"), "").is_ok());
        assert!(secure_endpoint("--x", Some("http://127.0.0.1:9/a"), "").is_ok());
        assert!(secure_endpoint("--x", Some("http://[::1]:9/"), "").is_ok());
        assert!(secure_endpoint("--x", Some("http://localhost/"), "").is_ok());
        let e = secure_endpoint("--x", Some("http://api.example.net"), "").unwrap_err();
        assert!(e.contains("plain http off loopback"), "{e}");
        assert!(secure_endpoint("--x", Some("ftp://x"), "").is_err());
        assert!(secure_endpoint("--x", None, "not a url").is_err());
    }
}
