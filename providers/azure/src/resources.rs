//! Typed views of the few ARM resources the provider reads (KB 2.1, 9.1). They are tolerant on
//! purpose: real answers stray from the swagger (the official `ApplicationGatewayGet.json` has
//! `backendAddresses` as plain strings; health values are `Healthy`/`Unhealthy`, not the enum's
//! `Up`/`Down`). Every field is optional, unknown fields are ignored, `null` reads as empty,
//! enum-like values stay strings, and one list element that does not fit is left out and named
//! (see [`parse`]) while the rest of the body is still read.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;
use std::cell::RefCell;

thread_local! {
    /// Elements left out by [`lenient`] during the current [`parse`] on this thread, and the path
    /// of the elements being read (`backend pool #1 "p" > backend address #0`).
    static ODD: RefCell<Option<(Vec<String>, Vec<String>)>> = const { RefCell::new(None) };
}

/// What a list element is called when it is left out.
pub trait Element {
    /// `backend pool`, `server`, ...
    const WHAT: &'static str;
}

/// Parse a body with the tolerant views: the value, and one line per element that was left out
/// because it did not fit (`backend address #0 ... was left out (invalid type ...) in backend
/// pool #1 "appgwpool1"`). An error only when the body as a whole is not JSON of the expected
/// kind.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<(T, Vec<String>), String> {
    ODD.with(|o| *o.borrow_mut() = Some((Vec::new(), Vec::new())));
    let parsed = serde_json::from_slice::<T>(body);
    let odd = ODD
        .with(|o| o.borrow_mut().take())
        .map(|(n, _)| n)
        .unwrap_or_default();
    match parsed {
        Ok(v) => Ok((v, odd)),
        Err(e) => Err(e.to_string()),
    }
}

/// At most this many left-out elements are named: a hostile body of a million odd elements
/// names the first few.
const MAX_NOTES: usize = 20;

fn note(message: String) {
    ODD.with(|o| {
        if let Some((notes, path)) = o.borrow_mut().as_mut()
            && notes.len() < MAX_NOTES
        {
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" in {}", path.join(" > "))
            };
            notes.push(format!("{message}{at}"));
        }
    });
}

fn enter(label: String) {
    ODD.with(|o| {
        if let Some((_, path)) = o.borrow_mut().as_mut() {
            path.push(label);
        }
    });
}

fn leave() {
    ODD.with(|o| {
        if let Some((_, path)) = o.borrow_mut().as_mut() {
            path.pop();
        }
    });
}

