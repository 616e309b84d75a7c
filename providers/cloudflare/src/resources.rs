//! API v4 resources, as cloud502 reads them (KB 3.2): every field optional, unknown fields ignored,
//! so a new or missing field never fails a run.

use serde::{Deserialize, Deserializer};

/// A field that real answers sometimes carry as `null` (KB 9.3): read as its default, so one
/// `null` costs that field only, never the element or the whole list.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}
use std::collections::BTreeMap;

/// `GET /zones/{id}`, `GET /zones?name=`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Zone {
    /// Zone id (32 hex).
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Apex name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// `active`, `pending`, `initializing`, `moved`, `deleted`, `deactivated`.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// True when Cloudflare only answers DNS and does not proxy.
    #[serde(deserialize_with = "null_default")]
    pub paused: bool,
    /// The plan.
    #[serde(deserialize_with = "null_default")]
    pub plan: Named,
    /// The owning account.
    #[serde(deserialize_with = "null_default")]
    pub account: Named,
}

/// `{id, name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Named {
    /// Id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
}

/// `GET /zones/{id}/settings/{name}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ZoneSetting {
    /// Setting name (`ssl`).
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Its value (`"full"`, `100`).
    pub value: serde_json::Value,
}

impl ZoneSetting {
    /// The value as text.
    pub fn text(&self) -> String {
        match &self.value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// `GET /zones/{id}/dns_records`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DnsRecord {
    /// Record id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Full name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, ...
    #[serde(rename = "type")]
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    /// Address or target.
    #[serde(deserialize_with = "null_default")]
    pub content: String,
    /// Orange cloud.
    pub proxied: Option<bool>,
    /// TTL (1 = automatic).
    pub ttl: Option<u32>,
}

/// `GET /zones/{id}/load_balancers`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LoadBalancer {
    /// Id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// The host name it answers for.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Orange cloud.
    pub proxied: Option<bool>,
    /// Pool ids in failover order.
    #[serde(deserialize_with = "null_default")]
    pub default_pools: Vec<String>,
    /// The pool used when every other is unhealthy.
    #[serde(deserialize_with = "null_default")]
    pub fallback_pool: String,
    /// Region → pool ids.
    #[serde(deserialize_with = "null_default")]
    pub region_pools: BTreeMap<String, Vec<String>>,
    /// PoP → pool ids.
    #[serde(deserialize_with = "null_default")]
    pub pop_pools: BTreeMap<String, Vec<String>>,
    /// Country → pool ids.
    #[serde(deserialize_with = "null_default")]
    pub country_pools: BTreeMap<String, Vec<String>>,
}

impl LoadBalancer {
    /// Every pool id it can send traffic to, default pools first, without repeats.
    pub fn pool_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        let all = self
            .default_pools
            .iter()
            .chain(std::iter::once(&self.fallback_pool))
            .chain(self.region_pools.values().flatten())
            .chain(self.pop_pools.values().flatten())
            .chain(self.country_pools.values().flatten());
        for id in all {
            if !id.is_empty() && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }
}

/// `GET /accounts/{id}/load_balancers/pools`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Pool {
    /// Id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Healthy origins needed for the pool to be healthy.
    pub minimum_origins: Option<u32>,
    /// Monitor id.
    pub monitor: Option<String>,
    /// Origins.
    #[serde(deserialize_with = "null_default")]
    pub origins: Vec<PoolOrigin>,
    /// Some responses carry the pool's health.
    pub healthy: Option<bool>,
}

/// One origin of a pool.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PoolOrigin {
    /// Name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// IP or host name.
    #[serde(deserialize_with = "null_default")]
    pub address: String,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Weight (0-1).
    pub weight: Option<f64>,
}

/// `GET /accounts/{id}/load_balancers/monitors/{id}`: how a pool's origins are checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Monitor {
    /// Id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// `http`, `https`, `tcp`, `udp_icmp`, `icmp_ping`, `smtp`.
    #[serde(rename = "type")]
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    /// Description.
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    /// `GET`, `HEAD`.
    #[serde(deserialize_with = "null_default")]
    pub method: String,
    /// Path requested.
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    /// Port; 0 or absent: the scheme's default.
    pub port: Option<u16>,
    /// Expected codes (`2xx`, `200`).
    #[serde(deserialize_with = "null_default")]
    pub expected_codes: String,
    /// Expected body substring.
    #[serde(deserialize_with = "null_default")]
    pub expected_body: String,
    /// Request headers, e.g. `{"Host": ["example.com"]}`.
    pub header: Option<BTreeMap<String, Vec<String>>>,
    /// Follow redirects.
    pub follow_redirects: Option<bool>,
    /// Accept any certificate.
    pub allow_insecure: Option<bool>,
}

