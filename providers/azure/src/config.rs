//! What `cloud502 azure` was asked to inspect, and the checks on it before any call is made.

use crate::error::AzureError;
use std::time::Duration;
use url::Url;

/// Which credential to use (`--auth`, the audit file's `auth`; the variants' docs are its
/// `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMode {
    /// Pick one in the documented order.
    #[default]
    Auto,
    /// The Azure CLI's login (`az login`).
    Cli,
    /// The managed identity of this VM, scale set, App Service or Function (AZURE_CLIENT_ID picks a
    /// user-assigned one).
    ManagedIdentity,
    /// Workload identity federation (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID).
    WorkloadIdentity,
    /// A service principal's secret (AZURE_CLIENT_SECRET, AZURE_CLIENT_ID, AZURE_TENANT_ID).
    ClientSecret,
}

impl AuthMode {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Auto => "auto",
            AuthMode::Cli => "cli",
            AuthMode::ManagedIdentity => "managed-identity",
            AuthMode::WorkloadIdentity => "workload-identity",
            AuthMode::ClientSecret => "client-secret",
        }
    }
}

impl std::str::FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            AuthMode::Auto,
            AuthMode::Cli,
            AuthMode::ManagedIdentity,
            AuthMode::WorkloadIdentity,
            AuthMode::ClientSecret,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| {
            format!(
                "unknown auth {s:?} (auto, cli, managed-identity, workload-identity, client-secret)"
            )
        })
    }
}

/// Azure Resource Manager in the public cloud.
pub const ARM_ENDPOINT: &str = "https://management.azure.com";
/// The token scope for ARM in the public cloud.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The Log Analytics query API in the public cloud.
pub const LOGS_ENDPOINT: &str = "https://api.loganalytics.io";
/// The token scope for the Log Analytics query API.
pub const LOGS_SCOPE: &str = "https://api.loganalytics.io/.default";
/// The Microsoft.Network api-version used for every call (stable, KB 2.1).
pub const API_VERSION: &str = "2024-05-01";

/// Options of `cloud502 azure`.
#[derive(Debug, Clone)]
pub struct AzureOptions {
    /// Subscription id; falls back to `AZURE_SUBSCRIPTION_ID` (resolved by the caller).
    pub subscription: Option<String>,
    /// Resource group of the gateway.
    pub resource_group: String,
    /// Gateway name.
    pub gateway: String,
    /// How to get a token.
    pub auth: AuthMode,
    /// ARM endpoint (sovereign clouds, tests). Default [`ARM_ENDPOINT`].
    pub arm_endpoint: Option<String>,
    /// ARM token scope. Default [`ARM_SCOPE`]; never derived from the endpoint.
    pub arm_scope: Option<String>,
    /// Log Analytics workspace id (a GUID) to query access logs in.
    pub workspace: Option<String>,
    /// Log Analytics endpoint (sovereign clouds, tests). Default [`LOGS_ENDPOINT`].
    pub logs_endpoint: Option<String>,
    /// Log Analytics token scope. Default [`LOGS_SCOPE`].
    pub logs_scope: Option<String>,
    /// Look back this far in the logs.
    pub since: Duration,
    /// Bound on each operation: one GET with its retries, or the whole backend-health
    /// long-running operation with its polls.
    pub timeout: Duration,
    /// Whether to read the gateway subnet's NSG and route table.
    pub network: bool,
    /// Whether to run the backend-health long-running operation.
    pub backend_health: bool,
}

impl AzureOptions {
    /// Options for one gateway, everything else at its default.
    pub fn new(resource_group: impl Into<String>, gateway: impl Into<String>) -> Self {
        AzureOptions {
            subscription: None,
            resource_group: resource_group.into(),
            gateway: gateway.into(),
            auth: AuthMode::Auto,
            arm_endpoint: None,
            arm_scope: None,
            workspace: None,
            logs_endpoint: None,
            logs_scope: None,
            since: Duration::from_secs(3600),
            timeout: Duration::from_secs(60),
            network: true,
            backend_health: true,
        }
    }

    /// Check every option at once; every problem is named.
    pub fn validate(&self) -> Result<Validated, AzureError> {
        let mut problems = Vec::new();
        let subscription = match self.subscription.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push(
                    "no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID".to_owned(),
                );
                String::new()
            }
            Some(s) if is_guid(s) => s.to_ascii_lowercase(),
            Some(s) => {
                problems.push(format!(
                    "subscription {s:?} is not a subscription id (expected a GUID like 00000000-0000-0000-0000-000000000000)"
                ));
                String::new()
            }
        };
        if let Err(p) = check_resource_group(&self.resource_group) {
            problems.push(p);
        }
        if let Err(p) = check_gateway_name(&self.gateway) {
            problems.push(p);
        }
        if let Some(w) = &self.workspace
            && !is_guid(w.trim())
        {
            problems.push(format!(
                    "workspace {w:?} is not a Log Analytics workspace id (a GUID: the workspace's \"Workspace ID\", not its name)"
                ));
        }
        let arm = endpoint("--arm-endpoint", self.arm_endpoint.as_deref(), ARM_ENDPOINT)
            .map_err(|p| problems.push(p))
            .ok();
        let logs = endpoint(
            "--logs-endpoint",
            self.logs_endpoint.as_deref(),
            LOGS_ENDPOINT,
        )
        .map_err(|p| problems.push(p))
        .ok();
        for (flag, scope) in [
            ("--arm-scope", &self.arm_scope),
            ("--logs-scope", &self.logs_scope),
        ] {
            if let Some(s) = scope
                && (!s.ends_with("/.default") || Url::parse(s).is_err())
            {
                problems.push(format!(
                        "{flag} {s:?} is not a token scope (expected a URL ending in /.default, like {ARM_SCOPE})"
                    ));
            }
        }
        if self.timeout.is_zero() {
            problems.push("--timeout must be above zero".to_owned());
        }
        // Bounded for library callers too: deadlines and the window are computed from these.
        use cloud502_collect::limits;
        for (flag, d, max) in [
            ("--timeout", self.timeout, limits::MAX_TIMEOUT),
            ("--since", self.since, limits::MAX_SINCE),
        ] {
            if let Err(e) = limits::check_duration(flag, d, max) {
                problems.push(e);
            }
        }
        match (problems.is_empty(), arm, logs) {
            (true, Some(arm), Some(logs)) => Ok(Validated {
                subscription,
                arm_endpoint: arm,
                logs_endpoint: logs,
                arm_scope: self
                    .arm_scope
                    .clone()
                    .unwrap_or_else(|| ARM_SCOPE.to_owned()),
                logs_scope: self
                    .logs_scope
                    .clone()
                    .unwrap_or_else(|| LOGS_SCOPE.to_owned()),
            }),
            _ => Err(AzureError::Options {
                problems,
                hint: "see `cloud502 azure --help`".to_owned(),
            }),
        }
    }
}