/// `#1 "appgwpool1"`: the element's index and its name, address or id's last segment.
fn label(v: &Value, i: usize) -> String {
    let name = ["name", "address"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .or_else(|| v.get("id").and_then(Value::as_str))
        // A backend-health entry is named by its reference: `{"backendAddressPool": {"id"}}`.
        .or_else(|| {
            v.as_object()?
                .values()
                .find_map(|r| r.get("id").and_then(Value::as_str))
        })
        .map(|id| id.rsplit('/').next().unwrap_or(id))
        .or_else(|| v.as_str());
    match name {
        Some(n) if !n.is_empty() => {
            let n: String = cloud502_collect::remote::one_line(n)
                .chars()
                .take(80)
                .collect();
            format!("#{i} {n:?}")
        }
        _ => format!("#{i}"),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A list read element by element: `null` or absent is empty, an element that does not fit is
/// left out and noted (see [`parse`]), a value that is not a list is noted and read as empty.
pub fn lenient<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Element,
{
    let items = match Value::deserialize(d)? {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        other => {
            note(format!(
                "a list of {}s was {}, not a list: read as empty",
                T::WHAT,
                kind(&other)
            ));
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, v) in items.into_iter().enumerate() {
        let at = format!("{} {}", T::WHAT, label(&v, i));
        enter(at.clone());
        let read = T::deserialize(v);
        leave();
        match read {
            Ok(t) => out.push(t),
            // one_line caps it: serde quotes the odd value, which may be long.
            Err(e) => note(format!(
                "{at} was left out ({})",
                cloud502_collect::remote::one_line(&e.to_string())
            )),
        }
    }
    Ok(out)
}

/// `null` as the type's default (an empty string, zero, an empty struct).
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Element for String {
    const WHAT: &'static str = "value";
}

impl<P: Element> Element for Child<P> {
    const WHAT: &'static str = P::WHAT;
}

/// A sub-resource reference `{"id": "..."}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SubRef {
    /// Full ARM id.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
}

impl SubRef {
    /// The last path segment of the id (the child resource's name).
    pub fn name(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or("")
    }
}

/// A named child resource with properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, bound(deserialize = "P: Deserialize<'de> + Default"))]
pub struct Child<P> {
    /// Full ARM id.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: P,
}

/// `GET .../applicationGateways/{name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Gateway {
    /// Full ARM id.
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Region.
    #[serde(deserialize_with = "nullable")]
    pub location: String,
    /// Properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: GatewayProps,
}

/// Gateway properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GatewayProps {
    /// SKU.
    #[serde(deserialize_with = "nullable")]
    pub sku: Sku,
    /// `Running`, `Stopped`, ...
    pub operational_state: Option<String>,
    /// `Succeeded`, `Failed`, ...
    pub provisioning_state: Option<String>,
    /// Subnets the gateway sits in.
    #[serde(rename = "gatewayIPConfigurations", deserialize_with = "lenient")]
    pub gateway_ip_configurations: Vec<Child<GatewayIpConfig>>,
    /// Frontend ports.
    #[serde(deserialize_with = "lenient")]
    pub frontend_ports: Vec<Child<FrontendPort>>,
    /// Backend pools.
    #[serde(deserialize_with = "lenient")]
    pub backend_address_pools: Vec<Child<PoolProps>>,
    /// Backend HTTP settings.
    #[serde(deserialize_with = "lenient")]
    pub backend_http_settings_collection: Vec<Child<HttpSettings>>,
    /// Health probes.
    #[serde(deserialize_with = "lenient")]
    pub probes: Vec<Child<Probe>>,
    /// Listeners.
    #[serde(deserialize_with = "lenient")]
    pub http_listeners: Vec<Child<Listener>>,
    /// Routing rules.
    #[serde(deserialize_with = "lenient")]
    pub request_routing_rules: Vec<Child<RoutingRule>>,
    /// Path maps of path-based rules.
    #[serde(deserialize_with = "lenient")]
    pub url_path_maps: Vec<Child<UrlPathMap>>,
    /// Header and URL rewrites.
    #[serde(deserialize_with = "lenient")]
    pub rewrite_rule_sets: Vec<Child<RewriteRuleSet>>,
    /// Weighted pools.
    #[serde(deserialize_with = "lenient")]
    pub load_distribution_policies: Vec<Child<LoadDistributionPolicy>>,
    /// Layer-4 (TCP/TLS proxy) listeners.
    #[serde(deserialize_with = "lenient")]
    pub listeners: Vec<Child<L4Listener>>,
    /// Layer-4 routing rules.
    #[serde(deserialize_with = "lenient")]
    pub routing_rules: Vec<Child<L4Rule>>,
    /// Layer-4 backend settings.
    #[serde(deserialize_with = "lenient")]
    pub backend_settings_collection: Vec<Child<L4Settings>>,
    /// Gateway-wide custom error pages.
    #[serde(deserialize_with = "lenient")]
    pub custom_error_configurations: Vec<CustomError>,
}

/// SKU.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Sku {
    /// `Standard_v2`, `WAF_v2`, `Basic`, `Standard_Medium`, ...
    pub name: Option<String>,
    /// `Standard_v2`, `WAF_v2`, `Basic`, `Standard`, `WAF`.
    pub tier: Option<String>,
    /// Instance count (absent with autoscale).
    pub capacity: Option<u32>,
}

/// A gateway IP configuration: the subnet.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GatewayIpConfig {
    /// The subnet.
    pub subnet: Option<SubRef>,
}

/// A frontend port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FrontendPort {
    /// Port number.
    pub port: Option<u16>,
}

/// A backend pool.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolProps {
    /// IP or FQDN members.
    #[serde(deserialize_with = "lenient")]
    pub backend_addresses: Vec<BackendAddress>,
    /// NIC-based members.
    #[serde(rename = "backendIPConfigurations", deserialize_with = "lenient")]
    pub backend_ip_configurations: Vec<SubRef>,
}

