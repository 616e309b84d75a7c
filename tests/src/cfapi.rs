//! A local server on loopback that speaks the Cloudflare API v4 shapes cloud502 reads (KB 3.2):
//! the bearer check and the v4 envelope, zones, zone settings (`ssl`, `proxy_read_timeout`), DNS
//! records with `page`/`per_page` pagination, Load Balancing (load balancers, pools, pool health,
//! monitors), standalone Health Checks, the GraphQL Analytics API (`httpRequestsAdaptiveGroups`),
//! 429 rate limiting, missing token permissions, and a server that never answers. Cloudflare has no
//! emulator; the shapes follow Cloudflare's API schemas and SDKs, and captures in public issues
//! (sources next to each shape).
//!
//! Requests go to `http://127.0.0.1:PORT/client/v4/...` ([`CfServer::base`]). The server is
//! read-only: GET everywhere, plus POST on `/graphql`; any other method answers 405.
//!
//! Error answers (all with the v4 envelope `{success:false, errors:[{code,message}], messages:[],
//! result:null}`), in the order they are checked:
//! - a method other than GET (or POST on `/graphql`): 405, code 7001
//!   `Method DELETE not available for that URI.` (as api.cloudflare.com answers, e.g. for OPTIONS);
//! - no or wrong `Authorization: Bearer TOKEN`: 403, code 9109 `Invalid access token` (the code
//!   and message Cloudflare gives for a token it does not accept, cert-manager#4465, with 403 as in
//!   ddns-go#1341; a malformed header would get 400 code 6003 `Invalid request headers` instead,
//!   which this server does not model);
//! - [`Scenario::throttle`]: 429 with `retry-after: N`, code 971 `Please wait and consider
//!   throttling your request speed` (workers-sdk#10025; the rate-limit headers are documented at
//!   developers.cloudflare.com/fundamentals/api/reference/limits);
//! - [`Scenario::forbid`]: 403, code 10000 `Authentication error` (what a token without the
//!   permission for that resource gets);
//! - an unknown zone or pool identifier: 400, code 7003 `Could not route to /client/v4/zones/...,
//!   perhaps your object identifier is invalid?` (timothymiller/cloudflare-ddns#152,
//!   cf-terraforming#275 with HTTP 400); another account id: 403 code 10000;
//! - an unknown path: 400, code 7000 `No route for that URI` (Cloudflare's router answers 400,
//!   not 404).

use serde_json::{Map, Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The API token every request must carry as `Authorization: Bearer TOKEN` (40 characters, like
/// a real one).
pub const TOKEN: &str = "c502-test-token-7Qk2v9XbL4mN8pR1sT6wY3zA";
/// The zone id of [`Zone::default`] (32 hex digits).
pub const ZONE_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";
/// The zone name of [`Zone::default`].
pub const ZONE_NAME: &str = "example.com";
/// The account id of [`Zone::default`].
pub const ACCOUNT_ID: &str = "01a7362d577a6c3019a474fd6f485823";
/// The path prefix of the API, as on `https://api.cloudflare.com/client/v4`.
pub const PREFIX: &str = "/client/v4";
/// The timestamp used for `created_on` / `modified_on`.
pub const STAMP: &str = "2026-11-01T09:00:00.000000Z";

/// 32 hex digits derived from `seed` (stable ids for records, pools, ...).
pub fn hex_id(seed: &str) -> String {
    let fnv = |offset: u64| {
        seed.bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x84222325_cbf29ce4)
    )
}

/// The zone.
#[derive(Debug, Clone)]
pub struct Zone {
    /// 32-hex id.
    pub id: String,
    /// Apex name, e.g. `example.com`.
    pub name: String,
    /// Owning account id.
    pub account_id: String,
    /// Owning account name.
    pub account_name: String,
    /// `active`, `pending`, `initializing`, `moved`.
    pub status: String,
    /// Paused: Cloudflare passes traffic straight to the origin.
    pub paused: bool,
    /// Plan name: `Free Website`, `Pro Website`, `Business Website`, `Enterprise Website`.
    pub plan: String,
}

impl Default for Zone {
    fn default() -> Self {
        Zone {
            id: ZONE_ID.into(),
            name: ZONE_NAME.into(),
            account_id: ACCOUNT_ID.into(),
            account_name: "Example Account".into(),
            status: "active".into(),
            paused: false,
            plan: "Free Website".into(),
        }
    }
}

/// A DNS record.
#[derive(Debug, Clone)]
pub struct DnsRecord {
    /// 32-hex id.
    pub id: String,
    /// Full name, e.g. `www.example.com`.
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, `TXT`, ...
    pub kind: String,
    /// The content: an address, or a target host for CNAME.
    pub content: String,
    /// Orange-clouded.
    pub proxied: bool,
    /// 1 = automatic.
    pub ttl: u32,
}

impl DnsRecord {
    /// A record with an id derived from its name, type and content and TTL auto.
    pub fn new(name: &str, kind: &str, content: &str, proxied: bool) -> Self {
        DnsRecord {
            id: hex_id(&format!("dns {name} {kind} {content}")),
            name: name.into(),
            kind: kind.into(),
            content: content.into(),
            proxied,
            ttl: 1,
        }
    }
}

/// A load balancer (zone level).
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    /// 32-hex id.
    pub id: String,
    /// Its host name, e.g. `www.example.com`.
    pub name: String,
    /// Pool ids, in failover order.
    pub default_pools: Vec<String>,
    /// The pool used when every other pool is unhealthy.
    pub fallback_pool: String,
    /// Orange-clouded.
    pub proxied: bool,
    /// Enabled.
    pub enabled: bool,
}

