//! The proxy layers cloud502 can name, and the providers that inspect them.

use crate::custom::NameError;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// A provider outside this crate's list (an in-house gateway), named with
    /// [`ProviderKind::custom`].
    Custom(CustomKind),
}

/// The name of a provider that is not built in; only [`ProviderKind::custom`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomKind(&'static str);

impl ProviderKind {
    /// Every built-in kind.
    pub const BUILT_IN: &'static [ProviderKind] = &[
        ProviderKind::Probe,
        ProviderKind::AwsAlb,
        ProviderKind::AzureAppgw,
        ProviderKind::Cloudflare,
        ProviderKind::Nginx,
        ProviderKind::Logs,
    ];

    /// The kind of a provider of your own (`acme-edge`): kebab-case, not a built-in name.
    ///
    /// ```
    /// use cloud502_model::ProviderKind;
    /// let kind = ProviderKind::custom("acme-edge").unwrap();
    /// assert_eq!(kind.as_str(), "acme-edge");
    /// assert!(ProviderKind::custom("nginx").is_err());
    /// ```
    pub fn custom(name: &'static str) -> Result<ProviderKind, NameError> {
        if ProviderKind::BUILT_IN.iter().any(|k| k.as_str() == name) {
            return Err(NameError::Taken(name.to_owned()));
        }
        crate::custom::kind(name, Some(name)).map(|n| ProviderKind::Custom(CustomKind(n)))
    }
}

impl Serialize for ProviderKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::custom::serialize(self.as_str(), s)
    }
}

impl<'de> Deserialize<'de> for ProviderKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = crate::custom::string(d)?;
        if let Some(k) = ProviderKind::BUILT_IN.iter().find(|k| k.as_str() == s) {
            return Ok(*k);
        }
        crate::custom::kind(&s, None)
            .map(|n| ProviderKind::Custom(CustomKind(n)))
            .map_err(serde::de::Error::custom)
    }
}

/// A kebab-case string: the built-in kinds are `probe`, `aws-alb`, `azure-appgw`, `cloudflare`,
/// `nginx` and `logs`; a library user's provider names its own.
impl JsonSchema for ProviderKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ProviderKind".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        concat!(module_path!(), "::ProviderKind").into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::custom::schema(
            "Which provider produced the report: probe, aws-alb, azure-appgw, cloudflare, nginx, logs, or the kebab-case name of a library user's own provider.",
        )
    }
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
            ProviderKind::Custom(c) => c.0,
        }
    }
}