/// An IP or FQDN member: `{"ipAddress": ..}` / `{"fqdn": ..}` as the schema says, or a plain
/// string as Microsoft's own `ApplicationGatewayGet.json` example has it (an IP literal is an
/// IP address, anything else an FQDN).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "AddressWire")]
pub struct BackendAddress {
    /// FQDN.
    pub fqdn: Option<String>,
    /// IP address.
    pub ip_address: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AddressWire {
    Text(String),
    Object(AddressObject),
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AddressObject {
    fqdn: Option<String>,
    ip_address: Option<String>,
}

impl From<AddressWire> for BackendAddress {
    fn from(w: AddressWire) -> Self {
        match w {
            AddressWire::Text(t) if t.trim().parse::<std::net::IpAddr>().is_ok() => {
                BackendAddress {
                    fqdn: None,
                    ip_address: Some(t.trim().to_owned()),
                }
            }
            AddressWire::Text(t) => BackendAddress {
                fqdn: Some(t.trim().to_owned()),
                ip_address: None,
            },
            AddressWire::Object(o) => BackendAddress {
                fqdn: o.fqdn,
                ip_address: o.ip_address,
            },
        }
    }
}

/// Backend HTTP settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HttpSettings {
    /// Backend port.
    pub port: Option<u16>,
    /// `Http` or `Https`.
    pub protocol: Option<String>,
    /// Seconds (1-86400; default 20).
    pub request_timeout: Option<u32>,
    /// Host header override.
    pub host_name: Option<String>,
    /// Use the backend address as Host.
    pub pick_host_name_from_backend_address: Option<bool>,
    /// Custom probe.
    pub probe: Option<SubRef>,
    /// Whether the probe is enabled.
    pub probe_enabled: Option<bool>,
    /// Path override.
    pub path: Option<String>,
    /// `Enabled` / `Disabled`.
    pub cookie_based_affinity: Option<String>,
    /// Trusted root certificates for an HTTPS backend (v2).
    #[serde(deserialize_with = "lenient")]
    pub trusted_root_certificates: Vec<SubRef>,
    /// Authentication certificates for an HTTPS backend (v1).
    #[serde(deserialize_with = "lenient")]
    pub authentication_certificates: Vec<SubRef>,
    /// Connection draining on removal.
    pub connection_draining: Option<ConnectionDraining>,
    /// Whether the backend certificate's name is checked against the SNI (default true).
    #[serde(rename = "validateSNI")]
    pub validate_sni: Option<bool>,
    /// The SNI sent to the backend, when set.
    #[serde(rename = "sniName")]
    pub sni_name: Option<String>,
    /// Whether the backend certificate's chain and dates are checked (default true).
    pub validate_cert_chain_and_expiry: Option<bool>,
}

/// Connection draining of HTTP settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConnectionDraining {
    /// Whether it is on.
    pub enabled: Option<bool>,
    /// Seconds (1-3600).
    pub drain_timeout_in_sec: Option<u32>,
}

/// A custom health probe.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Probe {
    /// `Http` or `Https`.
    pub protocol: Option<String>,
    /// Host header.
    pub host: Option<String>,
    /// Path.
    pub path: Option<String>,
    /// Seconds between probes.
    pub interval: Option<u32>,
    /// Seconds to wait.
    pub timeout: Option<u32>,
    /// Failures before Down.
    pub unhealthy_threshold: Option<u32>,
    /// Use the HTTP settings' host.
    pub pick_host_name_from_backend_http_settings: Option<bool>,
    /// Port (v2).
    pub port: Option<u16>,
    /// Servers marked healthy whatever the probe says (default 0).
    pub min_servers: Option<u32>,
    /// Match conditions.
    #[serde(rename = "match")]
    pub matcher: Option<ProbeMatch>,
}

/// Probe match conditions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProbeMatch {
    /// Body substring.
    pub body: Option<String>,
    /// Status ranges (`200-399`).
    #[serde(deserialize_with = "lenient")]
    pub status_codes: Vec<String>,
}

/// A listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Listener {
    /// Frontend port.
    pub frontend_port: Option<SubRef>,
    /// `Http` / `Https`.
    pub protocol: Option<String>,
    /// Single host name.
    pub host_name: Option<String>,
    /// Host names (multi-site).
    #[serde(deserialize_with = "lenient")]
    pub host_names: Vec<String>,
    /// Custom error pages.
    #[serde(deserialize_with = "lenient")]
    pub custom_error_configurations: Vec<CustomError>,
}

/// A custom error page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CustomError {
    /// `HttpStatus502`, `HttpStatus403`, ...
    pub status_code: Option<String>,
    /// The page URL.
    pub custom_error_page_url: Option<String>,
}