impl LoadBalancer {
    /// An enabled, proxied load balancer over `pools` whose fallback is the last one.
    pub fn new(name: &str, pools: &[&str]) -> Self {
        LoadBalancer {
            id: hex_id(&format!("lb {name}")),
            name: name.into(),
            default_pools: pools.iter().map(|p| (*p).to_owned()).collect(),
            fallback_pool: pools.last().map(|p| (*p).to_owned()).unwrap_or_default(),
            proxied: true,
            enabled: true,
        }
    }
}

/// An origin in a pool.
#[derive(Debug, Clone)]
pub struct Origin {
    /// Its name in the pool.
    pub name: String,
    /// IP address or host name.
    pub address: String,
    /// Enabled.
    pub enabled: bool,
    /// Weight, 0 to 1.
    pub weight: f64,
}

impl Origin {
    /// An enabled origin with weight 1.
    pub fn new(name: &str, address: &str) -> Self {
        Origin {
            name: name.into(),
            address: address.into(),
            enabled: true,
            weight: 1.0,
        }
    }
}

/// A load-balancer pool (account level).
#[derive(Debug, Clone)]
pub struct Pool {
    /// 32-hex id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Origins.
    pub origins: Vec<Origin>,
    /// Monitor id.
    pub monitor: Option<String>,
    /// Enabled.
    pub enabled: bool,
    /// `healthy` as the old pool object carried it; `None`: the key is absent (the current
    /// OpenAPI schema has no `healthy` on a pool).
    pub healthy: Option<bool>,
    /// Minimum healthy origins.
    pub minimum_origins: u32,
}

impl Pool {
    /// An enabled pool named `name` (id derived from it) with these origins.
    pub fn new(name: &str, origins: Vec<Origin>) -> Self {
        Pool {
            id: hex_id(&format!("pool {name}")),
            name: name.into(),
            origins,
            monitor: None,
            enabled: true,
            healthy: None,
            minimum_origins: 1,
        }
    }
}

/// One origin's health as one region sees it.
#[derive(Debug, Clone)]
pub struct OriginHealth {
    /// The origin's address (the key of the object in the real shape).
    pub address: String,
    /// Healthy.
    pub healthy: bool,
    /// `No failures`, or a reason (KB 3.2: `TCP connection failed`, `TLS untrusted certificate
    /// error`, ...).
    pub failure_reason: String,
    /// The monitor's response code; `None`: the key is absent.
    pub response_code: Option<u16>,
    /// Round-trip time, e.g. `12.1ms`; `None`: the key is absent.
    pub rtt: Option<String>,
}

impl OriginHealth {
    /// A healthy origin: `No failures`, 200, `12.1ms`.
    pub fn healthy(address: &str) -> Self {
        OriginHealth {
            address: address.into(),
            healthy: true,
            failure_reason: "No failures".into(),
            response_code: Some(200),
            rtt: Some("12.1ms".into()),
        }
    }

    /// An unhealthy origin with this reason and no response code or RTT.
    pub fn unhealthy(address: &str, reason: &str) -> Self {
        OriginHealth {
            address: address.into(),
            healthy: false,
            failure_reason: reason.into(),
            response_code: None,
            rtt: None,
        }
    }
}

/// One region's (PoP's) view of a pool.
#[derive(Debug, Clone)]
pub struct RegionHealth {
    /// The key in `pop_health`: real answers use PoP names such as `Amsterdam, NL`.
    pub region: String,
    /// Whether the pool is healthy from there.
    pub healthy: bool,
    /// Its origins.
    pub origins: Vec<OriginHealth>,
}

/// The health of one pool.
#[derive(Debug, Clone)]
pub struct PoolHealth {
    /// The pool id.
    pub pool_id: String,
    /// Per region.
    pub regions: Vec<RegionHealth>,
}

/// How pool health lists origins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HealthShape {
    /// The real shape: `origins: [{"<ip>": {healthy, rtt, failure_reason, response_code}}]`
    /// (Cloudflare's OpenAPI example `load-balancing_health_details`, cloudflare-go's test
    /// fixtures, the Load Balancing API tutorial).
    #[default]
    Keyed,
    /// `origins: [{"ip": "<ip>", healthy, rtt, failure_reason, response_code}]`: not seen from
    /// the real API; for a client's tolerance of a list shape.
    Listed,
}

/// A load-balancer monitor (account level).
#[derive(Debug, Clone)]
pub struct Monitor {
    /// 32-hex id.
    pub id: String,
    /// `http`, `https`, `tcp`, ...
    pub kind: String,
    /// `GET`, `HEAD`.
    pub method: String,
    /// Path probed.
    pub path: String,
    /// Port; `None`: 0, the scheme's default.
    pub port: Option<u16>,
    /// e.g. `2xx`.
    pub expected_codes: String,
    /// Description.
    pub description: String,
    /// The `Host` header the monitor sends, if any.
    pub host: Option<String>,
}

