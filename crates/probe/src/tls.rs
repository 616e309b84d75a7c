//! TLS for the probe: a verifier that records what it saw, so certificate facts are reported
//! even when verification fails, and the handshake stops unless `--insecure` was given.

use crate::error::{ConfigError, Result};
use cloud502_model::TlsFacts;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What the verifier saw during one handshake.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub leaf: Option<CertificateDer<'static>>,
    pub error: Option<rustls::Error>,
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    insecure: bool,
    seen: Arc<Mutex<Seen>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if let Ok(mut seen) = self.seen.lock() {
            seen.leaf = Some(end_entity.clone().into_owned());
            seen.error = result.as_ref().err().cloned();
        }
        match result {
            Err(_) if self.insecure => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The system's trust roots (Mozilla's bundled roots when the system has none) plus `--cacert`.
fn roots(ca_files: &[PathBuf]) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = store.add(cert);
    }
    if store.is_empty() {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for path in ca_files {
        // Read whole with a cap: a PEM reader on /dev/zero would grow one line forever.
        use cloud502_collect::limits;
        let certs: Vec<_> = limits::read_capped(path, limits::MAX_SMALL_FILE_BYTES, "a CA file")
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                CertificateDer::pem_slice_iter(&bytes)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| crate::text::pem_error(&e))
            })
            .map_err(|e| {
                ConfigError::one(
                    format!("cannot read --cacert {}: {e}", path.display()),
                    Some("pass a PEM file of CA certificates".to_owned()),
                )
            })?;
        if certs.is_empty() {
            return Err(ConfigError::one(
                format!("--cacert {} holds no PEM certificate", path.display()),
                Some("pass a PEM file of CA certificates".to_owned()),
            ));
        }
        for cert in certs {
            store.add(cert).map_err(|e| {
                ConfigError::one(
                    format!(
                        "--cacert {}: unusable certificate: {}",
                        path.display(),
                        crate::text::tls_error(&e)
                    ),
                    None,
                )
            })?;
        }
    }
    Ok(store)
}

/// A client config for one handshake, and where its verifier records what it saw.
pub(crate) fn client_config(
    insecure: bool,
    ca_files: &[PathBuf],
) -> Result<(Arc<rustls::ClientConfig>, Arc<Mutex<Seen>>)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ca_files)?), provider.clone())
            .build()
            .map_err(|e| {
                ConfigError::one(format!("cannot build the certificate verifier: {e}"), None)
            })?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let verifier = RecordingVerifier {
        inner,
        insecure,
        seen: seen.clone(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            ConfigError::one(
                format!("TLS set-up failed: {}", crate::text::tls_error(&e)),
                None,
            )
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), seen))
}

/// Facts about the leaf certificate the server presented, judged against `host` at `now`.
pub(crate) fn facts(
    leaf: &CertificateDer<'_>,
    host: &str,
    verify_error: Option<&rustls::Error>,
    now: time::OffsetDateTime,
) -> Option<TlsFacts> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => sans.push((*d).to_owned()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        sans.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    let hostname_match = ServerName::try_from(host.to_owned())
        .ok()
        .is_some_and(|name| {
            webpki::EndEntityCert::try_from(leaf)
                .is_ok_and(|ee| ee.verify_is_valid_for_subject_name(&name).is_ok())
        });
    Some(TlsFacts {
        protocol: None,
        cipher: None,
        sni: host.to_owned(),
        subject: cert.subject().to_string(),
        sans,
        issuer: cert.issuer().to_string(),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_remaining: (not_after - now).whole_days(),
        expired: now > not_after,
        not_yet_valid: now < not_before,
        hostname_match,
        verified: verify_error.is_none(),
        verify_error: verify_error.map(crate::text::tls_error),
    })
}

fn ip_from_bytes(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// `TLSv1_3` -> `TLSv1.3`.
pub(crate) fn protocol_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        other => format!("{other:?}"),
    }
}
