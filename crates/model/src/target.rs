//! Backend targets (ALB targets, AppGW pool members, nginx upstream peers, Cloudflare origins).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Health of one target as its gateway sees it, normalised across providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HealthState {
    /// Passing health checks.
    Healthy,
    /// Failing health checks.
    Unhealthy,
    /// Registration or first checks in progress.
    Initial,
    /// Being removed; in-flight requests may still be served.
    Draining,
    /// Registered but not used (stopped instance, AZ not enabled, ...).
    Unused,
    /// Health checks disabled.
    Unavailable,
    /// The gateway could not say.
    Unknown,
}

impl HealthState {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Initial => "initial",
            HealthState::Draining => "draining",
            HealthState::Unused => "unused",
            HealthState::Unavailable => "unavailable",
            HealthState::Unknown => "unknown",
        }
    }
}

/// One backend target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// Provider-specific id (instance id, IP, FQDN, upstream name).
    pub id: String,
    /// Address (IP or host name), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Port, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The group (target group, backend pool, upstream block) it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Normalised health state.
    pub health: HealthState,
    /// The provider's reason code (e.g. `Target.Timeout`), verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The provider's description, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Target {
    /// `address:port`, `address`, or `-`.
    pub fn endpoint(&self) -> String {
        match (&self.address, self.port) {
            (Some(a), Some(port)) => format!("{a}:{port}"),
            (Some(a), None) => a.clone(),
            _ => "-".to_owned(),
        }
    }
}
