//! Plain one-line text for TLS and connection errors: what a person reads in a report or on
//! stderr. rustls and webpki errors print as Rust values (`Other(OtherError(CaUsedAsEndEntity))`),
//! so each one the probe can meet is named here in words, and anything else is reduced to the
//! name of its variant, never a `Debug` dump of a value.

use std::error::Error as StdError;

/// A TLS error in words.
pub(crate) fn tls_error(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => certificate_error(c),
        E::AlertReceived(alert) => alert_text(*alert),
        E::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "the server's answer is not a TLS handshake (is the port plain HTTP, or another \
             protocol?)"
                .to_owned()
        }
        E::InappropriateHandshakeMessage { .. } => {
            "the server sent an unexpected TLS handshake message".to_owned()
        }
        E::PeerIncompatible(p) => format!(
            "the server's TLS is incompatible with the client's ({}): no protocol version or \
             cipher suite in common",
            variant_words(&format!("{p:?}"))
        ),
        E::PeerMisbehaved(p) => format!(
            "the server broke the TLS protocol ({})",
            variant_words(&format!("{p:?}"))
        ),
        E::NoApplicationProtocol => {
            "the server supports no application protocol the client offered (ALPN http/1.1)"
                .to_owned()
        }
        E::DecryptError => "a TLS record could not be decrypted".to_owned(),
        E::PeerSentOversizedRecord => "the server sent an oversized TLS record".to_owned(),
        E::HandshakeNotComplete => "the TLS handshake did not complete".to_owned(),
        E::UnsupportedNameType => "the TLS server name is of an unsupported type".to_owned(),
        E::General(s) => format!("TLS error: {s}"),
        other => format!("TLS error ({})", variant_words(&format!("{other:?}"))),
    }
}

/// A certificate verification error in words.
pub(crate) fn certificate_error(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    let text = match e {
        C::BadEncoding => "the server's certificate is malformed",
        C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet"
        }
        C::Revoked => "the server's certificate has been revoked",
        C::UnhandledCriticalExtension => {
            "the server's certificate has a critical extension the client does not support"
        }
        C::UnknownIssuer => {
            "the server's certificate is not signed by a trusted authority (unknown issuer: \
             self-signed, a private CA, or a missing intermediate)"
        }
        C::UnknownRevocationStatus => {
            "the revocation status of the server's certificate is unknown"
        }
        C::BadSignature => "the signature on the server's certificate does not verify",
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "the server's certificate does not cover the host name"
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not meant for server authentication (extended key usage)"
        }
        C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the server's certificate is signed with an unsupported algorithm"
        }
        C::Other(other) => return other_certificate_error(other.0.as_ref()),
        other => {
            return format!(
                "the server's certificate was rejected ({})",
                variant_words(&format!("{other:?}"))
            );
        }
    };
    text.to_owned()
}

/// webpki's own errors, which rustls passes through as `Other`.
fn other_certificate_error(e: &(dyn StdError + Send + Sync + 'static)) -> String {
    use webpki::Error as W;
    let Some(w) = e.downcast_ref::<W>() else {
        return "the server's certificate was rejected".to_owned();
    };
    let text = match w {
        W::CaUsedAsEndEntity => "the server presented a CA certificate as its own certificate",
        W::EndEntityUsedAsCa => "the server's chain uses a server (end-entity) certificate as a CA",
        W::UnknownIssuer => "the server's certificate is not signed by a trusted authority",
        W::PathLenConstraintViolated | W::MaximumPathDepthExceeded => {
            "the server's certificate chain is too long for its CA's path length constraint"
        }
        W::NameConstraintViolation => "the server's certificate violates its CA's name constraints",
        W::CertDistrusted => "the server's certificate is distrusted",
        W::InvalidCertValidity => "the server's certificate has an invalid validity period",
        W::UnsupportedCertVersion => "the server's certificate has an unsupported version",
        W::EmptyEkuExtension => {
            "the server's certificate has an empty extended key usage extension"
        }
        other => {
            return format!(
                "the server's certificate was rejected ({})",
                variant_words(&format!("{other:?}"))
            );
        }
    };
    text.to_owned()
}

/// A TLS alert the server sent, in words.
fn alert_text(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let why = match alert {
        A::HandshakeFailure => "handshake failure: no protocol version or cipher suite in common",
        A::ProtocolVersion => "protocol version: the server does not accept TLS 1.2 or 1.3",
        A::UnrecognisedName => "unrecognised name: the server has no certificate for this SNI name",
        A::CertificateRequired => "certificate required: the server wants a client certificate",
        A::BadCertificate => "bad certificate",
        A::UnknownCA => "unknown CA",
        A::AccessDenied => "access denied",
        A::InternalError => "internal error on the server",
        A::InsufficientSecurity => "insufficient security",
        other => {
            return format!(
                "the server ended the TLS handshake with an alert ({})",
                variant_words(&format!("{other:?}"))
            );
        }
    };
    format!("the server ended the TLS handshake with an alert ({why})")
}

/// An I/O error in one line: a TLS error inside it in words, otherwise its own text.
pub(crate) fn io_error(e: &std::io::Error) -> String {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls_error(tls);
    }
    e.to_string()
}