impl Monitor {
    /// A `kind` monitor of `GET path` expecting 2xx.
    pub fn new(description: &str, kind: &str, path: &str) -> Self {
        Monitor {
            id: hex_id(&format!("monitor {description}")),
            kind: kind.into(),
            method: "GET".into(),
            path: path.into(),
            port: None,
            expected_codes: "2xx".into(),
            description: description.into(),
            host: None,
        }
    }
}

/// A standalone Health Check (zone level).
#[derive(Debug, Clone)]
pub struct Healthcheck {
    /// 32-hex id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Host name or IP checked.
    pub address: String,
    /// `HTTP`, `HTTPS`, `TCP`.
    pub kind: String,
    /// Port (in `http_config` or `tcp_config`).
    pub port: u16,
    /// Path (in `http_config`).
    pub path: String,
    /// `unknown`, `healthy`, `unhealthy`, `suspended`.
    pub status: String,
    /// The current failure reason; empty when healthy.
    pub failure_reason: String,
}

impl Healthcheck {
    /// A health check `kind` on `address:port` `path` in `status` with `failure_reason`.
    pub fn new(
        name: &str,
        address: &str,
        kind: &str,
        port: u16,
        status: &str,
        failure_reason: &str,
    ) -> Self {
        Healthcheck {
            id: hex_id(&format!("healthcheck {name}")),
            name: name.into(),
            address: address.into(),
            kind: kind.into(),
            port,
            path: "/".into(),
            status: status.into(),
            failure_reason: failure_reason.into(),
        }
    }
}

/// One `httpRequestsAdaptiveGroups` row.
#[derive(Debug, Clone)]
pub struct AnalyticsRow {
    /// `dimensions.edgeResponseStatus`.
    pub edge_status: u16,
    /// `dimensions.originResponseStatus` (0: the edge answered without the origin).
    pub origin_status: u16,
    /// `dimensions.coloCode`, e.g. `SJC`.
    pub colo: String,
    /// `dimensions.datetimeMinute`, e.g. `2026-11-21T10:05:00Z`.
    pub minute: String,
    /// `count`.
    pub count: u64,
}

impl AnalyticsRow {
    /// A row.
    pub fn new(edge_status: u16, origin_status: u16, colo: &str, minute: &str, count: u64) -> Self {
        AnalyticsRow {
            edge_status,
            origin_status,
            colo: colo.into(),
            minute: minute.into(),
            count,
        }
    }
}

/// How `settings/proxy_read_timeout` answers when [`Scenario::proxy_read_timeout`] is `None`
/// (a zone that is not Enterprise). Neither is confirmed from the real API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrtUnavailable {
    /// 400, code 1006 `Unrecognized zone setting name: proxy_read_timeout` (the answer Cloudflare
    /// gave for a setting the zone could not use, terraform-provider-cloudflare#1810).
    #[default]
    Error,
    /// 200 with `editable: false` and value `"100"`: terraform-provider-cloudflare#1511 suggests
    /// `GET /settings` lists `proxy_read_timeout` read-only on such zones.
    ReadOnly,
}

/// What the server holds and how it behaves.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The one zone.
    pub zone: Zone,
    /// `settings/ssl` value: `off`, `flexible`, `full`, `strict`.
    pub ssl: String,
    /// `settings/proxy_read_timeout` in seconds (Enterprise); `None`: see `prt_unavailable`.
    pub proxy_read_timeout: Option<u64>,
    /// How `proxy_read_timeout` answers when it is `None`.
    pub prt_unavailable: PrtUnavailable,
    /// DNS records.
    pub dns: Vec<DnsRecord>,
    /// Load balancers.
    pub load_balancers: Vec<LoadBalancer>,
    /// Pools.
    pub pools: Vec<Pool>,
    /// Pool health, by pool id; a pool without an entry answers `pop_health: {}`.
    pub pool_health: Vec<PoolHealth>,
    /// How pool health lists origins.
    pub health_shape: HealthShape,
    /// Monitors.
    pub monitors: Vec<Monitor>,
    /// Standalone health checks.
    pub healthchecks: Vec<Healthcheck>,
    /// GraphQL rows returned under the alias `requests`.
    pub analytics: Vec<AnalyticsRow>,
    /// GraphQL count returned under the alias `total` (`[{"count": N}]`).
    pub total_requests: u64,
    /// Every request answers 429 with `retry-after: N`.
    pub throttle: Option<u64>,
    /// Requests whose path (and query) contains one of these answer 403 code 10000.
    pub forbid: Vec<&'static str>,
    /// Accept and read every request, never answer.
    pub hang: bool,
    /// Cap on the page size of the paginated lists (zones, dns_records, healthchecks), whatever
    /// `per_page` the client asks for.
    pub per_page: Option<usize>,
    /// GraphQL answers 200 with `data: null` and this error message.
    pub graphql_error: Option<String>,
    /// Quote the `Authorization` header and the token back: in every answer's headers
    /// (`x-echo-authorization`, `www-authenticate`) and appended to every `errors[].message` of the
    /// v4 envelope `{"success":false,"errors":[{"code":..,"message":..}]}` and of GraphQL
    /// answers, as a hostile or careless server would. Written for these tests, not a capture.
    pub echo: bool,
    /// Requests whose path contains this answer 200 with a JSON body that never ends (no
    /// Content-Length, streamed until the client hangs up).
    pub endless: Option<&'static str>,
    /// Answer every request with `302 Found` to this URL.
    pub redirect: Option<String>,
    /// Cloudflare's own answers, served verbatim (`providers/cloudflare/tests/fixtures/official/`,
    /// see its PROVENANCE.md): the first whose path part is in the request's path and query
    /// answers it, before the token check.
    pub canned: Vec<Canned>,
    /// Lists answer `result_info` with `page`, `per_page` and `count` only, no `total_pages` or
    /// `total_count`, as some endpoints do (KB 9.3).
    pub bare_result_info: bool,
    /// Rules of the zone's `http_config_settings` entrypoint ruleset (Configuration Rules), as
    /// the API lists them; empty: the phase has no ruleset (404).
    pub config_rules: Vec<Value>,
    /// Rules of the zone's `http_request_origin` entrypoint ruleset (Origin Rules); empty: 404.
    pub origin_rules: Vec<Value>,
    /// Page Rules (`GET /zones/{id}/pagerules` `result`).
    pub page_rules: Vec<Value>,
    /// Workers routes (`GET /zones/{id}/workers/routes` `result`).
    pub worker_routes: Vec<Value>,
}

