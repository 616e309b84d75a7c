//! Certificates for TLS tests: a test CA and leaves that are valid, expired, or for another host.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// A leaf certificate and its key, DER.
#[derive(Debug)]
pub struct Leaf {
    /// The chain, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// PKCS#8 key.
    pub key: Vec<u8>,
}

/// A throwaway CA.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl TestCa {
    /// A new CA named "cloud502 Test CA".
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "cloud502 Test CA");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        TestCa { cert, key }
    }

    /// Write the CA certificate as PEM into `dir`, for `--cacert`.
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, self.cert.pem()).unwrap();
        path
    }

    /// A leaf for `host`, valid from `not_before` to `not_after` days relative to now.
    pub fn leaf(&self, host: &str, not_before_days: i64, not_after_days: i64) -> Leaf {
        let mut params = CertificateParams::new(vec![host.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, host);
        let now = OffsetDateTime::now_utc();
        params.not_before = now + Duration::days(not_before_days);
        params.not_after = now + Duration::days(not_after_days);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            chain: vec![cert.der().to_vec(), self.cert.der().to_vec()],
            key: key.serialize_der(),
        }
    }
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestCa")
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// A genuinely self-signed leaf for `host` (issuer == subject, no CA behind it), valid from a day
/// ago for 90 days: what Cloudflare's Full (strict) mode rejects with 526 and Full accepts.
pub fn self_signed(host: &str) -> Leaf {
    let mut params = CertificateParams::new(vec![host.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, host);
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(90);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Leaf {
        chain: vec![cert.der().to_vec()],
        key: key.serialize_der(),
    }
}
