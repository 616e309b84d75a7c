//! Typed views of the few ARM resources the provider reads (KB 2.1). Every field is optional and
//! unknown fields are ignored, so newer api-versions and partial bodies still parse.

use serde::Deserialize;

/// A sub-resource reference `{"id": "..."}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SubRef {
    /// Full ARM id.
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
#[serde(default)]
pub struct Child<P> {
    /// Full ARM id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Properties.
    pub properties: P,
}

/// `GET .../applicationGateways/{name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Gateway {
    /// Full ARM id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Region.
    pub location: String,
    /// Properties.
    pub properties: GatewayProps,
}

/// Gateway properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GatewayProps {
    /// SKU.
    pub sku: Sku,
    /// `Running`, `Stopped`, ...
    pub operational_state: Option<String>,
    /// `Succeeded`, `Failed`, ...
    pub provisioning_state: Option<String>,
    /// Subnets the gateway sits in.
    #[serde(rename = "gatewayIPConfigurations")]
    pub gateway_ip_configurations: Vec<Child<GatewayIpConfig>>,
    /// Frontend ports.
    pub frontend_ports: Vec<Child<FrontendPort>>,
    /// Backend pools.
    pub backend_address_pools: Vec<Child<PoolProps>>,
    /// Backend HTTP settings.
    pub backend_http_settings_collection: Vec<Child<HttpSettings>>,
    /// Health probes.
    pub probes: Vec<Child<Probe>>,
    /// Listeners.
    pub http_listeners: Vec<Child<Listener>>,
    /// Routing rules.
    pub request_routing_rules: Vec<Child<RoutingRule>>,
    /// Path maps of path-based rules.
    pub url_path_maps: Vec<Child<UrlPathMap>>,
    /// Gateway-wide custom error pages.
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
    pub backend_addresses: Vec<BackendAddress>,
    /// NIC-based members.
    #[serde(rename = "backendIPConfigurations")]
    pub backend_ip_configurations: Vec<SubRef>,
}

/// An IP or FQDN member.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackendAddress {
    /// FQDN.
    pub fqdn: Option<String>,
    /// IP address.
    pub ip_address: Option<String>,
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
    pub host_names: Vec<String>,
    /// Custom error pages.
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
}

/// A path map.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UrlPathMap {
    /// Pool for unmatched paths.
    pub default_backend_address_pool: Option<SubRef>,
    /// Settings for unmatched paths.
    pub default_backend_http_settings: Option<SubRef>,
    /// Path rules.
    pub path_rules: Vec<Child<PathRule>>,
}

/// One path rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PathRule {
    /// Paths (`/api/*`).
    pub paths: Vec<String>,
    /// Pool.
    pub backend_address_pool: Option<SubRef>,
    /// Settings.
    pub backend_http_settings: Option<SubRef>,
}

/// The backend-health result (`ApplicationGatewayBackendHealth`, KB 2.1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BackendHealth {
    /// One entry per pool.
    pub backend_address_pools: Vec<PoolHealth>,
}

/// Health of one pool.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolHealth {
    /// The pool.
    pub backend_address_pool: SubRef,
    /// One entry per HTTP settings using the pool.
    pub backend_http_settings_collection: Vec<SettingsHealth>,
}

/// Health of a pool's servers under one HTTP settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SettingsHealth {
    /// The settings.
    pub backend_http_settings: SubRef,
    /// Servers.
    pub servers: Vec<ServerHealth>,
}

/// One server's health.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServerHealth {
    /// Address.
    pub address: String,
    /// `Up`, `Down`, `Unknown`, `Partial`, `Draining`.
    pub health: String,
    /// The probe's message (KB 2.2).
    pub health_probe_log: Option<String>,
}

/// `GET .../virtualNetworks/{vnet}/subnets/{subnet}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Subnet {
    /// Properties.
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
}

/// `GET .../networkSecurityGroups/{name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Nsg {
    /// Name.
    pub name: String,
    /// Properties.
    pub properties: NsgProps,
}

/// NSG properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NsgProps {
    /// User rules.
    pub security_rules: Vec<Child<SecurityRule>>,
    /// Azure's default rules.
    pub default_security_rules: Vec<Child<SecurityRule>>,
}

/// One NSG rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityRule {
    /// `Inbound` / `Outbound`.
    pub direction: String,
    /// `Allow` / `Deny`.
    pub access: String,
    /// Lower wins.
    pub priority: u32,
    /// `Tcp`, `Udp`, `*`, ...
    pub protocol: String,
    /// One source.
    pub source_address_prefix: Option<String>,
    /// Several sources.
    pub source_address_prefixes: Vec<String>,
    /// One destination port range.
    pub destination_port_range: Option<String>,
    /// Several destination port ranges.
    pub destination_port_ranges: Vec<String>,
}

/// `GET .../routeTables/{name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RouteTable {
    /// Name.
    pub name: String,
    /// Properties.
    pub properties: RouteTableProps,
}

/// Route table properties.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RouteTableProps {
    /// Routes.
    pub routes: Vec<Child<RouteProps>>,
}

/// One route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RouteProps {
    /// `0.0.0.0/0`, ...
    pub address_prefix: String,
    /// `Internet`, `VirtualAppliance`, `VirtualNetworkGateway`, `None`, ...
    pub next_hop_type: String,
    /// Appliance IP.
    pub next_hop_ip_address: Option<String>,
}

/// A Log Analytics query response (KB 2.3, [Z6]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueryResponse {
    /// Result tables.
    pub tables: Vec<QueryTable>,
}

/// One result table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueryTable {
    /// Name (`PrimaryResult`).
    pub name: String,
    /// Columns.
    pub columns: Vec<QueryColumn>,
    /// Rows of cells.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// One column.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueryColumn {
    /// Name.
    pub name: String,
    /// Kusto type.
    #[serde(rename = "type")]
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