/// One of Cloudflare's own answers, served verbatim.
#[derive(Debug, Clone)]
pub struct Canned {
    /// Requests whose path and query contain this get the answer.
    pub path: &'static str,
    /// HTTP status.
    pub status: u16,
    /// The body, byte for byte.
    pub body: &'static str,
}

/// A fixture of `providers/cloudflare/tests/fixtures/official/` answering requests whose path
/// and query contain `path`.
#[macro_export]
macro_rules! cf_official {
    ($path:expr, $status:expr, $file:literal) => {
        $crate::cfapi::Canned {
            path: $path,
            status: $status,
            body: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../providers/cloudflare/tests/fixtures/official/",
                $file
            )),
        }
    };
}

impl Default for Scenario {
    /// The zone `example.com`, SSL `full`, nothing else.
    fn default() -> Self {
        Scenario {
            zone: Zone::default(),
            ssl: "full".into(),
            proxy_read_timeout: None,
            prt_unavailable: PrtUnavailable::default(),
            dns: Vec::new(),
            load_balancers: Vec::new(),
            pools: Vec::new(),
            pool_health: Vec::new(),
            health_shape: HealthShape::default(),
            monitors: Vec::new(),
            healthchecks: Vec::new(),
            analytics: Vec::new(),
            total_requests: 0,
            throttle: None,
            forbid: Vec::new(),
            hang: false,
            per_page: None,
            graphql_error: None,
            echo: false,
            endless: None,
            redirect: None,
            canned: Vec::new(),
            bare_result_info: false,
            config_rules: Vec::new(),
            origin_rules: Vec::new(),
            page_rules: Vec::new(),
            worker_routes: Vec::new(),
        }
    }
}

/// An example incident: `www.example.com` proxied to 203.0.113.10 in SSL `strict`, a load
/// balancer `lb.example.com` over pool `web` (203.0.113.10 healthy, 203.0.113.11 failing TLS) with
/// fallback pool `dr`, a failing HTTPS health check, and 5xx analytics: edge-made 502s at SJC and
/// origin-made 502s at AMS.
pub fn incident() -> Scenario {
    let monitor = Monitor::new("https-root", "https", "/");
    let mut web = Pool::new(
        "web",
        vec![
            Origin::new("web-1", "203.0.113.10"),
            Origin::new("web-2", "203.0.113.11"),
        ],
    );
    web.monitor = Some(monitor.id.clone());
    web.healthy = Some(true);
    let mut dr = Pool::new("dr", vec![Origin::new("dr-1", "198.51.100.20")]);
    dr.monitor = Some(monitor.id.clone());
    let lb = LoadBalancer::new("lb.example.com", &[&web.id, &dr.id]);
    Scenario {
        ssl: "strict".into(),
        dns: vec![
            DnsRecord::new("www.example.com", "A", "203.0.113.10", true),
            DnsRecord::new("example.com", "A", "203.0.113.10", true),
            DnsRecord::new("mail.example.com", "A", "203.0.113.25", false),
        ],
        pool_health: vec![PoolHealth {
            pool_id: web.id.clone(),
            regions: vec![RegionHealth {
                region: "Amsterdam, NL".into(),
                healthy: true,
                origins: vec![
                    OriginHealth::healthy("203.0.113.10"),
                    OriginHealth::unhealthy("203.0.113.11", "TLS untrusted certificate error"),
                ],
            }],
        }],
        load_balancers: vec![lb],
        pools: vec![web, dr],
        monitors: vec![monitor],
        healthchecks: vec![Healthcheck::new(
            "www-https",
            "203.0.113.10",
            "HTTPS",
            443,
            "unhealthy",
            "TLS untrusted certificate error",
        )],
        analytics: vec![
            AnalyticsRow::new(502, 0, "SJC", "2026-11-21T10:05:00Z", 40),
            AnalyticsRow::new(502, 502, "AMS", "2026-11-21T10:06:00Z", 7),
            AnalyticsRow::new(526, 0, "SJC", "2026-11-21T10:07:00Z", 3),
        ],
        total_requests: 1000,
        ..Scenario::default()
    }
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Path and query, as sent (e.g. `/client/v4/zones?name=example.com`).
    pub path_and_query: String,
    /// Whether it carried `Authorization: Bearer TOKEN`.
    pub authorized: bool,
    /// The body.
    pub body: String,
    /// Every header, names lowercased, in order.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.path_and_query
            .split('?')
            .next()
            .unwrap_or(&self.path_and_query)
    }

    /// A query parameter, percent-decoded.
    pub fn query(&self, key: &str) -> Option<String> {
        query_pairs(&self.path_and_query)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running server; it lives until the test process ends.
#[derive(Debug, Clone)]
pub struct CfServer {
    /// Loopback port.
    pub port: u16,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl CfServer {
    /// The API base, `http://127.0.0.1:PORT/client/v4` (for `--api-base`).
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}{PREFIX}", self.port)
    }

    /// Requests seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    /// The JSON bodies of the POSTs to `/graphql` (`{"query": ..., "variables": {...}}`).
    pub fn graphql_requests(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path() == format!("{PREFIX}/graphql"))
            .map(|r| serde_json::from_str(&r.body).unwrap_or(Value::Null))
            .collect()
    }
}