/// A PEM reading error in words (its `Display` prints marker bytes as a list of numbers).
pub(crate) fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error as P;
    match e {
        P::MissingSectionEnd { .. } => {
            "a PEM section has no END line (the file is cut short)".to_owned()
        }
        P::IllegalSectionStart { .. } => {
            "a PEM section starts with a malformed BEGIN line".to_owned()
        }
        P::Base64Decode(_) => "a PEM section is not valid base64".to_owned(),
        P::Io(io) => io.to_string(),
        P::NoItemsFound => "no PEM item found".to_owned(),
        P::SectionTooLarge => "a PEM section is larger than 10 MB".to_owned(),
        other => format!("unreadable PEM ({})", variant_words(&format!("{other:?}"))),
    }
}

/// An error and its causes in one line, each TLS error in words.
pub(crate) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            parts.push(tls_error(tls));
            break;
        }
        let text = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io_error(io),
            None => err.to_string(),
        };
        // An io::Error shows its inner error's text and then yields it as its source.
        if !parts.last().is_some_and(|p| p.ends_with(&text)) {
            parts.push(text);
        }
        if err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some())
        {
            break;
        }
        current = err.source();
    }
    parts.join(": ")
}

/// The name of an enum variant as words: `DecryptError(..)` -> `decrypt error`. Only the name is
/// kept, so no field values reach the text.
fn variant_words(debug: &str) -> String {
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("");
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' {
            out.push(' ');
        } else if c.is_ascii_uppercase() {
            if prev_lower {
                out.push(' ');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    if out.is_empty() {
        "unknown".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_ca_used_as_the_server_certificate_is_named_in_words() {
        let e = rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
            rustls::OtherError(Arc::new(webpki::Error::CaUsedAsEndEntity)),
        ));
        assert_eq!(
            tls_error(&e),
            "the server presented a CA certificate as its own certificate"
        );
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        assert_eq!(
            io_error(&io),
            "the server presented a CA certificate as its own certificate"
        );
        assert_eq!(
            chain(&io),
            "the server presented a CA certificate as its own certificate"
        );
    }

    #[test]
    fn no_debug_value_reaches_the_text() {
        let errors = [
            rustls::Error::AlertReceived(rustls::AlertDescription::DecryptError),
            rustls::Error::AlertReceived(rustls::AlertDescription::Unknown(250)),
            rustls::Error::PeerMisbehaved(rustls::PeerMisbehaved::IllegalMiddleboxChangeCipherSpec),
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
                Arc::new(webpki::Error::MalformedExtensions),
            ))),
            rustls::Error::FailedToGetRandomBytes,
        ];
        for e in &errors {
            let text = tls_error(e);
            assert!(
                !text.contains(['(', ')']) || text.contains(" ("),
                "looks like a Debug dump: {text}"
            );
            for dump in ["OtherError", "Other(", "{", "Unknown(250", "::"] {
                assert!(!text.contains(dump), "{text}");
            }
        }
        assert_eq!(
            tls_error(&errors[0]),
            "the server ended the TLS handshake with an alert (decrypt error)"
        );
        assert_eq!(
            tls_error(&errors[4]),
            "the server's certificate was rejected (malformed extensions)"
        );
    }

    #[test]
    fn variant_words_keep_only_the_name() {
        assert_eq!(variant_words("DecryptError"), "decrypt error");
        assert_eq!(variant_words("Unknown(250)"), "unknown");
        assert_eq!(variant_words("Foo { x: 1 }"), "foo");
        assert_eq!(variant_words("TLS13_AES"), "tls13 aes");
    }
}
