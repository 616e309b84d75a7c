//! Rules about the AWS Application Load Balancer: who made the 502, targets, health checks, keep-alive, security groups; `shared.rs` holds what they share.

pub(crate) mod health_check;
pub(crate) mod keepalive;
pub(crate) mod made_502;
pub(crate) mod network;
pub(crate) mod shared;
pub(crate) mod targets;

use crate::rules::Rule;

/// The family's rules, in ranking-tie order.
pub(crate) const RULES: &[Rule] = &[
    made_502::RULE,
    keepalive::RULE,
    network::RULE,
    targets::RULE,
    health_check::RULE,
];