/// Start serving `scenario` on a loopback port, one thread per connection, `Connection: close`.
pub fn start(scenario: Scenario) -> CfServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let scenario = Arc::new(scenario);
    let server = CfServer {
        port,
        seen: seen.clone(),
    };
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            let scenario = scenario.clone();
            std::thread::spawn(move || serve(stream, &seen, &scenario));
        }
    });
    server
}

/// An answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn reply(status: u16, body: &Value) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

/// The v4 error envelope with one error.
pub fn error_envelope(code: u32, message: &str) -> Value {
    json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null})
}

/// The v4 success envelope around `result`.
pub fn ok_envelope(result: Value) -> Value {
    json!({"success": true, "errors": [], "messages": [], "result": result})
}

fn error(status: u16, code: u32, message: &str) -> Reply {
    reply(status, &error_envelope(code, message))
}

fn ok(result: Value) -> Reply {
    reply(200, &ok_envelope(result))
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Request>>, scenario: &Scenario) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path_and_query = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h == "\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let body = String::from_utf8_lossy(&body).into_owned();
    let auth = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let authorized = auth == format!("Bearer {TOKEN}");
    seen.lock().unwrap().push(Request {
        method: method.clone(),
        path_and_query: path_and_query.clone(),
        authorized,
        body: body.clone(),
        headers,
    });
    if scenario.hang {
        std::thread::sleep(Duration::from_secs(300));
        return;
    }
    let path = path_and_query.split('?').next().unwrap_or("");
    if scenario.endless.is_some_and(|p| path.contains(p)) {
        return write_endless(reader.into_inner());
    }
    let mut r = match &scenario.redirect {
        Some(to) => Reply {
            status: 302,
            headers: vec![("location".into(), to.clone())],
            body: String::new(),
        },
        None => answer(&method, &path_and_query, authorized, &body, scenario),
    };
    if scenario.bare_result_info
        && let Ok(mut v) = serde_json::from_str::<Value>(&r.body)
        && let Some(info) = v.get_mut("result_info").and_then(Value::as_object_mut)
    {
        info.remove("total_pages");
        info.remove("total_count");
        r.body = v.to_string();
    }
    if scenario.echo {
        echo_back(&mut r, &auth);
    }
    write(reader.into_inner(), r);
}

/// Quote `auth` (the whole header) and the token alone back in `r`'s headers and in every error
/// message of its body.
fn echo_back(r: &mut Reply, auth: &str) {
    let token = auth.strip_prefix("Bearer ").unwrap_or(auth);
    r.headers
        .push(("x-echo-authorization".into(), auth.to_owned()));
    r.headers.push((
        "www-authenticate".into(),
        format!("Bearer error=\"invalid_token\", error_description=\"token {token} rejected\""),
    ));
    if let Ok(mut v) = serde_json::from_str::<Value>(&r.body)
        && let Some(errors) = v["errors"].as_array_mut()
    {
        for e in errors {
            let m = e["message"].as_str().unwrap_or("").to_owned();
            e["message"] = json!(format!(
                "{m} (request had 'Authorization: {auth}', token {token})"
            ));
        }
        r.body = v.to_string();
    }
}

/// 200 with a v4 envelope whose result array never ends, until the client hangs up.
fn write_endless(mut stream: TcpStream) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nServer: cloudflare\r\n\r\n{\"success\":true,\"errors\":[],\"result\":[";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let chunk = "{\"name\":\"endless\"},".repeat(4096);
    while stream.write_all(chunk.as_bytes()).is_ok() {}
}