impl Monitor {
    /// `HTTPS GET /health on port 8443 with Host api.example.com, expects 200`.
    pub fn describe(&self) -> String {
        let kind = if self.kind.is_empty() {
            "http".to_owned()
        } else {
            self.kind.to_ascii_lowercase()
        };
        let mut out = if matches!(kind.as_str(), "http" | "https") {
            format!(
                "{} {} {}",
                kind.to_ascii_uppercase(),
                if self.method.is_empty() {
                    "GET"
                } else {
                    &self.method
                },
                if self.path.is_empty() {
                    "/"
                } else {
                    &self.path
                }
            )
        } else {
            kind.to_ascii_uppercase()
        };
        match self.port.filter(|p| *p != 0) {
            Some(p) => out.push_str(&format!(" on port {p}")),
            None => out.push_str(match kind.as_str() {
                "https" => " on port 443",
                "http" => " on port 80",
                _ => "",
            }),
        }
        let host = self
            .header
            .as_ref()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("host")))
            .and_then(|(_, v)| v.first());
        if let Some(h) = host {
            out.push_str(&format!(" with Host {h}"));
        } else if matches!(kind.as_str(), "http" | "https") {
            out.push_str(" with the origin's address as Host (no Host header set)");
        }
        if !self.expected_codes.is_empty() {
            out.push_str(&format!(", expects {}", self.expected_codes));
        }
        if !self.expected_body.is_empty() {
            out.push_str(&format!(" and a body containing {:?}", self.expected_body));
        }
        out
    }
}

/// `GET /zones/{id}/healthchecks`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Healthcheck {
    /// Id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// IP or host name checked.
    #[serde(deserialize_with = "null_default")]
    pub address: String,
    /// `HTTP`, `HTTPS`, `TCP`.
    #[serde(rename = "type")]
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    /// `unknown`, `healthy`, `unhealthy`, `suspended`.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    /// Why it failed.
    #[serde(deserialize_with = "null_default")]
    pub failure_reason: String,
    /// Suspended by the user.
    pub suspended: Option<bool>,
    /// HTTP(S) settings.
    pub http_config: Option<HttpConfig>,
    /// TCP settings.
    pub tcp_config: Option<TcpConfig>,
}

/// `http_config` of a health check.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Method.
    #[serde(deserialize_with = "null_default")]
    pub method: String,
    /// Path.
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    /// Port.
    pub port: Option<u16>,
    /// Expected codes (`2xx`).
    #[serde(deserialize_with = "null_default")]
    pub expected_codes: Vec<String>,
    /// Request headers, e.g. `{"Host": ["www.example.com"]}`; `null` in real answers.
    pub header: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

impl HttpConfig {
    /// The `Host` header the check sends, if it sets one.
    pub fn host(&self) -> Option<&str> {
        self.header
            .as_ref()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

/// `tcp_config` of a health check.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TcpConfig {
    /// Port.
    pub port: Option<u16>,
}

/// One origin's health in one region, from `pools/{id}/health`.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginHealth {
    /// Region (or PoP) the checks ran from.
    pub region: String,
    /// Origin address (the key of the entry).
    pub address: String,
    /// Healthy.
    pub healthy: Option<bool>,
    /// `failure_reason`, without "No failures".
    pub failure_reason: Option<String>,
    /// HTTP status the monitor got.
    pub response_code: Option<u16>,
    /// Round-trip time as given (`12.1ms`).
    pub rtt: Option<String>,
}

/// Read `pools/{id}/health` `result` (KB 3.2: `pop_health` keyed by region, origins keyed by IP;
/// the SDK's typed shape, with `pop_health` holding `{healthy, origins}` directly, is read too).
pub fn pool_health(result: &serde_json::Value) -> Vec<OriginHealth> {
    let mut out = Vec::new();
    let Some(pop) = result.get("pop_health").and_then(|v| v.as_object()) else {
        return out;
    };
    let regions: Vec<(String, &serde_json::Value)> = if pop.contains_key("origins") {
        vec![(
            "-".to_owned(),
            result.get("pop_health").unwrap_or(&serde_json::Value::Null),
        )]
    } else {
        pop.iter().map(|(k, v)| (k.clone(), v)).collect()
    };
    for (region, v) in regions {
        let origins = v.get("origins").and_then(|o| o.as_array());
        for entry in origins.into_iter().flatten() {
            let Some(obj) = entry.as_object() else {
                continue;
            };
            // `{"<ip>": {...}}`, or a flat `{ip|address, healthy, ...}`.
            let (address, fields) = match (obj.len(), obj.iter().next()) {
                (1, Some((k, inner))) if inner.is_object() => (k.clone(), inner),
                _ => (
                    obj.get("ip")
                        .or_else(|| obj.get("address"))
                        .and_then(|a| a.as_str())
                        .unwrap_or("-")
                        .to_owned(),
                    entry,
                ),
            };
            let reason = fields
                .get("failure_reason")
                .and_then(|r| r.as_str())
                .map(str::trim)
                .filter(|r| !r.is_empty() && !r.eq_ignore_ascii_case("No failures"))
                .map(str::to_owned);
            out.push(OriginHealth {
                region: region.clone(),
                address,
                healthy: fields.get("healthy").and_then(|h| h.as_bool()),
                failure_reason: reason,
                response_code: fields
                    .get("response_code")
                    .and_then(|c| c.as_u64())
                    .and_then(|c| u16::try_from(c).ok()),
                rtt: fields.get("rtt").and_then(|r| match r {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(format!("{n}ms")),
                    _ => None,
                }),
            });
        }
    }
    out
}