/// Options after validation.
#[derive(Debug, Clone)]
pub struct Validated {
    /// Lower-case subscription GUID.
    pub subscription: String,
    /// ARM base URL.
    pub arm_endpoint: Url,
    /// Log Analytics base URL.
    pub logs_endpoint: Url,
    /// ARM token scope.
    pub arm_scope: String,
    /// Log Analytics token scope.
    pub logs_scope: String,
}

impl Validated {
    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/applicationGateways/{name}`.
    pub fn gateway_id(&self, opts: &AzureOptions) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/applicationGateways/{}",
            self.subscription, opts.resource_group, opts.gateway
        )
    }
}

/// Whether `s` is a GUID (8-4-4-4-12 hex digits).
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Azure's resource group naming rules: 1-90 characters, letters, digits, `_`, `-`, `.`, `(`, `)`;
/// not ending in `.`.
fn check_resource_group(rg: &str) -> Result<(), String> {
    let ok = !rg.is_empty()
        && rg.chars().count() <= 90
        && !rg.ends_with('.')
        && rg
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "resource group {rg:?} is not a valid name (1-90 letters, digits, _ - . ( ), not ending in .)"
        ))
    }
}

/// Application Gateway naming rules: 1-80 characters, letters, digits, `_`, `-`, `.`; starts with a
/// letter or digit, ends with a letter, digit or `_`.
fn check_gateway_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 80
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "gateway name {name:?} is not a valid Application Gateway name (1-80 letters, digits, _ - ., starting with a letter or digit)"
        ))
    }
}

/// Parse an endpoint. https anywhere; plain http only on loopback, so a bearer token never
/// crosses a network in clear.
fn endpoint(flag: &str, given: Option<&str>, default: &str) -> Result<Url, String> {
    cloud502_collect::remote::secure_endpoint(flag, given, default)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn opts() -> AzureOptions {
        let mut o = AzureOptions::new("rg-web", "agw-prod");
        o.subscription = Some("0B1E2C3D-0000-4000-8000-00000000000A".into());
        o
    }

    #[test]
    fn valid_options_normalise_the_subscription() {
        let v = opts().validate().unwrap();
        assert_eq!(v.subscription, "0b1e2c3d-0000-4000-8000-00000000000a");
        assert_eq!(v.arm_scope, ARM_SCOPE);
        assert_eq!(
            v.gateway_id(&opts()),
            "/subscriptions/0b1e2c3d-0000-4000-8000-00000000000a/resourceGroups/rg-web/providers/Microsoft.Network/applicationGateways/agw-prod"
        );
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let mut o = AzureOptions::new("bad/rg", "-agw");
        o.subscription = Some("not-a-guid".into());
        o.workspace = Some("my-workspace".into());
        o.arm_endpoint = Some("http://arm.example.com".into());
        let Err(AzureError::Options { problems, .. }) = o.validate() else {
            panic!("expected options error");
        };
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("not a subscription id"));
        assert!(problems.iter().any(|p| p.contains("resource group")));
        assert!(problems.iter().any(|p| p.contains("gateway name")));
        assert!(problems.iter().any(|p| p.contains("workspace")));
        assert!(problems.iter().any(|p| p.contains("in clear")));
    }

    #[test]
    fn missing_subscription_names_the_variable() {
        let mut o = opts();
        o.subscription = None;
        let e = o.validate().unwrap_err().to_string();
        assert!(e.contains("AZURE_SUBSCRIPTION_ID"), "{e}");
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://[::1]:9",
            "http://localhost:1",
            "https://management.usgovcloudapi.net",
        ] {
            let mut o = opts();
            o.arm_endpoint = Some(ok.into());
            assert!(o.validate().is_ok(), "{ok}");
        }
        let mut o = opts();
        o.arm_endpoint = Some("ftp://127.0.0.1".into());
        assert!(o.validate().is_err());
    }

    #[test]
    fn scopes_must_end_in_default() {
        let mut o = opts();
        o.arm_scope = Some("https://management.usgovcloudapi.net".into());
        assert!(o.validate().unwrap_err().to_string().contains("/.default"));
    }

    #[test]
    fn names_follow_azure_rules() {
        assert!(check_resource_group("rg_(prod).1").is_ok());
        assert!(check_resource_group("rg.").is_err());
        assert!(check_resource_group(&"r".repeat(91)).is_err());
        assert!(check_gateway_name("agw-prod_").is_ok());
        assert!(check_gateway_name("agw-").is_err());
        assert!(is_guid("00000000-0000-0000-0000-000000000000"));
        assert!(!is_guid("00000000-0000-0000-0000-00000000000"));
    }
}