fn answer(
    method: &str,
    path_and_query: &str,
    authorized: bool,
    body: &str,
    sc: &Scenario,
) -> Reply {
    let path = path_and_query.split('?').next().unwrap_or("");
    let graphql = path == format!("{PREFIX}/graphql");
    if !(method == "GET" || method == "POST" && graphql) {
        return error(
            405,
            7001,
            &format!("Method {method} not available for that URI."),
        );
    }
    if let Some(c) = sc.canned.iter().find(|c| path_and_query.contains(c.path)) {
        return Reply {
            status: c.status,
            headers: Vec::new(),
            body: c.body.to_owned(),
        };
    }
    if !authorized {
        return error(403, 9109, "Invalid access token");
    }
    if let Some(after) = sc.throttle {
        let mut r = error(
            429,
            971,
            "Please wait and consider throttling your request speed",
        );
        r.headers.push(("retry-after".into(), after.to_string()));
        return r;
    }
    if sc.forbid.iter().any(|f| path_and_query.contains(f)) {
        return error(403, 10000, "Authentication error");
    }
    if graphql {
        return answer_graphql(body, sc);
    }
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return error(400, 7000, "No route for that URI");
    };
    let query = query_pairs(path_and_query);
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let bad_id = || {
        error(
            400,
            7003,
            &format!("Could not route to {path}, perhaps your object identifier is invalid?"),
        )
    };
    match segments.as_slice() {
        ["zones"] => {
            let name = param(&query, "name");
            let zones: Vec<Value> = std::iter::once(&sc.zone)
                .filter(|z| name.is_none_or(|n| n == z.name))
                .map(zone_json)
                .collect();
            paginate(zones, &query, 20, sc.per_page)
        }
        ["zones", id, ..] if *id != sc.zone.id => bad_id(),
        ["zones", _] => ok(zone_json(&sc.zone)),
        ["zones", _, "settings"] => ok(Value::Array(
            std::iter::once(ssl_json(sc)).chain(prt_json(sc)).collect(),
        )),
        ["zones", _, "settings", "ssl"] => ok(ssl_json(sc)),
        ["zones", _, "settings", "proxy_read_timeout"] => match prt_json(sc) {
            Some(v) => ok(v),
            None => error(
                400,
                1006,
                "Unrecognized zone setting name: proxy_read_timeout",
            ),
        },
        ["zones", _, "settings", other] => error(
            400,
            1006,
            &format!("Unrecognized zone setting name: {other}"),
        ),
        ["zones", _, "dns_records"] => {
            let name = param(&query, "name").or_else(|| param(&query, "name.exact"));
            let kind = param(&query, "type");
            let records: Vec<Value> = sc
                .dns
                .iter()
                .filter(|r| name.is_none_or(|n| n.eq_ignore_ascii_case(&r.name)))
                .filter(|r| kind.is_none_or(|k| k.eq_ignore_ascii_case(&r.kind)))
                .map(dns_json)
                .collect();
            paginate(records, &query, 100, sc.per_page)
        }
        ["zones", _, "load_balancers"] => single_page(
            sc.load_balancers
                .iter()
                .map(|lb| lb_json(lb, &sc.zone))
                .collect(),
        ),
        ["zones", _, "rulesets", "phases", phase, "entrypoint"] => {
            let rules = match *phase {
                "http_config_settings" => &sc.config_rules,
                "http_request_origin" => &sc.origin_rules,
                _ => return error(400, 7000, "No route for that URI"),
            };
            if rules.is_empty() {
                // A phase without an entrypoint ruleset: 404 (code and message written here,
                // not a capture).
                return error(
                    404,
                    10003,
                    &format!("could not find entrypoint ruleset in the {phase} phase"),
                );
            }
            // The Rulesets API's ruleset shape (cloudflare-docs rules/origin-rules/create-api.mdx).
            ok(json!({
                "id": hex_id(&format!("ruleset {phase}")),
                "name": "default",
                "description": "",
                "kind": "zone",
                "version": "1",
                "rules": rules,
                "last_updated": STAMP,
                "phase": phase,
            }))
        }
        ["zones", _, "pagerules"] => ok(Value::Array(sc.page_rules.clone())),
        ["zones", _, "workers", "routes"] => ok(Value::Array(sc.worker_routes.clone())),
        ["zones", _, "healthchecks"] => paginate(
            sc.healthchecks.iter().map(healthcheck_json).collect(),
            &query,
            25,
            sc.per_page,
        ),
        ["accounts", account, ..] if *account != sc.zone.account_id => {
            error(403, 10000, "Authentication error")
        }
        ["accounts", _, "load_balancers", "pools"] => {
            single_page(sc.pools.iter().map(pool_json).collect())
        }
        ["accounts", _, "load_balancers", "pools", id] => {
            match sc.pools.iter().find(|p| p.id == *id) {
                Some(p) => ok(pool_json(p)),
                None => bad_id(),
            }
        }
        ["accounts", _, "load_balancers", "pools", id, "health"] => {
            if !sc.pools.iter().any(|p| p.id == *id) {
                return bad_id();
            }
            let health = sc.pool_health.iter().find(|h| h.pool_id == *id);
            ok(pool_health_json(id, health, sc.health_shape))
        }
        ["accounts", _, "load_balancers", "monitors", id] => {
            match sc.monitors.iter().find(|m| m.id == *id) {
                Some(m) => ok(monitor_json(m)),
                None => bad_id(),
            }
        }
        ["accounts", _, "load_balancers", "monitors"] => {
            single_page(sc.monitors.iter().map(monitor_json).collect())
        }
        _ => error(400, 7000, "No route for that URI"),
    }
}

