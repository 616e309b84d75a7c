//! cloud502's direct probe: one request to a URL (or a TCP connect to a port) with a DNS /
//! connect / TLS / first-byte timing breakdown, TLS certificate facts, and a fingerprint of the
//! layer that answered (nginx, AWS ALB, Azure Application Gateway, Cloudflare).
//!
//! The probe is read-only: one `GET` (or a bare connect), bounded by a deadline in every phase.

mod args;
mod collect;
mod config;
mod error;
pub mod fingerprint;
mod http;
mod text;
mod tls;

pub use args::ProbeArgs;
pub use collect::{ProbeProvider, describe};
pub use config::{ProbeOptions, ProbeRequest, ResolveRule};
pub use error::{ConfigError, Result};
pub use fingerprint::fingerprint;
pub use http::probe;
