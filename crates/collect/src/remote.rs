//! Helpers shared by the providers that call a remote API (Azure, Cloudflare): service messages in
//! one line, transport errors by their innermost cause, and the rule that a bearer token is sent
//! only over https, or plain http on loopback (test servers). Also which addresses cloud502 may
//! probe: one classification for the nginx provider's upstreams and Cloudflare's origin checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Url;

/// What an address is, for deciding whether to send it a probe. Addresses come from files and API
/// answers that may describe another network (an `nginx -T` dump from another machine, a zone's
/// DNS records), so cloud502 must not be turned into a scanner of the network it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A routable public address.
    Public,
    /// Loopback, RFC 1918, shared (CGNAT), unspecified, unique or site local, in any IPv6 spelling
    /// (v4-mapped, v4-compatible, NAT64): probed only when the user allows private addresses.
    Private,
    /// Link-local and cloud instance-metadata addresses (169.254.0.0/16, fe80::/10,
    /// fd00:ec2::254), and multicast: never probed, whatever the flags. A metadata service hands
    /// out credentials to whoever asks from the instance.
    Forbidden,
}

/// The class of `ip`; see [`AddressClass`].
pub fn classify_address(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(v4: Ipv4Addr) -> AddressClass {
    let [a, b, ..] = v4.octets();
    if v4.is_link_local() || v4.is_multicast() {
        AddressClass::Forbidden
    } else if v4.is_loopback()
        || v4.is_private()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
    // shared address space 100.64.0.0/10
    {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

/// AWS's IPv6 instance-metadata address.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

fn classify_v6(v6: Ipv6Addr) -> AddressClass {
    let s = v6.segments();
    if v6 == AWS_METADATA_V6 || (s[0] & 0xffc0) == 0xfe80 || v6.is_multicast() {
        return AddressClass::Forbidden;
    }
    if v6.is_loopback() || v6.is_unspecified() {
        return AddressClass::Private;
    }
    // IPv4 in IPv6 clothing: v4-mapped ::ffff:a.b.c.d, v4-compatible ::a.b.c.d (deprecated, still
    // routed to the IPv4 address by some stacks), and NAT64 64:ff9b::/96 (RFC 6052) and
    // 64:ff9b:1::/48 (RFC 8215) whose last 32 bits are the IPv4 address reached.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return classify_v4(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        // Local-use NAT64 translates into the operator's own network.
        return match classify_v4(embedded(s[6], s[7])) {
            AddressClass::Forbidden => AddressClass::Forbidden,
            _ => AddressClass::Private,
        };
    }
    // Unique local fc00::/7, and site-local fec0::/10 (deprecated, still routed privately).
    if (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfec0 {
        return AddressClass::Private;
    }
    AddressClass::Public
}

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

/// An error with its causes on one line, never a `Debug` dump: each level's own message, joined
/// with `: `, a level dropped when the one before already quotes it (SDK wrappers often do).
/// E.g. `failed to load IMDS session token: tcp connect error: Connection refused (os error 111)`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(cur) = next {
        let text = one_line(&cur.to_string());
        match parts.last_mut() {
            _ if text.is_empty() => {}
            Some(last) if last.contains(&text) => {}
            // The cause repeats its wrapper and says more: keep the longer one.
            Some(last) if text.contains(last.as_str()) => *last = text,
            _ => parts.push(text),
        }
        next = cur.source();
    }
    one_line(&parts.join(": "))
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
    fn error_chains_are_one_line_without_repeats() {
        #[derive(Debug)]
        struct Wrap(&'static str, Option<std::io::Error>);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_ref().map(|e| e as _)
            }
        }
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused\nmore");
        let e = Wrap("dispatch failure", Some(refused));
        assert_eq!(error_chain(&e), "dispatch failure: refused");
        let quoted = Wrap("io: refused", Some(std::io::Error::other("refused")));
        assert_eq!(error_chain(&quoted), "io: refused");
        assert!(!error_chain(&e).contains('{'));
    }

    #[test]
    fn addresses_are_classified_in_every_spelling() {
        use AddressClass::{Forbidden, Private, Public};
        let table = [
            // Link-local and instance metadata: never probed.
            ("169.254.169.254", Forbidden),
            ("169.254.0.1", Forbidden),
            ("fe80::1", Forbidden),
            ("febf::1", Forbidden),
            ("fd00:ec2::254", Forbidden),
            ("::ffff:169.254.169.254", Forbidden),
            ("::169.254.169.254", Forbidden),
            ("64:ff9b::169.254.169.254", Forbidden),
            ("224.0.0.1", Forbidden),
            ("ff02::1", Forbidden),
            // Private, loopback and friends: only with --allow-private.
            ("127.0.0.1", Private),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", Private),
            ("0.0.0.0", Private),
            ("255.255.255.255", Private),
            ("::1", Private),
            ("::", Private),
            ("fd00::1", Private),
            ("fd00:ec2::253", Private),
            ("fc00::1", Private),
            ("fec0::1", Private),
            ("feff::1", Private),
            ("::127.0.0.1", Private),
            ("::ffff:127.0.0.1", Private),
            ("::ffff:10.0.0.1", Private),
            ("64:ff9b::10.0.0.1", Private),
            ("64:ff9b::127.0.0.1", Private),
            ("64:ff9b:1::8.8.8.8", Private),
            // Public.
            ("203.0.113.10", Public),
            ("172.32.0.1", Public),
            ("172.64.0.1", Public),
            ("100.128.0.1", Public),
            ("8.8.8.8", Public),
            ("2606:4700::1111", Public),
            ("::ffff:8.8.8.8", Public),
            ("64:ff9b::8.8.8.8", Public),
            ("fe7f::1", Public),
        ];
        for (addr, want) in table {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(classify_address(ip), want, "{addr}");
        }
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