/// GraphQL: `{"data":{"viewer":{"zones":[{"requests":[...],"total":[{"count":N}]}]}},
/// "errors":null}`, or 200 with `data: null` and an error (the GraphQL Analytics API answers its
/// errors with 200, developers.cloudflare.com/analytics/graphql-api/errors).
fn answer_graphql(body: &str, sc: &Scenario) -> Reply {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if parsed["query"].as_str().is_none() {
        return reply(
            200,
            &json!({"data": null, "errors": [{"message": "failed to recognize JSON request: no query", "path": null, "extensions": {"timestamp": STAMP}}]}),
        );
    }
    if let Some(message) = &sc.graphql_error {
        return reply(
            200,
            &json!({"data": null, "errors": [{"message": message, "path": ["viewer", "zones", "0", "requests"], "extensions": {"code": "authz", "timestamp": STAMP}}]}),
        );
    }
    let rows: Vec<Value> = sc
        .analytics
        .iter()
        .map(|r| {
            json!({"count": r.count, "dimensions": {
                "edgeResponseStatus": r.edge_status,
                "originResponseStatus": r.origin_status,
                "coloCode": r.colo,
                "datetimeMinute": r.minute,
            }})
        })
        .collect();
    reply(
        200,
        &json!({"data": {"viewer": {"zones": [{"requests": rows, "total": [{"count": sc.total_requests}]}]}}, "errors": null}),
    )
}

