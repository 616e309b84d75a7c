//! Rules about Azure Application Gateway: gateway state, pools, probes, backend health, network rules, access logs; `shared.rs` holds what they share.

pub(crate) mod backends;
pub(crate) mod gateway;
pub(crate) mod host;
pub(crate) mod logs;
pub(crate) mod network;
pub(crate) mod pools;
pub(crate) mod probe;
pub(crate) mod shared;

use crate::rules::Rule;

/// The family's rules, in ranking-tie order.
pub(crate) const RULES: &[Rule] = &[
    gateway::RULE,
    pools::RULE,
    logs::RULE,
    network::RULE,
    backends::RULE,
    probe::RULE,
];
