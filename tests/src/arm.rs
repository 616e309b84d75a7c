//! A local server on loopback that speaks the documented Azure shapes cloud502 reads (KB 2.1,
//! 2.3): ARM's bearer check and error envelope, the Application Gateway and backend-health
//! resources with the 202 + `Location` + `Retry-After` long-running operation, the subnet, NSG
//! and route table, 429 throttling, the Log Analytics query API, and an App Service managed
//! identity endpoint. Azure has no emulator; this follows the REST specs' examples, and serves
//! Microsoft's published examples and captured answers verbatim, read from
//! `providers/azure/tests/fixtures/official/` ([`official`]).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The token every request must carry.
pub const TOKEN: &str = "test-token-0b1e";
/// The subscription the server knows.
pub const SUB: &str = "0b1e2c3d-0000-4000-8000-00000000000a";
/// The resource group it knows.
pub const RG: &str = "rg-web";
/// The gateway it knows.
pub const GW: &str = "agw-prod";
/// The workspace it knows.
pub const WORKSPACE: &str = "7f3c9a10-0000-4000-8000-0000000000b2";

/// How the backend-health operation behaves.
#[derive(Debug, Clone)]
pub enum Health {
    /// 202, then `polls` more 202s, then 200 with this body.
    Lro { polls: u32, body: Value },
    /// 202 with `Azure-AsyncOperation` and `Location`: the operation reports `InProgress`
    /// `polls` times, then `Succeeded`; the result is read at `Location`.
    AsyncOperation { polls: u32, body: Value },
    /// 403 AuthorizationFailed (the built-in Reader role).
    Forbidden,
    /// 202 forever.
    Never,
    /// 202, then `polls` more 202s at `Location`, then 200 with this body, byte for byte (an
    /// official example or a capture, [`official`]).
    Raw { polls: u32, body: String },
    /// 202 with `Azure-AsyncOperation` and `Location`: the status says `Succeeded` after
    /// `polls` polls, while `Location` still answers 202 `location_202s` times before the body.
    AsyncThenLocation {
        polls: u32,
        location_202s: u32,
        body: String,
    },
    /// 202 with `Azure-AsyncOperation` only (no `Location`): `Succeeded` after `polls` polls,
    /// the result under the status answer's `properties`.
    AsyncOnly { polls: u32, body: String },
    /// 202 with `Azure-AsyncOperation`; the operation ends `Failed` with this error.
    Failed { code: String, message: String },
    /// 202 with `Location` and this `Retry-After` (seconds), 202 forever.
    SlowRetryAfter(u64),
    /// The POST answers 429 (`Retry-After: 1`) `times` times (`u32::MAX`: always), then as
    /// [`Health::Raw`] with no poll.
    Throttled { times: u32, body: String },
    /// The POST answers this status and ARM error envelope (409 `ScopeLocked` for a read-only
    /// lock).
    Error {
        status: u16,
        code: String,
        message: String,
    },
}

/// What the server holds.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The gateway body; `None`: 404 ResourceNotFound.
    pub gateway: Option<Value>,
    /// Backend health.
    pub health: Health,
    /// The gateway subnet body.
    pub subnet: Value,
    /// The NSG body.
    pub nsg: Value,
    /// The route table body.
    pub route_table: Value,
    /// Answer the first N gateway GETs with 429 and this Retry-After.
    pub throttle: Option<(u32, u64)>,
    /// Rows of the AGWAccessLogs query (columns as cloud502's query names them).
    pub access_rows: Vec<Value>,
    /// Accept connections on the gateway path but never answer.
    pub hang: bool,
    /// Quote the `Authorization` header and the token back: in every answer's headers
    /// (`WWW-Authenticate`'s `error_description`, `x-echo-authorization`) and in the message of
    /// every error envelope, as a hostile or careless server would (the envelope is ARM's common
    /// error response, azure-rest-api-specs
    /// `specification/common-types/resource-management/v5/types.json#/definitions/ErrorResponse`).
    pub echo: bool,
    /// Requests whose path contains this answer 200 with a JSON body that never ends (no
    /// Content-Length, streamed until the client hangs up).
    pub endless: Option<&'static str>,
    /// The origin (`http://HOST:PORT`) the backend-health operation's `Location` and
    /// `Azure-AsyncOperation` point at, instead of this server.
    pub poll_origin: Option<String>,
    /// Answer the gateway GET with `302 Found` to this URL.
    pub redirect: Option<String>,
    /// The gateway body byte for byte, instead of `gateway` (an official example).
    pub gateway_raw: Option<String>,
    /// Bodies served byte for byte to a GET of this path (no query), before anything else: the
    /// official examples at the ids they name.
    pub files: Vec<(String, String)>,
    /// Answer every authorized ARM call with 403 AuthorizationFailed.
    pub forbid_all: bool,
    /// Answer every Log Analytics query with this status and body; `{table}` in it is replaced
    /// by the table the query reads.
    pub logs_error: Option<(u16, Value)>,
}