/// A paginated list: `page` (default 1) and `per_page` (default `default`, capped by `cap`).
/// Cloudflare's minimum `per_page` (5 for DNS) is not enforced.
fn paginate(
    items: Vec<Value>,
    query: &[(String, String)],
    default: usize,
    cap: Option<usize>,
) -> Reply {
    let page = param(query, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let mut per_page = param(query, "per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(default);
    if let Some(cap) = cap {
        per_page = per_page.min(cap.max(1));
    }
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    list(slice, page, per_page, total, total.div_ceil(per_page))
}

/// A list Cloudflare does not paginate (load balancers, pools, monitors): everything at once.
fn single_page(items: Vec<Value>) -> Reply {
    let n = items.len();
    list(items, 1, n.max(20), n, usize::from(n > 0))
}

fn list(items: Vec<Value>, page: usize, per_page: usize, total: usize, pages: usize) -> Reply {
    let count = items.len();
    let mut body = ok_envelope(Value::Array(items));
    body["result_info"] = json!({"page": page, "per_page": per_page, "count": count, "total_count": total, "total_pages": pages});
    reply(200, &body)
}

/// Zone: cloudflare-typescript `zones/zones.ts` `Zone`.
fn zone_json(z: &Zone) -> Value {
    let plan = z.plan.to_ascii_lowercase();
    let legacy = ["enterprise", "business", "pro"]
        .into_iter()
        .find(|p| plan.contains(p))
        .unwrap_or("free");
    json!({
        "id": z.id,
        "name": z.name,
        "status": z.status,
        "paused": z.paused,
        "type": "full",
        "development_mode": 0,
        "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        "original_name_servers": null,
        "original_registrar": null,
        "original_dnshost": null,
        "created_on": STAMP,
        "modified_on": STAMP,
        "activated_on": STAMP,
        "meta": {"step": 2, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": false},
        "owner": {"id": null, "type": "user", "email": null},
        "account": {"id": z.account_id, "name": z.account_name},
        "tenant": {"id": null, "name": null},
        "tenant_unit": {"id": null},
        "permissions": ["#zone:read", "#dns_records:read", "#analytics:read", "#lb:read"],
        "plan": {
            "id": hex_id(&format!("plan {legacy}")),
            "name": z.plan,
            "price": 0,
            "currency": "USD",
            "frequency": "",
            "is_subscribed": legacy != "free",
            "can_subscribe": false,
            "legacy_id": legacy,
            "legacy_discount": false,
            "externally_managed": false
        }
    })
}

/// `settings/ssl`: `{id, value, editable, modified_on}` (cloudflare-typescript
/// `zones/settings/ssl.ts`).
fn ssl_json(sc: &Scenario) -> Value {
    json!({"id": "ssl", "value": sc.ssl, "editable": true, "modified_on": STAMP})
}

/// `settings/proxy_read_timeout`: the value is a string of seconds in real answers
/// (`"value": "1800"` in captures) though the SDK types say number.
fn prt_json(sc: &Scenario) -> Option<Value> {
    match (sc.proxy_read_timeout, sc.prt_unavailable) {
        (Some(v), _) => Some(
            json!({"id": "proxy_read_timeout", "value": v.to_string(), "editable": true, "modified_on": STAMP}),
        ),
        (None, PrtUnavailable::ReadOnly) => Some(
            json!({"id": "proxy_read_timeout", "value": "100", "editable": false, "modified_on": null}),
        ),
        (None, PrtUnavailable::Error) => None,
    }
}

/// DNS record: cloudflare-typescript `dns/records.ts` `RecordResponse` (no `zone_id`/`zone_name`,
/// removed from responses in 2024).
fn dns_json(r: &DnsRecord) -> Value {
    let proxiable = matches!(r.kind.as_str(), "A" | "AAAA" | "CNAME");
    json!({
        "id": r.id,
        "name": r.name,
        "type": r.kind,
        "content": r.content,
        "proxiable": proxiable,
        "proxied": r.proxied,
        "ttl": r.ttl,
        "settings": {},
        "meta": {},
        "comment": null,
        "tags": [],
        "created_on": STAMP,
        "modified_on": STAMP
    })
}

/// Load balancer: cloudflare-typescript `load-balancers/load-balancers.ts` `LoadBalancer`.
fn lb_json(lb: &LoadBalancer, zone: &Zone) -> Value {
    json!({
        "id": lb.id,
        "name": lb.name,
        "description": "",
        "enabled": lb.enabled,
        "proxied": lb.proxied,
        "ttl": 30,
        "fallback_pool": lb.fallback_pool,
        "default_pools": lb.default_pools,
        "region_pools": {},
        "pop_pools": {},
        "country_pools": {},
        "steering_policy": "off",
        "session_affinity": "none",
        "zone_name": zone.name,
        "created_on": STAMP,
        "modified_on": STAMP
    })
}

/// Pool: the OpenAPI schema `load-balancing_pool`, plus `healthy` when set.
fn pool_json(p: &Pool) -> Value {
    let origins: Vec<Value> = p
        .origins
        .iter()
        .map(|o| json!({"name": o.name, "address": o.address, "enabled": o.enabled, "weight": o.weight, "header": {}}))
        .collect();
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "description": "",
        "enabled": p.enabled,
        "minimum_origins": p.minimum_origins,
        "check_regions": null,
        "notification_email": "",
        "origin_steering": {"policy": "random"},
        "origins": origins,
        "created_on": STAMP,
        "modified_on": STAMP
    });
    if let Some(m) = &p.monitor {
        v["monitor"] = json!(m);
    }
    if let Some(h) = p.healthy {
        v["healthy"] = json!(h);
    }
    v
}

/// Pool health: `{pool_id, pop_health: {"<region>": {healthy, origins: [{"<ip>": {healthy, rtt,
/// failure_reason, response_code}}]}}}` (OpenAPI `load-balancing_health_details` example;
/// cloudflare-go `TestGetAccountLoadBalancerPoolHealth`).
fn pool_health_json(pool_id: &str, health: Option<&PoolHealth>, shape: HealthShape) -> Value {
    let mut pops = Map::new();
    for region in health.map(|h| h.regions.as_slice()).unwrap_or_default() {
        let origins: Vec<Value> = region
            .origins
            .iter()
            .map(|o| {
                let mut fields = Map::new();
                fields.insert("healthy".into(), json!(o.healthy));
                if let Some(rtt) = &o.rtt {
                    fields.insert("rtt".into(), json!(rtt));
                }
                fields.insert("failure_reason".into(), json!(o.failure_reason));
                if let Some(code) = o.response_code {
                    fields.insert("response_code".into(), json!(code));
                }
                match shape {
                    HealthShape::Keyed => {
                        let mut keyed = Map::new();
                        keyed.insert(o.address.clone(), Value::Object(fields));
                        Value::Object(keyed)
                    }
                    HealthShape::Listed => {
                        fields.insert("ip".into(), json!(o.address));
                        Value::Object(fields)
                    }
                }
            })
            .collect();
        pops.insert(
            region.region.clone(),
            json!({"healthy": region.healthy, "origins": origins}),
        );
    }
    json!({"pool_id": pool_id, "pop_health": pops})
}

/// Monitor: cloudflare-typescript `load-balancers/monitors/monitors.ts` `Monitor`.
fn monitor_json(m: &Monitor) -> Value {
    json!({
        "id": m.id,
        "type": m.kind,
        "description": m.description,
        "method": m.method,
        "path": m.path,
        "port": m.port.unwrap_or(0),
        "header": match &m.host {
            Some(h) => json!({"Host": [h]}),
            None => json!({}),
        },
        "timeout": 5,
        "retries": 2,
        "interval": 60,
        "expected_body": "",
        "expected_codes": m.expected_codes,
        "follow_redirects": false,
        "allow_insecure": false,
        "consecutive_up": 0,
        "consecutive_down": 0,
        "probe_zone": "",
        "created_on": STAMP,
        "modified_on": STAMP
    })
}

/// Health check: cloudflare-typescript `healthchecks/healthchecks.ts` `Healthcheck`: port and
/// path live in `http_config` (HTTP, HTTPS) or `tcp_config` (TCP).
fn healthcheck_json(h: &Healthcheck) -> Value {
    let tcp = h.kind.eq_ignore_ascii_case("TCP");
    let http_config = if tcp {
        Value::Null
    } else {
        json!({"method": "GET", "path": h.path, "port": h.port, "expected_codes": ["200"], "expected_body": "", "follow_redirects": false, "allow_insecure": false, "header": {}})
    };
    let tcp_config = if tcp {
        json!({"method": "connection_established", "port": h.port})
    } else {
        Value::Null
    };
    json!({
        "id": h.id,
        "name": h.name,
        "description": "",
        "address": h.address,
        "type": h.kind,
        "status": h.status,
        "failure_reason": h.failure_reason,
        "suspended": h.status == "suspended",
        "check_regions": ["WNAM", "ENAM"],
        "consecutive_fails": 1,
        "consecutive_successes": 1,
        "retries": 2,
        "timeout": 5,
        "interval": 60,
        "http_config": http_config,
        "tcp_config": tcp_config,
        "created_on": STAMP,
        "modified_on": STAMP
    })
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The query's `key=value` pairs, percent-decoded (`+` is a space).
fn query_pairs(path_and_query: &str) -> Vec<(String, String)> {
    let Some((_, q)) = path_and_query.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn write(mut stream: TcpStream, r: Reply) {
    let reason = match r.status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        _ => "Status",
    };
    // The rate-limit headers Cloudflare sends on every REST answer (limits page); 1200 per 5 min.
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nServer: cloudflare\r\nRatelimit: \"default\";r=1199;t=300\r\nRatelimit-Policy: \"default\";q=1200;w=300\r\n",
        r.status,
        r.body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(r.body.as_bytes());
    let _ = stream.flush();
}
