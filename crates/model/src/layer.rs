//! The proxy layers cloud502 can name, and the providers that inspect them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A layer of the request path that can answer with (or relay) a 502.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// nginx (any reverse proxy that sends nginx's `Server` header or error page).
    Nginx,
    /// AWS Application Load Balancer (`Server: awselb/2.0`).
    AwsAlb,
    /// Azure Application Gateway (`Server: Microsoft-Azure-Application-Gateway/v2`).
    AzureAppgw,
    /// Cloudflare's edge (`Server: cloudflare`, `CF-RAY`).
    Cloudflare,
    /// The application behind the last proxy (a body that no proxy's error page matches).
    Application,
    /// Nothing identified the layer.
    Unknown,
}

impl Layer {
    /// The name an engineer would say.
    pub fn display_name(self) -> &'static str {
        match self {
            Layer::Nginx => "nginx",
            Layer::AwsAlb => "AWS ALB",
            Layer::AzureAppgw => "Azure Application Gateway",
            Layer::Cloudflare => "Cloudflare",
            Layer::Application => "the application",
            Layer::Unknown => "an unidentified layer",
        }
    }

    /// The stable kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Nginx => "nginx",
            Layer::AwsAlb => "aws-alb",
            Layer::AzureAppgw => "azure-appgw",
            Layer::Cloudflare => "cloudflare",
            Layer::Application => "application",
            Layer::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Which provider produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// Direct TCP/TLS/HTTP probe of a URL (`cloud502 probe`).
    Probe,
    /// AWS Application Load Balancer.
    AwsAlb,
    /// Azure Application Gateway v2.
    AzureAppgw,
    /// Cloudflare zone.
    Cloudflare,
    /// nginx configuration and logs.
    Nginx,
    /// Saved log files classified offline (`cloud502 logs`).
    Logs,
}

impl ProviderKind {
    /// The stable kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Probe => "probe",
            ProviderKind::AwsAlb => "aws-alb",
            ProviderKind::AzureAppgw => "azure-appgw",
            ProviderKind::Cloudflare => "cloudflare",
            ProviderKind::Nginx => "nginx",
            ProviderKind::Logs => "logs",
        }
    }
}
