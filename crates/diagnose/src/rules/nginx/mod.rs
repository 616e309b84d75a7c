//! Rules about nginx: upstream failures from error.log and access-log timings, resolvers, pools, keep-alive, host checks; `shared.rs` holds what they share.

pub(crate) mod host;
pub(crate) mod keepalive;
pub(crate) mod pool;
pub(crate) mod resolver;
pub(crate) mod shared;
pub(crate) mod upstream;
