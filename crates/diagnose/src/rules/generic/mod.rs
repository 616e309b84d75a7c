//! Rules that judge any provider's evidence: who made the 502 from the probe's fingerprint, other 5xx and 4xx, timeouts, connection and TLS failures, and 5xx lines no other rule explains.

pub(crate) mod connection_failure;
pub(crate) mod gateway_timeout;
pub(crate) mod http_status;
pub(crate) mod layer_502;
pub(crate) mod logged_5xx;
pub(crate) mod tls_certificate;
pub(crate) mod tls_handshake;