/// One row of `httpRequestsAdaptiveGroups`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AnalyticsRow {
    /// Requests.
    #[serde(deserialize_with = "null_default")]
    pub count: u64,
    /// The grouping.
    #[serde(deserialize_with = "null_default")]
    pub dimensions: AnalyticsDimensions,
}

/// The dimensions cloud502 groups by.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AnalyticsDimensions {
    /// Status the client got.
    #[serde(deserialize_with = "null_default")]
    pub edge_response_status: u16,
    /// Status the origin gave; 0 = no origin response (KB 0.3).
    #[serde(deserialize_with = "null_default")]
    pub origin_response_status: u16,
    /// Edge data centre.
    #[serde(deserialize_with = "null_default")]
    pub colo_code: String,
    /// The minute, RFC 3339.
    #[serde(deserialize_with = "null_default")]
    pub datetime_minute: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn analytics_rows_read_cloudflares_documented_graphql_answer() {
        // Cloudflare's own httpRequestsAdaptiveGroups example (fixture with provenance): the
        // fields cloud502 does not ask for (avg, sum) are ignored, absent dimensions default.
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../tests/fixtures/official/graphql-adaptive-groups-by-colo.json"
        ))
        .unwrap();
        assert!(v["errors"].is_null());
        let rows: Vec<AnalyticsRow> =
            serde_json::from_value(v.pointer("/data/viewer/zones/0/series").unwrap().clone())
                .unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].count, 4350);
        assert_eq!(rows[0].dimensions.colo_code, "LHR");
        assert_eq!(rows[0].dimensions.edge_response_status, 0);
        assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), 17_410);
    }

    #[test]
    fn pool_health_reads_the_documented_shape() {
        // The API reference's example: regions by name, origins keyed by IP.
        let v = serde_json::json!({
            "pool_id": "17b5962d775c646f3f9725cbc7a53df4",
            "pop_health": {"Amsterdam, NL": {"healthy": true, "origins": [
                {"2001:DB8::5": {"failure_reason": "No failures", "healthy": true, "response_code": 401, "rtt": "12.1ms"}},
                {"192.0.2.7": {"failure_reason": "TCP connection failed", "healthy": false, "response_code": 0, "rtt": "0ms"}}
            ]}}
        });
        let h = pool_health(&v);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].address, "2001:DB8::5");
        assert_eq!(h[0].failure_reason, None);
        assert_eq!(h[0].response_code, Some(401));
        assert_eq!(h[1].healthy, Some(false));
        assert_eq!(
            h[1].failure_reason.as_deref(),
            Some("TCP connection failed")
        );
        assert_eq!(h[1].region, "Amsterdam, NL");
    }

    #[test]
    fn pool_health_reads_the_sdk_shape() {
        let v = serde_json::json!({"pool_id": "p", "pop_health": {"healthy": false, "origins": [
            {"ip": {"failure_reason": "HTTP timeout occurred", "healthy": false, "response_code": 0, "rtt": 0}}
        ]}});
        let h = pool_health(&v);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].address, "ip");
        assert_eq!(h[0].region, "-");
        assert_eq!(
            h[0].failure_reason.as_deref(),
            Some("HTTP timeout occurred")
        );
        assert!(pool_health(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn lb_pool_ids_in_order_without_repeats() {
        let lb: LoadBalancer = serde_json::from_value(serde_json::json!({
            "name": "www.example.com", "default_pools": ["a", "b"], "fallback_pool": "c",
            "region_pools": {"WNAM": ["b", "d"]}
        }))
        .unwrap();
        assert_eq!(lb.pool_ids(), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn a_null_in_an_optional_field_costs_that_field_only() {
        let list: Vec<Healthcheck> = serde_json::from_value(serde_json::json!([
            {"id": "a", "name": "www", "address": "203.0.113.10", "type": "HTTPS",
             "status": "healthy", "failure_reason": null, "description": null,
             "http_config": {"method": "GET", "path": "/", "port": 443,
                             "expected_codes": null, "header": null}},
            {"id": "b", "name": null, "address": "203.0.113.11", "type": "HTTPS",
             "status": "unhealthy", "failure_reason": "TCP connection failed"}
        ]))
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].failure_reason, "");
        assert!(
            list[0]
                .http_config
                .as_ref()
                .unwrap()
                .expected_codes
                .is_empty()
        );
        assert_eq!(list[1].name, "");
        assert_eq!(list[1].failure_reason, "TCP connection failed");
        let dns: Vec<DnsRecord> = serde_json::from_value(serde_json::json!([
            {"id": "r", "name": "www.example.com", "type": "A", "content": "203.0.113.10",
             "proxied": null, "ttl": null, "comment": null}
        ]))
        .unwrap();
        assert_eq!(dns[0].content, "203.0.113.10");
    }
}