/// A routing rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoutingRule {
    /// `Basic` or `PathBasedRouting`.
    pub rule_type: Option<String>,
    /// Priority (v2).
    pub priority: Option<u32>,
    /// Listener.
    pub http_listener: Option<SubRef>,
    /// Pool (basic rules).
    pub backend_address_pool: Option<SubRef>,
    /// Settings (basic rules).
    pub backend_http_settings: Option<SubRef>,
    /// Path map (path-based rules).
    pub url_path_map: Option<SubRef>,
    /// Redirect instead of a pool.
    pub redirect_configuration: Option<SubRef>,
    /// Header and URL rewrites.
    pub rewrite_rule_set: Option<SubRef>,
    /// Weighted pools instead of (or beside) the pool.
    pub load_distribution_policy: Option<SubRef>,
}

/// A path map.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UrlPathMap {
    /// Pool for unmatched paths.
    pub default_backend_address_pool: Option<SubRef>,
    /// Settings for unmatched paths.
    pub default_backend_http_settings: Option<SubRef>,
    /// Rewrites for unmatched paths.
    pub default_rewrite_rule_set: Option<SubRef>,
    /// Weighted pools for unmatched paths.
    pub default_load_distribution_policy: Option<SubRef>,
    /// Path rules.
    #[serde(deserialize_with = "lenient")]
    pub path_rules: Vec<Child<PathRule>>,
}

/// One path rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PathRule {
    /// Paths (`/api/*`).
    #[serde(deserialize_with = "lenient")]
    pub paths: Vec<String>,
    /// Pool.
    pub backend_address_pool: Option<SubRef>,
    /// Settings.
    pub backend_http_settings: Option<SubRef>,
    /// Rewrites.
    pub rewrite_rule_set: Option<SubRef>,
    /// Weighted pools.
    pub load_distribution_policy: Option<SubRef>,
}

/// The backend-health result (`ApplicationGatewayBackendHealth`, KB 2.1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackendHealth {
    /// One entry per pool.
    #[serde(deserialize_with = "lenient")]
    pub backend_address_pools: Vec<PoolHealth>,
}

/// Health of one pool.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolHealth {
    /// The pool.
    #[serde(deserialize_with = "nullable")]
    pub backend_address_pool: SubRef,
    /// One entry per HTTP settings using the pool.
    #[serde(deserialize_with = "lenient")]
    pub backend_http_settings_collection: Vec<SettingsHealth>,
    /// Layer-4 (TCP/TLS proxy) settings using the pool. NOT in the swagger (2025-03-01
    /// `ApplicationGatewayBackendHealthPool` has only `backendHttpSettingsCollection`) and no
    /// official or captured L4 backend-health body was found (INVENTORY.md section 2): this
    /// key is a guess from the configuration's own name, read only if a gateway sends it. An
    /// L4 settings id inside `backendHttpSettingsCollection` is matched as well (`convert`).
    #[serde(deserialize_with = "lenient")]
    pub backend_settings_collection: Vec<SettingsHealth>,
}

/// Health of a pool's servers under one HTTP settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SettingsHealth {
    /// The settings (`backendSettings` in the guessed layer-4 shape above).
    #[serde(deserialize_with = "nullable", alias = "backendSettings")]
    pub backend_http_settings: SubRef,
    /// Servers.
    #[serde(deserialize_with = "lenient")]
    pub servers: Vec<ServerHealth>,
}

/// One server's health.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServerHealth {
    /// Address.
    #[serde(deserialize_with = "nullable")]
    pub address: String,
    /// As sent: `Healthy` / `Unhealthy` / `Unknown` from real gateways, `Up` / `Down` /
    /// `Partial` / `Draining` in the swagger (KB 9.1). Kept verbatim; mapped in `convert`.
    #[serde(deserialize_with = "nullable")]
    pub health: String,
    /// The probe's message (KB 2.2), verbatim.
    pub health_probe_log: Option<String>,
    /// The failure class (`HttpStatusCodeMismatchWithStatusCode`, `SuccessWithStatusCode`):
    /// not in the swagger, sent by real gateways (KB 9.1).
    pub health_probe_error_name: Option<String>,
    /// `{"certificateChainMetadata": [...]}` on real gateways; its elements' shape is not
    /// documented, so it is kept as JSON.
    pub backend_certificate_chain_metadata: Option<Value>,
}

/// A rewrite rule set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RewriteRuleSet {
    /// Its rules.
    #[serde(deserialize_with = "lenient")]
    pub rewrite_rules: Vec<RewriteRule>,
}

/// One rewrite rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RewriteRule {
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// What it does.
    pub action_set: Option<ActionSet>,
}

/// A rewrite rule's actions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ActionSet {
    /// Request headers set.
    #[serde(deserialize_with = "lenient")]
    pub request_header_configurations: Vec<HeaderConfig>,
}

