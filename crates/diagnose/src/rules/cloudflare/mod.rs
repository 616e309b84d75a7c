//! Rules about Cloudflare: not proxied, SSL mode, the 52x family, pools and health checks, tunnels, Workers; `shared.rs` holds what they share.

pub(crate) mod not_proxied;
pub(crate) mod pools;
pub(crate) mod shared;
pub(crate) mod ssl_mode;
pub(crate) mod status_52x;
pub(crate) mod tunnel;
pub(crate) mod worker;

use crate::rules::Rule;

/// The family's rules, in ranking-tie order.
pub(crate) const RULES: &[Rule] = &[
    not_proxied::RULE,
    ssl_mode::RULE,
    status_52x::RULE,
    pools::RULE,
    tunnel::RULE,
    worker::RULE,
];
