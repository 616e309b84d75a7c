//! The fake Cloudflare API (tests/src/cfapi.rs) answers the documented shapes: spoken to with raw
//! HTTP/1.1 over std's TcpStream, so these tests prove the fake, not cloud502's client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::cfapi::{self, AnalyticsRow, CfServer, DnsRecord, Scenario, TOKEN, ZONE_ID};
use cloud502_e2e::server::{self, origins};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    json: Value,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `METHOD base+path` with an optional bearer token and JSON body; reads to EOF (the server
/// closes after each answer).
fn call(
    cf: &CfServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let mut stream = TcpStream::connect(("127.0.0.1", cf.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {}{path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: application/json\r\n",
        cfapi::PREFIX,
        cf.port
    );
    if let Some(t) = token {
        request.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a full response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Resp {
        status,
        headers,
        json: serde_json::from_str(body).unwrap(),
    }
}

fn get(cf: &CfServer, path: &str) -> Resp {
    call(cf, "GET", path, Some(TOKEN), None)
}

#[test]
fn every_request_needs_the_bearer_token() {
    let cf = cfapi::start(Scenario::default());
    let none = call(&cf, "GET", "/zones?name=example.com", None, None);
    assert_eq!(none.status, 403);
    assert_eq!(
        none.json,
        json!({"success": false, "errors": [{"code": 9109, "message": "Invalid access token"}], "messages": [], "result": null})
    );
    let wrong = call(&cf, "GET", "/zones?name=example.com", Some("nope"), None);
    assert_eq!(wrong.status, 403);
    let right = get(&cf, "/zones?name=example.com");
    assert_eq!(right.status, 200);
    assert!(right.header("ratelimit-policy").is_some());
    let seen = cf.requests();
    assert_eq!(
        seen.iter().map(|r| r.authorized).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(seen[2].path(), "/client/v4/zones");
    assert_eq!(seen[2].query("name").as_deref(), Some("example.com"));
    assert!(seen.iter().all(|r| !r.path_and_query.contains(TOKEN)));
    // Read-only: anything but GET (and POST /graphql) is refused before the token is looked at.
    let delete = call(
        &cf,
        "DELETE",
        &format!("/zones/{ZONE_ID}"),
        Some(TOKEN),
        None,
    );
    assert_eq!(delete.status, 405);
    assert_eq!(delete.json["errors"][0]["code"], 7001);
}

#[test]
fn zones_by_name_by_id_and_settings() {
    let cf = cfapi::start(Scenario {
        proxy_read_timeout: Some(300),
        ..Scenario::default()
    });
    let zones = get(&cf, "/zones?name=example.com");
    assert_eq!(zones.json["success"], true);
    assert_eq!(zones.json["result"][0]["id"], ZONE_ID);
    assert_eq!(zones.json["result"][0]["account"]["id"], cfapi::ACCOUNT_ID);
    assert_eq!(zones.json["result"][0]["plan"]["legacy_id"], "free");
    assert_eq!(zones.json["result_info"]["total_count"], 1);

    let missing = get(&cf, "/zones?name=other.example");
    assert_eq!(missing.status, 200);
    assert_eq!(missing.json["result"], json!([]));
    assert_eq!(
        missing.json["result_info"],
        json!({"page": 1, "per_page": 20, "count": 0, "total_count": 0, "total_pages": 0})
    );

    assert_eq!(
        get(&cf, &format!("/zones/{ZONE_ID}")).json["result"]["status"],
        "active"
    );
    let unknown = get(&cf, "/zones/ffffffffffffffffffffffffffffffff");
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json["errors"][0]["code"], 7003);
    assert_eq!(
        unknown.json["errors"][0]["message"],
        "Could not route to /client/v4/zones/ffffffffffffffffffffffffffffffff, perhaps your object identifier is invalid?"
    );

    let ssl = get(&cf, &format!("/zones/{ZONE_ID}/settings/ssl"));
    assert_eq!(ssl.json["result"]["id"], "ssl");
    assert_eq!(ssl.json["result"]["value"], "full");
    let prt = get(
        &cf,
        &format!("/zones/{ZONE_ID}/settings/proxy_read_timeout"),
    );
    assert_eq!(prt.json["result"]["value"], "300");

    let free = cfapi::start(Scenario::default());
    let prt = get(
        &free,
        &format!("/zones/{ZONE_ID}/settings/proxy_read_timeout"),
    );
    assert_eq!(prt.status, 400);
    assert_eq!(prt.json["success"], false);
}

#[test]
fn dns_records_are_filtered_and_paginated() {
    let mut scenario = Scenario {
        dns: vec![
            DnsRecord::new("www.example.com", "A", "203.0.113.10", true),
            DnsRecord::new("www.example.com", "A", "203.0.113.11", true),
            DnsRecord::new("www.example.com", "AAAA", "2001:db8::10", true),
            DnsRecord::new("api.example.com", "CNAME", "lb.example.net", false),
        ],
        ..Scenario::default()
    };
    let cf = cfapi::start(scenario.clone());
    let base = format!("/zones/{ZONE_ID}/dns_records?name=www.example.com");
    let first = get(&cf, &format!("{base}&per_page=1"));
    assert_eq!(
        first.json["result_info"],
        json!({"page": 1, "per_page": 1, "count": 1, "total_count": 3, "total_pages": 3})
    );
    assert_eq!(first.json["result"][0]["content"], "203.0.113.10");
    assert_eq!(first.json["result"][0]["proxied"], true);
    assert_eq!(first.json["result"][0]["type"], "A");
    let second = get(&cf, &format!("{base}&per_page=1&page=2"));
    assert_eq!(second.json["result"][0]["content"], "203.0.113.11");
    let past = get(&cf, &format!("{base}&per_page=1&page=4"));
    assert_eq!(past.json["result"], json!([]));
    let a_only = get(&cf, &format!("{base}&type=A"));
    assert_eq!(a_only.json["result_info"]["total_count"], 2);

    // The scenario's cap forces pages whatever the client asks for.
    scenario.per_page = Some(1);
    let capped = cfapi::start(scenario);
    let page = get(&capped, &format!("{base}&per_page=100"));
    assert_eq!(page.json["result_info"]["total_pages"], 3);
    assert_eq!(page.json["result_info"]["per_page"], 1);
}

#[test]
fn throttling_answers_429_with_retry_after() {
    let cf = cfapi::start(Scenario {
        throttle: Some(7),
        ..Scenario::default()
    });
    let r = get(&cf, "/zones?name=example.com");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.json["errors"][0]["code"], 971);
    assert_eq!(r.json["result"], Value::Null);
}

#[test]
fn forbidden_paths_answer_authentication_error() {
    let cf = cfapi::start(Scenario {
        forbid: vec!["load_balancers"],
        ..cfapi::incident()
    });
    let r = get(&cf, &format!("/zones/{ZONE_ID}/load_balancers"));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json["errors"],
        json!([{"code": 10000, "message": "Authentication error"}])
    );
    assert_eq!(
        get(&cf, &format!("/zones/{ZONE_ID}/healthchecks")).status,
        200
    );
}

#[test]
fn load_balancing_and_pool_health_shapes() {
    let scenario = cfapi::incident();
    let web = scenario.pools[0].id.clone();
    let cf = cfapi::start(scenario);
    let lbs = get(&cf, &format!("/zones/{ZONE_ID}/load_balancers"));
    assert_eq!(lbs.json["result"][0]["name"], "lb.example.com");
    assert_eq!(lbs.json["result"][0]["default_pools"][0], web.as_str());
    let acct = cfapi::ACCOUNT_ID;
    let pools = get(&cf, &format!("/accounts/{acct}/load_balancers/pools"));
    assert_eq!(
        pools.json["result"][0]["origins"][1]["address"],
        "203.0.113.11"
    );
    assert_eq!(pools.json["result"][0]["healthy"], true);
    assert!(pools.json["result"][1].get("healthy").is_none());
    let health = get(
        &cf,
        &format!("/accounts/{acct}/load_balancers/pools/{web}/health"),
    );
    assert_eq!(health.json["result"]["pool_id"], web.as_str());
    let origins = &health.json["result"]["pop_health"]["Amsterdam, NL"]["origins"];
    assert_eq!(origins[0]["203.0.113.10"]["failure_reason"], "No failures");
    assert_eq!(origins[0]["203.0.113.10"]["response_code"], 200);
    assert_eq!(
        origins[1]["203.0.113.11"]["failure_reason"],
        "TLS untrusted certificate error"
    );
    let monitors = get(&cf, &format!("/accounts/{acct}/load_balancers/monitors"));
    assert_eq!(monitors.json["result"][0]["type"], "https");
    let checks = get(&cf, &format!("/zones/{ZONE_ID}/healthchecks"));
    assert_eq!(checks.json["result"][0]["status"], "unhealthy");
    assert_eq!(checks.json["result"][0]["http_config"]["port"], 443);
    let other = get(&cf, "/accounts/0000/load_balancers/pools");
    assert_eq!(other.status, 403);
}

#[test]
fn graphql_answers_requests_and_total() {
    let cf = cfapi::start(Scenario {
        analytics: vec![
            AnalyticsRow::new(502, 0, "SJC", "2026-11-21T10:05:00Z", 40),
            AnalyticsRow::new(502, 502, "AMS", "2026-11-21T10:06:00Z", 7),
        ],
        total_requests: 1000,
        ..Scenario::default()
    });
    let query = json!({
        "query": "query($zoneTag: string) { viewer { zones(filter: {zoneTag: $zoneTag}) { requests: httpRequestsAdaptiveGroups(limit: 100) { count dimensions { edgeResponseStatus } } total: httpRequestsAdaptiveGroups(limit: 1) { count } } } }",
        "variables": {"zoneTag": ZONE_ID}
    });
    let r = call(&cf, "POST", "/graphql", Some(TOKEN), Some(&query));
    assert_eq!(r.status, 200);
    assert_eq!(r.json["errors"], Value::Null);
    let zone = &r.json["data"]["viewer"]["zones"][0];
    assert_eq!(
        zone["requests"][0],
        json!({"count": 40, "dimensions": {"edgeResponseStatus": 502, "originResponseStatus": 0, "coloCode": "SJC", "datetimeMinute": "2026-11-21T10:05:00Z"}})
    );
    assert_eq!(
        zone["requests"][1]["dimensions"]["originResponseStatus"],
        502
    );
    assert_eq!(zone["total"], json!([{"count": 1000}]));
    assert_eq!(cf.graphql_requests(), vec![query]);

    let failing = cfapi::start(Scenario {
        graphql_error: Some("zone does not have access to the path".into()),
        ..Scenario::default()
    });
    let r = call(
        &failing,
        "POST",
        "/graphql",
        Some(TOKEN),
        Some(
            &json!({"query": "{ viewer { zones { requests: httpRequestsAdaptiveGroups { count } } } }"}),
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json["data"], Value::Null);
    assert_eq!(
        r.json["errors"][0]["message"],
        "zone does not have access to the path"
    );
    assert_eq!(
        r.json["errors"][0]["path"],
        json!(["viewer", "zones", "0", "requests"])
    );
}

#[test]
fn origin_helpers_answer_as_named() {
    assert_eq!(server::get(&origins::http_ok().url()), 200);
    let redirect = origins::http_redirect_to_https("www.example.com");
    assert_eq!(server::get(&redirect.url()), 301);
    let leaf = cloud502_e2e::certs::self_signed("www.example.com");
    assert_eq!(leaf.chain.len(), 1);
}

#[test]
fn a_hanging_server_reads_the_request_and_never_answers() {
    let cf = cfapi::start(Scenario {
        hang: true,
        ..Scenario::default()
    });
    let mut stream = TcpStream::connect(("127.0.0.1", cf.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let request = format!(
        "GET /client/v4/zones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut buf = [0u8; 16];
    assert!(stream.read(&mut buf).is_err(), "no byte comes back");
    assert_eq!(cf.requests().len(), 1);
}

#[test]
fn rulesets_page_rules_workers_routes_and_monitors_by_id() {
    let mut scenario = cfapi::incident();
    scenario.config_rules = vec![
        json!({"id": "r1", "action": "set_config", "expression": "true", "action_parameters": {"ssl": "strict"}}),
    ];
    scenario.page_rules =
        vec![json!({"id": "p1", "targets": [], "actions": [], "priority": 1, "status": "active"})];
    scenario.worker_routes =
        vec![json!({"id": "w1", "pattern": "www.example.com/*", "script": "edge"})];
    let monitor = scenario.monitors[0].id.clone();
    let cf = cfapi::start(scenario);
    let z = format!("/zones/{ZONE_ID}");
    let config = get(
        &cf,
        &format!("{z}/rulesets/phases/http_config_settings/entrypoint"),
    );
    assert_eq!(config.status, 200);
    assert_eq!(config.json["result"]["phase"], "http_config_settings");
    assert_eq!(
        config.json["result"]["rules"][0]["action_parameters"]["ssl"],
        "strict"
    );
    // A phase without rules has no entrypoint ruleset: 404.
    let origin = get(
        &cf,
        &format!("{z}/rulesets/phases/http_request_origin/entrypoint"),
    );
    assert_eq!(origin.status, 404);
    assert_eq!(origin.json["success"], false);
    let pages = get(&cf, &format!("{z}/pagerules"));
    assert_eq!(pages.json["result"][0]["id"], "p1");
    let routes = get(&cf, &format!("{z}/workers/routes"));
    assert_eq!(routes.json["result"][0]["script"], "edge");
    let acct = cfapi::ACCOUNT_ID;
    let m = get(
        &cf,
        &format!("/accounts/{acct}/load_balancers/monitors/{monitor}"),
    );
    assert_eq!(m.json["result"]["id"], monitor.as_str());
    assert_eq!(m.json["result"]["expected_codes"], "2xx");
    let unknown = get(
        &cf,
        &format!("/accounts/{acct}/load_balancers/monitors/nope"),
    );
    assert_eq!(unknown.status, 400);
}