/// An official example or capture from `providers/azure/tests/fixtures/official/`, as bytes on
/// disk (never re-serialized: the provider must read what Microsoft published).
pub fn official(name: &str) -> String {
    let path = format!(
        "{}/../providers/azure/tests/fixtures/official/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Whether it carried the right bearer token.
    pub authorized: bool,
    /// The body.
    pub body: String,
}

/// A running server.
#[derive(Debug, Clone)]
pub struct Arm {
    /// Loopback port.
    pub port: u16,
    /// Requests seen.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Arm {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Start serving `scenario`.
    pub fn start(scenario: Scenario) -> Arm {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(Mutex::new(State {
            scenario,
            polls: 0,
            throttled: 0,
        }));
        let arm = Arm {
            port,
            seen: seen.clone(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                let state = state.clone();
                std::thread::spawn(move || serve(stream, port, &seen, &state));
            }
        });
        arm
    }
}

#[derive(Debug)]
struct State {
    scenario: Scenario,
    polls: u32,
    throttled: u32,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn raw(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.to_owned(),
    }
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

/// ARM's error envelope.
pub fn envelope(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

fn serve(stream: TcpStream, port: u16, seen: &Mutex<Vec<Seen>>, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut auth = String::new();
    let mut identity_header = String::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim().to_owned();
            match k.to_ascii_lowercase().as_str() {
                "authorization" => auth = v,
                "x-identity-header" => identity_header = v,
                "content-length" => length = v.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let body = String::from_utf8_lossy(&body).into_owned();
    let authorized = auth == format!("Bearer {TOKEN}");
    seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        authorized,
        body: body.clone(),
    });
    let route = path.split('?').next().unwrap_or("").to_owned();
    // The App Service managed identity endpoint (IDENTITY_ENDPOINT).
    if route == "/msi/token" {
        let r = if identity_header == "test-identity-header" {
            reply(
                200,
                json!({"access_token": TOKEN, "expires_on": (time::OffsetDateTime::now_utc().unix_timestamp() + 3600).to_string(), "resource": "https://management.azure.com", "token_type": "Bearer"}),
            )
        } else {
            reply(400, json!({"error": "invalid identity header"}))
        };
        return write(reader.into_inner(), r);
    }
    let (hang, endless, echo) = {
        let st = state.lock().unwrap();
        (st.scenario.hang, st.scenario.endless, st.scenario.echo)
    };
    if hang {
        std::thread::sleep(Duration::from_secs(120));
        return;
    }
    if endless.is_some_and(|p| route.contains(p)) {
        return write_endless(reader.into_inner());
    }
    let mut r = if !authorized {
        reply(
            401,
            envelope("InvalidAuthenticationToken", "The access token is invalid."),
        )
    } else {
        route_request(&method, &route, &body, port, state)
    };
    if echo {
        echo_back(&mut r, &auth);
    }
    write(reader.into_inner(), r);
}

/// Quote `auth` (the whole header) and the token alone back in `r`'s headers and, for an error
/// envelope, in its message.
fn echo_back(r: &mut Reply, auth: &str) {
    let token = auth.strip_prefix("Bearer ").unwrap_or(auth);
    r.headers
        .push(("x-echo-authorization".into(), auth.to_owned()));
    r.headers.push((
        "WWW-Authenticate".into(),
        format!("Bearer error=\"invalid_token\", error_description=\"token {token} rejected\""),
    ));
    if let Ok(mut v) = serde_json::from_str::<Value>(&r.body)
        && let Some(message) = v["error"]["message"].as_str()
    {
        v["error"]["message"] = json!(format!(
            "{message} The request carried 'Authorization: {auth}' (token {token})."
        ));
        r.body = v.to_string();
    }
}

/// 200 with a JSON array that never ends, until the client hangs up.
fn write_endless(mut stream: TcpStream) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n[";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let chunk = "{\"name\":\"endless\"},".repeat(4096);
    while stream.write_all(chunk.as_bytes()).is_ok() {}
}

fn route_request(method: &str, route: &str, body: &str, port: u16, state: &Mutex<State>) -> Reply {
    let mut st = state.lock().unwrap();
    let body_in = body;
    let sub_prefix = format!("/subscriptions/{SUB}");
    let gw_path = format!(
        "{sub_prefix}/resourceGroups/{RG}/providers/Microsoft.Network/applicationGateways/{GW}"
    );
    if method == "GET"
        && let Some((_, body)) = st.scenario.files.iter().find(|(p, _)| p == route)
    {
        return raw(200, body);
    }
    if route.starts_with("/v1/workspaces/")
        && let Some((status, body)) = &st.scenario.logs_error
    {
        // `{table}` in the body is the table the query reads (its first word).
        let query: Value = serde_json::from_str(body_in).unwrap_or(Value::Null);
        let table = query["query"]
            .as_str()
            .and_then(|q| q.split_whitespace().next())
            .unwrap_or("");
        let mut r = raw(*status, &body.to_string().replace("{table}", table));
        if *status == 429 {
            r.headers.push(("Retry-After".into(), "1".into()));
        }
        return r;
    }
    if st.scenario.forbid_all && route.starts_with("/subscriptions/") {
        return reply(
            403,
            envelope(
                "AuthorizationFailed",
                &format!(
                    "The client 'reader@example.com' does not have authorization to perform action over scope '{route}'."
                ),
            ),
        );
    }
    if route == format!("/v1/workspaces/{WORKSPACE}/query") && method == "POST" {
        let query: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let q = query["query"].as_str().unwrap_or("");
        if q.starts_with("AzureDiagnostics") {
            return reply(
                400,
                json!({"error": {"message": "The request had some invalid properties", "code": "BadArgumentError", "correlationId": "x", "innererror": {"code": "SemanticError", "message": "A semantic error occurred.", "innererror": {"code": "SEM0100", "message": "'where' operator: Failed to resolve table expression named 'AzureDiagnostics'"}}}}),
            );
        }
        // Rows of nine cells carry the query's `Bin` (the 5xx rows' time bucket) as their last.
        let binned = st
            .scenario
            .access_rows
            .iter()
            .any(|r| r.as_array().is_some_and(|a| a.len() == 9));
        let columns: Vec<Value> = [
            ("HttpStatus", "int"),
            ("ErrorInfo", "string"),
            ("ServerStatus", "string"),
            ("ServerRouted", "string"),
            ("BackendPoolName", "string"),
            ("Requests", "long"),
            ("FirstSeen", "datetime"),
            ("LastSeen", "datetime"),
            ("Bin", "datetime"),
        ]
        .iter()
        .take(if binned { 9 } else { 8 })
        .map(|(n, t)| json!({"name": n, "type": t}))
        .collect();
        return reply(
            200,
            json!({"tables": [{"name": "PrimaryResult", "columns": columns, "rows": st.scenario.access_rows}]}),
        );
    }
    if route.starts_with("/v1/workspaces/") {
        return reply(
            404,
            json!({"error": {"message": "The workspace could not be found", "code": "WorkspaceNotFoundError"}}),
        );
    }
    if !route.starts_with(&sub_prefix) {
        return reply(
            404,
            envelope(
                "SubscriptionNotFound",
                "The subscription could not be found.",
            ),
        );
    }
    if !route.starts_with(&format!("{sub_prefix}/resourceGroups/{RG}/"))
        && route.contains("/resourceGroups/")
    {
        let rg = route.split('/').nth(4).unwrap_or("");
        return reply(
            404,
            envelope(
                "ResourceGroupNotFound",
                &format!("Resource group '{rg}' could not be found."),
            ),
        );
    }
    let op = format!(
        "{sub_prefix}/providers/Microsoft.Network/locations/westeurope/operationResults/op-1"
    );
    let async_op =
        format!("{sub_prefix}/providers/Microsoft.Network/locations/westeurope/operations/op-1");
    if route == gw_path && method == "GET" {
        if let Some(to) = &st.scenario.redirect {
            let mut r = reply(302, json!({}));
            r.headers.push(("Location".into(), to.clone()));
            return r;
        }
        if let Some((n, after)) = st.scenario.throttle
            && st.throttled < n
        {
            st.throttled += 1;
            let mut r = reply(
                429,
                envelope("TooManyRequests", "Too many requests, retry later."),
            );
            r.headers.push(("Retry-After".into(), after.to_string()));
            return r;
        }
        if let Some(body) = &st.scenario.gateway_raw {
            return raw(200, body);
        }
        return match &st.scenario.gateway {
            Some(g) => reply(200, g.clone()),
            None => reply(
                404,
                envelope(
                    "ResourceNotFound",
                    &format!(
                        "The Resource 'Microsoft.Network/applicationGateways/{GW}' under resource group '{RG}' was not found."
                    ),
                ),
            ),
        };
    }
    if route == format!("{gw_path}/backendhealth") && method == "POST" {
        let origin = st
            .scenario
            .poll_origin
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        let location = (
            "Location".to_owned(),
            format!("{origin}{op}?api-version=2024-05-01"),
        );
        let async_header = (
            "Azure-AsyncOperation".to_owned(),
            format!("{origin}{async_op}?api-version=2024-05-01"),
        );
        st.polls = 0;
        let mut accepted = raw(202, "");
        accepted.headers.push(("Retry-After".into(), "1".into()));
        return match &st.scenario.health {
            Health::Forbidden => reply(
                403,
                envelope(
                    "AuthorizationFailed",
                    &format!(
                        "The client 'reader@example.com' does not have authorization to perform action 'Microsoft.Network/applicationGateways/backendhealth/action' over scope '{gw_path}'."
                    ),
                ),
            ),
            Health::Error {
                status,
                code,
                message,
            } => reply(*status, envelope(code, message)),
            Health::Throttled { times, body } => {
                if st.throttled < *times {
                    st.throttled += 1;
                    let mut r = reply(
                        429,
                        envelope("TooManyRequests", "Too many requests, retry later."),
                    );
                    r.headers.push(("Retry-After".into(), "1".into()));
                    r
                } else {
                    raw(200, body)
                }
            }
            Health::SlowRetryAfter(secs) => {
                let mut r = raw(202, "");
                r.headers.push(location);
                r.headers.push(("Retry-After".into(), secs.to_string()));
                r
            }
            Health::AsyncOnly { .. } | Health::Failed { .. } => {
                accepted.headers.push(async_header);
                accepted
            }
            Health::AsyncOperation { .. } | Health::AsyncThenLocation { .. } => {
                accepted.headers.push(location);
                accepted.headers.push(async_header);
                accepted
            }
            Health::Lro { .. } | Health::Raw { .. } | Health::Never => {
                accepted.headers.push(location);
                accepted
            }
        };
    }
    if route == async_op && method == "GET" {
        st.polls += 1;
        let polls = st.polls;
        let done = match &st.scenario.health {
            Health::AsyncOperation { polls: n, .. }
            | Health::AsyncThenLocation { polls: n, .. }
            | Health::AsyncOnly { polls: n, .. } => polls > *n,
            _ => false,
        };
        let mut r = match &st.scenario.health {
            Health::Failed { code, message } => reply(
                200,
                json!({"status": "Failed", "error": {"code": code, "message": message}}),
            ),
            Health::AsyncOnly { body, .. } if done => {
                let result: Value = serde_json::from_str(body).unwrap();
                reply(200, json!({"status": "Succeeded", "properties": result}))
            }
            _ if done => reply(200, json!({"status": "Succeeded"})),
            _ => reply(200, json!({"status": "InProgress"})),
        };
        if done {
            // Location is polled from here on: count its polls apart.
            st.polls = 0;
        }
        r.headers.push(("Retry-After".into(), "1".into()));
        return r;
    }
    if route == op && method == "GET" {
        st.polls += 1;
        let polls = st.polls;
        let still_running = || {
            let mut r = raw(202, "");
            r.headers.push(("Retry-After".into(), "1".into()));
            r
        };
        return match &st.scenario.health {
            Health::Lro { polls: n, body } if polls > *n => reply(200, body.clone()),
            Health::Raw { polls: n, body } if polls > *n => raw(200, body),
            Health::AsyncOperation { body, .. } => reply(200, body.clone()),
            Health::AsyncThenLocation {
                location_202s,
                body,
                ..
            } if polls > *location_202s => raw(200, body),
            Health::SlowRetryAfter(secs) => {
                let mut r = raw(202, "");
                r.headers.push(("Retry-After".into(), secs.to_string()));
                r
            }
            _ => still_running(),
        };
    }
    if method == "GET" {
        let net = format!("{sub_prefix}/resourceGroups/{RG}/providers/Microsoft.Network");
        if route == format!("{net}/virtualNetworks/vnet-web/subnets/snet-agw") {
            return reply(200, st.scenario.subnet.clone());
        }
        if route == format!("{net}/networkSecurityGroups/nsg-agw") {
            return reply(200, st.scenario.nsg.clone());
        }
        if route == format!("{net}/routeTables/rt-agw") {
            return reply(200, st.scenario.route_table.clone());
        }
    }
    reply(
        404,
        envelope("ResourceNotFound", &format!("no resource at {route}")),
    )
}

fn write(mut stream: TcpStream, r: Reply) {
    let reason = match r.status {
        200 => "OK",
        202 => "Accepted",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
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

fn id(kind: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/applicationGateways/{GW}/{kind}/{name}"
    )
}

/// The incident gateway: v2, two pools. `api` (10.0.1.4, 10.0.1.5) behind HTTP settings without
/// a custom probe (the default probe asks 127.0.0.1); `web` (web-1.internal) behind HTTPS
/// settings with a custom probe; `/static/*` goes to `empty`, which has no member. A multi-site
/// listener for www.example.com.
pub fn gateway() -> Value {
    json!({
        "id": format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/applicationGateways/{GW}"),
        "name": GW,
        "type": "Microsoft.Network/applicationGateways",
        "location": "westeurope",
        "etag": "W/\"x\"",
        "properties": {
            "provisioningState": "Succeeded",
            "operationalState": "Running",
            "sku": {"name": "Standard_v2", "tier": "Standard_v2", "family": "Generation_1"},
            "autoscaleConfiguration": {"minCapacity": 2, "maxCapacity": 10},
            "gatewayIPConfigurations": [{
                "id": id("gatewayIPConfigurations", "appGatewayIpConfig"),
                "name": "appGatewayIpConfig",
                "properties": {"subnet": {"id": format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet-web/subnets/snet-agw")}}
            }],
            "frontendPorts": [{"id": id("frontendPorts", "port-443"), "name": "port-443", "properties": {"port": 443}}],
            "backendAddressPools": [
                {"id": id("backendAddressPools", "pool-api"), "name": "pool-api", "properties": {"backendAddresses": [{"ipAddress": "10.0.1.4"}, {"ipAddress": "10.0.1.5"}]}},
                {"id": id("backendAddressPools", "pool-web"), "name": "pool-web", "properties": {"backendAddresses": [{"fqdn": "web-1.internal"}]}},
                {"id": id("backendAddressPools", "pool-empty"), "name": "pool-empty", "properties": {"backendAddresses": []}}
            ],
            "backendHttpSettingsCollection": [
                {"id": id("backendHttpSettingsCollection", "settings-api"), "name": "settings-api", "properties": {"port": 8080, "protocol": "Http", "cookieBasedAffinity": "Disabled", "requestTimeout": 20, "pickHostNameFromBackendAddress": false}},
                {"id": id("backendHttpSettingsCollection", "settings-web"), "name": "settings-web", "properties": {"port": 443, "protocol": "Https", "cookieBasedAffinity": "Disabled", "requestTimeout": 30, "hostName": "web.example.com", "pickHostNameFromBackendAddress": false, "probe": {"id": id("probes", "probe-web")}}}
            ],
            "probes": [
                {"id": id("probes", "probe-web"), "name": "probe-web", "properties": {"protocol": "Https", "host": "web.example.com", "path": "/healthz", "interval": 30, "timeout": 30, "unhealthyThreshold": 3, "pickHostNameFromBackendHttpSettings": false, "minServers": 0, "match": {"statusCodes": ["200-399"]}}}
            ],
            "httpListeners": [
                {"id": id("httpListeners", "listener-www"), "name": "listener-www", "properties": {"frontendPort": {"id": id("frontendPorts", "port-443")}, "protocol": "Https", "hostNames": ["www.example.com"], "requireServerNameIndication": true}}
            ],
            "urlPathMaps": [{
                "id": id("urlPathMaps", "paths-www"), "name": "paths-www",
                "properties": {
                    "defaultBackendAddressPool": {"id": id("backendAddressPools", "pool-web")},
                    "defaultBackendHttpSettings": {"id": id("backendHttpSettingsCollection", "settings-web")},
                    "pathRules": [{"id": id("urlPathMaps", "paths-www/pathRules/api"), "name": "api", "properties": {"paths": ["/api/*"], "backendAddressPool": {"id": id("backendAddressPools", "pool-api")}, "backendHttpSettings": {"id": id("backendHttpSettingsCollection", "settings-api")}}},
                        {"id": id("urlPathMaps", "paths-www/pathRules/static"), "name": "static", "properties": {"paths": ["/static/*"], "backendAddressPool": {"id": id("backendAddressPools", "pool-empty")}, "backendHttpSettings": {"id": id("backendHttpSettingsCollection", "settings-api")}}}]
                }
            }],
            "requestRoutingRules": [
                {"id": id("requestRoutingRules", "rule-www"), "name": "rule-www", "properties": {"ruleType": "PathBasedRouting", "priority": 100, "httpListener": {"id": id("httpListeners", "listener-www")}, "urlPathMap": {"id": id("urlPathMaps", "paths-www")}}}
            ]
        }
    })
}

/// Backend health for [`gateway`]: on `pool-api`, 10.0.1.4 fails the default probe with a 401 and
/// 10.0.1.5 is up; `pool-web`'s only server refuses connections.
pub fn health() -> Value {
    json!({"backendAddressPools": [
        {"backendAddressPool": {"id": id("backendAddressPools", "pool-api")},
         "backendHttpSettingsCollection": [{"backendHttpSettings": {"id": id("backendHttpSettingsCollection", "settings-api")},
            "servers": [
                {"address": "10.0.1.4", "ipConfiguration": null, "health": "Down", "healthProbeLog": "Status code of the backend's HTTP response did not match the probe setting. Expected:200-399 Received:401."},
                {"address": "10.0.1.5", "health": "Up", "healthProbeLog": "Success. Received 200 status code"}
            ]}]},
        {"backendAddressPool": {"id": id("backendAddressPools", "pool-web")},
         "backendHttpSettingsCollection": [{"backendHttpSettings": {"id": id("backendHttpSettingsCollection", "settings-web")},
            "servers": [
                {"address": "web-1.internal", "health": "Down", "healthProbeLog": "Application Gateway could not connect to the backend. Check that the backend responds on the port used for the probe. Also check whether any NSG/UDR/Firewall is blocking access to the Ip and port of this backend."}
            ]}]}
    ]})
}

/// The gateway subnet with its NSG and route table.
pub fn subnet() -> Value {
    let net = format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network");
    json!({"name": "snet-agw", "properties": {"addressPrefix": "10.0.0.0/24",
        "networkSecurityGroup": {"id": format!("{net}/networkSecurityGroups/nsg-agw")},
        "routeTable": {"id": format!("{net}/routeTables/rt-agw")}}})
}

/// An NSG rule.
pub fn nsg_rule(name: &str, priority: u32, access: &str, source: &str, ports: &str) -> Value {
    json!({"name": name, "properties": {"protocol": "*", "sourcePortRange": "*", "destinationPortRange": ports,
        "sourceAddressPrefix": source, "destinationAddressPrefix": "*", "access": access, "priority": priority, "direction": "Inbound"}})
}

/// The NSG with these rules and Azure's defaults.
pub fn nsg(rules: Vec<Value>) -> Value {
    json!({"name": "nsg-agw", "properties": {"securityRules": rules, "defaultSecurityRules": [
        nsg_rule("AllowVnetInBound", 65000, "Allow", "VirtualNetwork", "*"),
        nsg_rule("AllowAzureLoadBalancerInBound", 65001, "Allow", "AzureLoadBalancer", "*"),
        nsg_rule("DenyAllInBound", 65500, "Deny", "*", "*")
    ]}})
}

/// A route table sending 0.0.0.0/0 to this next hop.
pub fn route_table(next_hop: &str) -> Value {
    json!({"name": "rt-agw", "properties": {"routes": [{"name": "default", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": next_hop}}]}})
}

/// One grouped access-log row.
pub fn row(
    status: u16,
    error_info: &str,
    server_status: &str,
    routed: &str,
    pool: &str,
    n: u64,
) -> Value {
    json!([
        status,
        error_info,
        server_status,
        routed,
        pool,
        n,
        "2026-11-21T09:10:00Z",
        "2026-11-21T09:50:00Z"
    ])
}

/// The incident scenario: everything readable.
pub fn incident() -> Scenario {
    Scenario {
        gateway: Some(gateway()),
        health: Health::Lro {
            polls: 2,
            body: health(),
        },
        subnet: subnet(),
        nsg: nsg(vec![nsg_rule(
            "AllowGatewayManager",
            100,
            "Allow",
            "GatewayManager",
            "65200-65535",
        )]),
        route_table: route_table("Internet"),
        throttle: None,
        echo: false,
        endless: None,
        poll_origin: None,
        redirect: None,
        gateway_raw: None,
        // The gateway's VNet: pool-api's subnet has no NSG of its own.
        files: vec![vnet(None)],
        forbid_all: false,
        logs_error: None,
        access_rows: vec![
            row(200, "", "", "", "", 900),
            row(502, "ERRORINFO_UPSTREAM_NO_LIVE", "", "", "pool-web", 41),
            row(
                502,
                "ERRORINFO_UPSTREAM_CLOSED_CONNECTION",
                "",
                "10.0.1.5:8080",
                "pool-api",
                7,
            ),
            row(502, "", "502", "10.0.1.5:8080", "pool-api", 3),
            row(
                504,
                "ERRORINFO_UPSTREAM_TIMED_OUT",
                "",
                "10.0.1.5:8080",
                "pool-api",
                2,
            ),
        ],
        hang: false,
    }
}

/// A fake `az` on PATH that prints a token the way `az account get-access-token -o json` does
/// (accessToken, expires_on, tokenType: the fields azure_identity reads). Returns the directory.
pub fn fake_az(dir: &std::path::Path, token: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let az = bin.join("az");
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho \"$@\" >> \"{}/az-calls\"\nprintf '%s' '{{\"accessToken\":\"{token}\",\"expiresOn\":\"2030-01-01 00:00:00.000000\",\"expires_on\":{expires},\"subscription\":\"{SUB}\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'\n",
            bin.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// A listener that records every request it gets (whether it carried an `Authorization` header)
/// and answers `{"status":"Succeeded"}`: where a foreign poll URL or redirect points, to prove
/// the token never went there.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// `http://HOST:PORT`.
    pub origin: String,
    seen: Arc<Mutex<Vec<(String, bool)>>>,
}

impl Recorder {
    /// Listen on `host` (e.g. `127.0.0.2`, another loopback address) on a free port.
    pub fn start(host: &str) -> Recorder {
        let listener = TcpListener::bind((host, 0)).unwrap();
        let origin = format!("http://{host}:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rec = Recorder {
            origin,
            seen: seen.clone(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let mut authorized = false;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    authorized |= h.to_ascii_lowercase().starts_with("authorization:");
                }
                seen.lock()
                    .unwrap()
                    .push((line.trim().to_owned(), authorized));
                write(
                    reader.into_inner(),
                    reply(200, json!({"status": "Succeeded"})),
                );
            }
        });
        rec
    }

    /// Requests seen: request line, and whether it carried `Authorization`.
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.seen.lock().unwrap().clone()
    }
}

/// Every variable that could pick or feed a credential: removed from every run.
pub const AZURE_ENV: &[&str] = &[
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
];

/// A PATH whose `az` prints a token; the directory lives as long as this.
#[derive(Debug)]
pub struct AzEnv {
    _dir: tempfile::TempDir,
    /// The PATH to run with.
    pub path: String,
}

/// A PATH whose `az` prints `token`.
pub fn az_env(token: &str) -> AzEnv {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_az(dir.path(), token);
    AzEnv {
        path: format!("{}:/usr/bin:/bin", bin.display()),
        _dir: dir,
    }
}

/// `cloud502 azure -g RG --gw GW --subscription SUB` against `arm` (ARM and Log Analytics),
/// `-o json`, with `extra` arguments, `env` set and every credential variable removed.
pub fn run(arm: &Arm, extra: &[&str], env: &[(&str, &str)]) -> crate::Run {
    let url = arm.url();
    let mut args = vec![
        "azure",
        "-g",
        RG,
        "--gw",
        GW,
        "--subscription",
        SUB,
        "--arm-endpoint",
        &url,
        "--logs-endpoint",
        &url,
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    crate::cloud502_env_without(&args, env, AZURE_ENV)
}

/// The report's finding with this code; the test fails naming the findings there are.
pub fn finding<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {:#}", report["findings"]))
}

/// Add a NIC-based member to `pool-api` (NIC `vm1-nic` in subnet `snet-app`, whose NSG
/// `nsg-app` has these rules and Azure's defaults), and serve the NIC, the subnet and the NSG.
pub fn with_nic_member(s: &mut Scenario, nsg_rules: Vec<Value>) {
    let net = format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network");
    let nic = format!("{net}/networkInterfaces/vm1-nic");
    let subnet = format!("{net}/virtualNetworks/vnet-web/subnets/snet-app");
    let nsg_id = format!("{net}/networkSecurityGroups/nsg-app");
    let gw = s.gateway.as_mut().unwrap();
    gw["properties"]["backendAddressPools"][0]["properties"]["backendIPConfigurations"] =
        json!([{ "id": format!("{nic}/ipConfigurations/ipconfig1") }]);
    let mut app_nsg = nsg(nsg_rules);
    app_nsg["name"] = json!("nsg-app");
    s.files.extend([
        (
            nic.clone(),
            json!({"name": "vm1-nic", "id": nic, "properties": {"ipConfigurations": [
                {"name": "ipconfig1", "properties": {"privateIPAddress": "10.0.2.4", "subnet": {"id": subnet}}}]}})
            .to_string(),
        ),
        (
            subnet.clone(),
            json!({"name": "snet-app", "properties": {"addressPrefix": "10.0.2.0/24",
                "networkSecurityGroup": {"id": nsg_id}}})
            .to_string(),
        ),
        (nsg_id, app_nsg.to_string()),
    ]);
}

/// Serve the gateway's virtual network `vnet-web` with the gateway subnet and `snet-api`
/// (10.0.1.0/24, the subnet of `pool-api`'s IP members), whose NSG `nsg-api` has these rules
/// and Azure's defaults. The VNet body is written here after the swagger's `VirtualNetwork`
/// (`properties.subnets[]` with `addressPrefix` and `networkSecurityGroup.id`), trimmed to
/// those keys: no official example was copied for it.
pub fn with_vnet(s: &mut Scenario, nsg_rules: Vec<Value>) {
    let net = format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network");
    let nsg_id = format!("{net}/networkSecurityGroups/nsg-api");
    let mut api_nsg = nsg(nsg_rules);
    api_nsg["name"] = json!("nsg-api");
    let (path, body) = vnet(Some(&nsg_id));
    s.files.retain(|(p, _)| *p != path);
    s.files
        .extend([(path, body), (nsg_id, api_nsg.to_string())]);
}

/// The path and body of `vnet-web`: the gateway subnet and `snet-api` (10.0.1.0/24), with
/// this NSG on `snet-api` (none: no NSG). Written after the swagger (see [`with_vnet`]).
pub fn vnet(api_nsg: Option<&str>) -> (String, String) {
    let net = format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network");
    let vnet = format!("{net}/virtualNetworks/vnet-web");
    let mut api = json!({"name": "snet-api", "id": format!("{vnet}/subnets/snet-api"), "properties": {"addressPrefix": "10.0.1.0/24"}});
    if let Some(id) = api_nsg {
        api["properties"]["networkSecurityGroup"] = json!({ "id": id });
    }
    let body = json!({"name": "vnet-web", "id": vnet, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": [
        {"name": "snet-agw", "id": format!("{vnet}/subnets/snet-agw"), "properties": {"addressPrefix": "10.0.0.0/24",
            "networkSecurityGroup": {"id": format!("{net}/networkSecurityGroups/nsg-agw")}}},
        api
    ]}});
    (vnet, body.to_string())
}