/// A header set by a rewrite.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HeaderConfig {
    /// `Host`, `X-Forwarded-For`, ...
    pub header_name: Option<String>,
    /// The value (may hold server variables).
    pub header_value: Option<String>,
}

/// A load distribution policy: pools with weights.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadDistributionPolicy {
    /// Its targets.
    #[serde(deserialize_with = "lenient")]
    pub load_distribution_targets: Vec<Child<LoadDistributionTarget>>,
}

/// One target of a load distribution policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadDistributionTarget {
    /// Weight.
    pub weight_per_server: Option<u32>,
    /// The pool.
    pub backend_address_pool: Option<SubRef>,
}

/// A layer-4 listener (TCP/TLS proxy).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct L4Listener {
    /// Frontend port.
    pub frontend_port: Option<SubRef>,
    /// `Tcp` / `Tls`.
    pub protocol: Option<String>,
}

/// A layer-4 routing rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct L4Rule {
    /// Priority.
    pub priority: Option<u32>,
    /// Listener.
    pub listener: Option<SubRef>,
    /// Pool.
    pub backend_address_pool: Option<SubRef>,
    /// Settings.
    pub backend_settings: Option<SubRef>,
}

/// Layer-4 backend settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct L4Settings {
    /// Backend port.
    pub port: Option<u16>,
    /// `Tcp` / `Tls`.
    pub protocol: Option<String>,
    /// Connection timeout, seconds.
    pub timeout: Option<u32>,
    /// Host name (SNI) for TLS.
    pub host_name: Option<String>,
    /// Probe.
    pub probe: Option<SubRef>,
    /// Trusted roots.
    #[serde(deserialize_with = "lenient")]
    pub trusted_root_certificates: Vec<SubRef>,
}

macro_rules! elements {
    ($($t:ty => $what:literal),* $(,)?) => {
        $(impl Element for $t {
            const WHAT: &'static str = $what;
        })*
    };
}

elements! {
    SubRef => "reference",
    GatewayIpConfig => "gateway IP configuration",
    FrontendPort => "frontend port",
    PoolProps => "backend pool",
    BackendAddress => "backend address",
    HttpSettings => "backend HTTP settings",
    Probe => "probe",
    Listener => "listener",
    CustomError => "custom error page",
    RoutingRule => "routing rule",
    UrlPathMap => "URL path map",
    PathRule => "path rule",
    PoolHealth => "backend-health pool",
    SettingsHealth => "backend-health HTTP settings",
    ServerHealth => "server",
    SecurityRule => "NSG rule",
    RouteProps => "route",
    QueryTable => "result table",
    QueryColumn => "column",
    Vec<Value> => "row",
    RewriteRuleSet => "rewrite rule set",
    RewriteRule => "rewrite rule",
    HeaderConfig => "header",
    LoadDistributionPolicy => "load distribution policy",
    LoadDistributionTarget => "load distribution target",
    L4Listener => "layer-4 listener",
    L4Rule => "layer-4 routing rule",
    L4Settings => "layer-4 backend settings",
    NicIpConfig => "IP configuration",
    SubnetProps => "subnet",
}

/// `GET .../virtualNetworks/{vnet}/subnets/{subnet}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Subnet {
    /// Properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: SubnetProps,
}

/// Subnet properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubnetProps {
    /// Its NSG.
    pub network_security_group: Option<SubRef>,
    /// Its route table.
    pub route_table: Option<SubRef>,
    /// Its address range (`10.0.0.0/24`).
    pub address_prefix: Option<String>,
    /// Its address ranges, when several.
    #[serde(deserialize_with = "lenient")]
    pub address_prefixes: Vec<String>,
}

/// `GET .../virtualNetworks/{vnet}`: its subnets, each with its address ranges and NSG (read to
/// find the subnet, and so the NSG, of an IP pool member).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Vnet {
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: VnetProps,
}

/// Virtual network properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VnetProps {
    /// Its subnets.
    #[serde(deserialize_with = "lenient")]
    pub subnets: Vec<Child<SubnetProps>>,
}

/// `GET .../networkInterfaces/{name}`: a NIC-based pool member.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Nic {
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: NicProps,
}

/// NIC properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NicProps {
    /// The NIC's own NSG.
    pub network_security_group: Option<SubRef>,
    /// Its IP configurations.
    #[serde(deserialize_with = "lenient")]
    pub ip_configurations: Vec<Child<NicIpConfig>>,
}

