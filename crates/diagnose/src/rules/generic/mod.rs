//! Rules that judge any provider's evidence: who made the 502 from the probe's fingerprint, other 5xx and 4xx, timeouts, connection and TLS failures, and 5xx lines no other rule explains.

pub(crate) mod connection_failure;
pub(crate) mod gateway_timeout;
pub(crate) mod http_status;
pub(crate) mod layer_502;
pub(crate) mod logged_5xx;
pub(crate) mod tls_certificate;
pub(crate) mod tls_handshake;

use crate::rules::Rule;

/// Who made the 502, from the probe's fingerprint: first of all rules.
pub(crate) const WHO_MADE_IT: &[Rule] = &[layer_502::RULE];

/// Other statuses the probe got: after the provider families that explain 502s at the edge.
pub(crate) const STATUS: &[Rule] = &[gateway_timeout::RULE, http_status::RULE];

/// Connection and TLS failures, then 5xx lines no other rule explains: last.
pub(crate) const LAST: &[Rule] = &[
    connection_failure::RULE,
    tls_handshake::RULE,
    tls_certificate::RULE,
    logged_5xx::RULE,
];
