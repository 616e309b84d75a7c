//! Rules about nginx: upstream failures from error.log and access-log timings, resolvers, pools, keep-alive, host checks; `shared.rs` holds what they share.

pub(crate) mod host;
pub(crate) mod keepalive;
pub(crate) mod pool;
pub(crate) mod resolver;
pub(crate) mod shared;
pub(crate) mod upstream;

use crate::rules::Rule;

/// The family's rules, in ranking-tie order.
pub(crate) const RULES: &[Rule] = &[
    upstream::RULE,
    resolver::RULE,
    host::RULE,
    pool::RULE,
    keepalive::RULE,
];