/// A NIC IP configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NicIpConfig {
    /// Its subnet.
    pub subnet: Option<SubRef>,
}

/// `GET .../networkSecurityGroups/{name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Nsg {
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: NsgProps,
}

/// NSG properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NsgProps {
    /// User rules.
    #[serde(deserialize_with = "lenient")]
    pub security_rules: Vec<Child<SecurityRule>>,
    /// Azure's default rules.
    #[serde(deserialize_with = "lenient")]
    pub default_security_rules: Vec<Child<SecurityRule>>,
}

/// One NSG rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityRule {
    /// `Inbound` / `Outbound`.
    #[serde(deserialize_with = "nullable")]
    pub direction: String,
    /// `Allow` / `Deny`.
    #[serde(deserialize_with = "nullable")]
    pub access: String,
    /// Lower wins.
    #[serde(deserialize_with = "nullable")]
    pub priority: u32,
    /// `Tcp`, `Udp`, `*`, ...
    #[serde(deserialize_with = "nullable")]
    pub protocol: String,
    /// One source.
    pub source_address_prefix: Option<String>,
    /// Several sources.
    #[serde(deserialize_with = "lenient")]
    pub source_address_prefixes: Vec<String>,
    /// One destination port range.
    pub destination_port_range: Option<String>,
    /// Several destination port ranges.
    #[serde(deserialize_with = "lenient")]
    pub destination_port_ranges: Vec<String>,
    /// One destination.
    pub destination_address_prefix: Option<String>,
    /// Several destinations.
    #[serde(deserialize_with = "lenient")]
    pub destination_address_prefixes: Vec<String>,
}

/// `GET .../routeTables/{name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RouteTable {
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: RouteTableProps,
}

/// Route table properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[serde(rename_all = "camelCase")]
pub struct RouteTableProps {
    /// Routes.
    #[serde(deserialize_with = "lenient")]
    pub routes: Vec<Child<RouteProps>>,
    /// False (the default): routes learned over BGP (ExpressRoute, VPN) reach the subnet too,
    /// a default route among them, which this table does not show.
    pub disable_bgp_route_propagation: Option<bool>,
}

/// One route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RouteProps {
    /// `0.0.0.0/0`, ...
    #[serde(deserialize_with = "nullable")]
    pub address_prefix: String,
    /// `Internet`, `VirtualAppliance`, `VirtualNetworkGateway`, `None`, ...
    #[serde(deserialize_with = "nullable")]
    pub next_hop_type: String,
    /// Appliance IP.
    pub next_hop_ip_address: Option<String>,
}

/// A Log Analytics query response (KB 2.3, [Z6]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueryResponse {
    /// Result tables.
    #[serde(deserialize_with = "lenient")]
    pub tables: Vec<QueryTable>,
}

/// One result table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueryTable {
    /// Name (`PrimaryResult`).
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Columns.
    #[serde(deserialize_with = "lenient")]
    pub columns: Vec<QueryColumn>,
    /// Rows of cells.
    #[serde(deserialize_with = "lenient")]
    pub rows: Vec<Vec<Value>>,
}

/// One column.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueryColumn {
    /// Name.
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// Kusto type.
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub kind: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_documented_backend_health_shape_parses() {
        // KB 2.1 response shape, with an unknown field.
        let body = r#"{"backendAddressPools":[{"backendAddressPool":{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationGateways/gw/backendAddressPools/pool-a"},"backendHttpSettingsCollection":[{"backendHttpSettings":{"id":".../backendHttpSettingsCollection/s1"},"servers":[{"address":"10.0.0.5","ipConfiguration":{"id":"x"},"health":"Down","healthProbeLog":"Time taken by the backend ...","newField":1}]}]}]}"#;
        let h: BackendHealth = serde_json::from_str(body).unwrap();
        let pool = &h.backend_address_pools[0];
        assert_eq!(pool.backend_address_pool.name(), "pool-a");
        let s = &pool.backend_http_settings_collection[0];
        assert_eq!(s.backend_http_settings.name(), "s1");
        assert_eq!(s.servers[0].health, "Down");
    }

    #[test]
    fn a_sparse_gateway_parses() {
        let g: Gateway =
            serde_json::from_str(r#"{"name":"gw","properties":{"sku":{"name":"Standard_v2"}}}"#)
                .unwrap();
        assert_eq!(g.properties.sku.name.as_deref(), Some("Standard_v2"));
        assert!(g.properties.probes.is_empty());
    }
}
