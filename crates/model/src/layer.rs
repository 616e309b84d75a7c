//! The proxy layers cloud502 can name, and the providers that inspect them.

use crate::custom::NameError;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A layer of the request path that can answer with (or relay) a 502.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// A layer of a library user's own provider (an in-house gateway), named with
    /// [`Layer::declared`] or [`Layer::custom`]; its display name is its kebab-case name.
    Custom(CustomKind),
}

impl Layer {
    /// Every built-in layer.
    pub const BUILT_IN: &'static [Layer] = &[
        Layer::Nginx,
        Layer::AwsAlb,
        Layer::AzureAppgw,
        Layer::Cloudflare,
        Layer::Application,
        Layer::Unknown,
    ];

    /// The layer of a provider of your own, in a `const` (checked at compile time there, like
    /// [`ProviderKind::declared`]).
    ///
    /// ```
    /// use cloud502_model::Layer;
    /// const EDGE: Layer = Layer::declared("acme-edge");
    /// assert_eq!(EDGE.as_str(), "acme-edge");
    /// assert_eq!(serde_json::to_string(&EDGE).unwrap(), "\"acme-edge\"");
    /// ```
    pub const fn declared(name: &'static str) -> Layer {
        assert!(
            const_valid(name),
            "a layer is kebab-case: lower-case letters, digits, single dashes"
        );
        let mut i = 0;
        while i < Layer::BUILT_IN.len() {
            assert!(
                !const_eq(Layer::BUILT_IN[i].as_str(), name),
                "a built-in layer"
            );
            i += 1;
        }
        Layer::Custom(CustomKind(name))
    }

    /// The layer of a provider of your own, checked at run time.
    pub fn custom(name: &'static str) -> Result<Layer, NameError> {
        if Layer::BUILT_IN.iter().any(|l| l.as_str() == name) {
            return Err(NameError::Taken(name.to_owned()));
        }
        crate::custom::kind(name, Some(name)).map(|n| Layer::Custom(CustomKind(n)))
    }
}

impl Serialize for Layer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::custom::serialize(self.as_str(), s)
    }
}

impl<'de> Deserialize<'de> for Layer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = crate::custom::string(d)?;
        if let Some(l) = Layer::BUILT_IN.iter().find(|l| l.as_str() == s) {
            return Ok(*l);
        }
        crate::custom::kind(&s, None)
            .map(|n| Layer::Custom(CustomKind(n)))
            .map_err(serde::de::Error::custom)
    }
}

/// A kebab-case string: `nginx`, `aws-alb`, `azure-appgw`, `cloudflare`, `application`,
/// `unknown`, or the name of a library user's own layer.
impl JsonSchema for Layer {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Layer".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        concat!(module_path!(), "::Layer").into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::custom::schema(
            "A layer of the request path: nginx, aws-alb, azure-appgw, cloudflare, application, unknown, or the kebab-case name of a library user's own layer.",
        )
    }
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
            Layer::Custom(c) => c.0,
        }
    }

    /// The stable kebab-case name used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Nginx => "nginx",
            Layer::AwsAlb => "aws-alb",
            Layer::AzureAppgw => "azure-appgw",
            Layer::Cloudflare => "cloudflare",
            Layer::Application => "application",
            Layer::Unknown => "unknown",
            Layer::Custom(c) => c.0,
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

    /// The kind of a provider of your own, in a `const` (a provider's declaration,
    /// `ProviderArgs::KIND`): the same as [`ProviderKind::custom`], checked at compile time when
    /// used in a constant (a name that is not kebab-case, or a built-in one, fails the build).
    ///
    /// ```
    /// use cloud502_model::ProviderKind;
    /// const GCP: ProviderKind = ProviderKind::declared("gcp-lb");
    /// assert_eq!(GCP.as_str(), "gcp-lb");
    /// assert_eq!(GCP, ProviderKind::custom("gcp-lb").unwrap());
    /// ```
    ///
    /// ```compile_fail
    /// use cloud502_model::ProviderKind;
    /// const MINE: ProviderKind = ProviderKind::declared("nginx"); // a built-in name
    /// ```
    pub const fn declared(name: &'static str) -> ProviderKind {
        assert!(
            const_valid(name),
            "a provider kind is kebab-case: lower-case letters, digits, single dashes"
        );
        let mut i = 0;
        while i < ProviderKind::BUILT_IN.len() {
            assert!(
                !const_eq(ProviderKind::BUILT_IN[i].as_str(), name),
                "a built-in provider kind"
            );
            i += 1;
        }
        ProviderKind::Custom(CustomKind(name))
    }

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
    pub const fn as_str(self) -> &'static str {
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

/// [`crate::custom::valid`], for `const` use.
const fn const_valid(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > 100 || b[0] == b'-' || b[b.len() - 1] == b'-' {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_lowercase() || c.is_ascii_digit() || (c == b'-' && b[i - 1] != b'-');
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
