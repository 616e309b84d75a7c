//! The provider's reading of Microsoft's published examples and of captured backend-health
//! answers (`tests/fixtures/official/`, provenance in PROVENANCE.md): every probe message gets a
//! specific reason, real health values map, and bodies that stray from the swagger still read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_azure::convert::{self, HEALTH_ELEMENT_SCOPE, classify, health_state};
use cloud502_azure::resources::{
    self, BackendHealth, Gateway, Nsg, QueryResponse, RouteTable, Subnet,
};
use cloud502_model::{GapKind, HealthState};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/official/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read<T: serde::de::DeserializeOwned>(name: &str) -> (T, Vec<String>) {
    resources::parse::<T>(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The reason each family of probe-messages.json must get (its `family` is the fixture's own
/// grouping; the reasons are the ones the appgw rules read).
fn expected(family: &str) -> Option<&'static str> {
    Some(match family {
        "success" => return None,
        "timeout" => "probe-timeout",
        "dns" => "dns-failure",
        "tcp-connect" => "connect-failure",
        "status-mismatch" => "status-mismatch",
        "body-mismatch" => "body-mismatch",
        "cert-cn-mismatch" => "cert-name-mismatch",
        "cert-expired" => "cert-expired",
        "cert-chain-intermediate-missing" | "cert-chain-leaf-missing" | "cert-chain-order" => {
            "cert-chain"
        }
        "cert-untrusted-ca" | "cert-root-mismatch" => "cert-untrusted",
        "cert-verify-failed" => "cert-verify-failed",
        "cert-trusted-root-unreadable" => "cert-trusted-root-unreadable",
        "tls-connect" => "tls-handshake",
        "unknown-nsg-udr-dns" => "health-unknown",
        "no-permission" => "no-results",
        "unknown-error" => "unknown-error",
        other => panic!("family {other} has no expected reason: add it"),
    })
}

#[test]
fn every_documented_and_captured_probe_message_gets_its_reason() {
    let doc: Value = serde_json::from_slice(&fixture("probe-messages.json")).unwrap();
    let rows = doc["messages"].as_array().unwrap();
    assert_eq!(rows.len(), 58, "the fixture's row count");
    let mut failures = Vec::new();
    for row in rows {
        let message = row["message"].as_str().unwrap();
        let family = row["family"].as_str().unwrap();
        let want = expected(family);
        // The message alone, and with the error name when the row has one.
        let by_text = convert::classify_probe_log(message);
        let with_name = classify(row["error_name"].as_str(), Some(message));
        for (how, got) in [("message", by_text), ("name+message", with_name)] {
            if got != want || got == Some("other") {
                failures.push(format!(
                    "row {} ({family}) by {how}: got {got:?}, want {want:?}: {message}",
                    row["id"]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn names_of_the_second_mirror_with_their_prefixes_get_the_reason_it_pairs_them_with() {
    let doc: Value = serde_json::from_slice(&fixture("probe-messages.json")).unwrap();
    let pairs = doc["error_names_second_source"]["pairs"]
        .as_array()
        .unwrap();
    assert_eq!(pairs.len(), 12);
    for p in pairs {
        let name = p["name"].as_str().unwrap();
        let want = p["reason"].as_str();
        // The name alone, and the name beside a message that says something else.
        assert_eq!(classify(Some(name), None), want, "{name}");
        assert_eq!(classify(Some(name), Some("Something new")), want, "{name}");
        if let Some(m) = p["message"].as_str() {
            assert!(classify(None, Some(m)).is_some_and(|r| r != "other"), "{m}");
        }
    }
}

#[test]
fn every_listed_error_name_gets_a_reason_before_the_message() {
    let doc: Value = serde_json::from_slice(&fixture("probe-messages.json")).unwrap();
    let names = doc["error_names"]["names"].as_array().unwrap();
    assert_eq!(names.len(), 23);
    for n in names {
        let name = n["name"].as_str().unwrap();
        let got = classify(Some(name), None);
        match name {
            "SuccessWithStatusCode" => assert_eq!(got, None),
            _ => assert!(got.is_some_and(|r| r != "other"), "{name}: {got:?}"),
        }
    }
    // The name decides over a message that says something else, in any case.
    assert_eq!(
        classify(
            Some("httpstatuscodemismatchwithstatuscode"),
            Some("Something new")
        ),
        Some("status-mismatch")
    );
    // An unknown name falls back on the message; neither known is `other`, still a failure.
    assert_eq!(
        classify(Some("BrandNewName"), Some("Probe timeout.")),
        Some("probe-timeout")
    );
    assert_eq!(classify(Some("BrandNewName"), None), Some("other"));
    assert_eq!(classify(None, Some("Something new")), Some("other"));
    assert_eq!(
        classify(None, Some("Success. Received 200 status code")),
        None
    );
    assert_eq!(classify(None, None), None);
}

#[test]
fn health_values_of_both_vocabularies_map_and_unknown_ones_are_never_healthy() {
    for (v, want) in [
        ("Healthy", Some(HealthState::Healthy)),
        ("UP", Some(HealthState::Healthy)),
        ("Unhealthy", Some(HealthState::Unhealthy)),
        ("down", Some(HealthState::Unhealthy)),
        ("Partial", Some(HealthState::Unhealthy)),
        ("Draining", Some(HealthState::Draining)),
        ("Unknown", Some(HealthState::Unknown)),
        ("Degraded", None),
        ("", None),
    ] {
        assert_eq!(health_state(v), want, "{v}");
    }
}

#[test]
fn the_captured_unhealthy_answer_reads_as_one_unhealthy_server_with_its_reason() {
    let (h, odd) = read::<BackendHealth>("captures/aafc-terrastodon-unhealthy-502.json");
    assert!(odd.is_empty(), "{odd:?}");
    let read = convert::health(&h, &Gateway::default());
    assert_eq!(read.targets.len(), 1);
    let t = &read.targets[0];
    assert_eq!(t.health, HealthState::Unhealthy);
    assert_eq!(t.reason.as_deref(), Some("status-mismatch"));
    assert_eq!(
        t.detail.as_deref(),
        Some("Received invalid status code: 502 in the backend server's HTTP response.")
    );
    assert_eq!(t.group.as_deref(), Some("terra-frontend-addr-pool"));
    assert_eq!(
        t.id,
        "terra-frontend-addr-pool/terra-frontend-conf-https/10.0.0.123"
    );
    // What the gateway sent, verbatim, as an item.
    assert_eq!(read.items[0].id, "azure.server.0");
    assert!(
        read.items[0]
            .fact
            .contains("healthProbeErrorName \"HttpStatusCodeMismatchWithStatusCode\""),
        "{}",
        read.items[0].fact
    );
    assert!(read.items[0].fact.contains("health \"Unhealthy\""));
    assert!(read.gaps.is_empty(), "{:?}", read.gaps);
}

#[test]
fn every_capture_reads_with_its_values() {
    for (name, servers, state) in [
        (
            "captures/aafc-terrastodon-testinput-healthy.json",
            1,
            HealthState::Healthy,
        ),
        (
            "captures/vijayrod-demo-az-cli-healthy.json",
            2,
            HealthState::Healthy,
        ),
        (
            "captures/msdocs-spring-apps-az-cli-ipconfiguration-null.json",
            1,
            HealthState::Healthy,
        ),
        (
            "ApplicationGatewayBackendHealthGet.json",
            3,
            HealthState::Healthy,
        ),
    ] {
        let (h, odd) = read::<BackendHealth>(name);
        assert!(odd.is_empty(), "{name}: {odd:?}");
        let read = convert::health(&h, &Gateway::default());
        assert_eq!(read.targets.len(), servers, "{name}");
        for t in &read.targets {
            assert_eq!(t.health, state, "{name}: {t:?}");
            assert_eq!(t.reason, None, "{name}: {t:?}");
        }
    }
    // The Spring Apps body names no pool and no settings: its server is still read.
    let (h, _) =
        read::<BackendHealth>("captures/msdocs-spring-apps-az-cli-ipconfiguration-null.json");
    let t = &convert::health(&h, &Gateway::default()).targets[0];
    assert_eq!(t.group.as_deref(), Some("unnamed-pool-0"));
}

#[test]
fn the_official_gateway_example_reads_whole_with_its_string_addresses() {
    let (gw, odd) = read::<Gateway>("ApplicationGatewayGet.json");
    assert!(odd.is_empty(), "{odd:?}");
    let config = convert::config(&gw, "arm:appgw");
    let pool1 = config
        .pools
        .iter()
        .find(|p| p.name == "appgwpool1")
        .unwrap();
    let members: Vec<&str> = pool1.members.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(members, ["10.0.0.1", "10.0.0.2"]);
    let empty = config.pools.iter().find(|p| p.name == "appgwpool").unwrap();
    assert!(empty.members.is_empty());
    // Both routing rules reach the empty pool, and, through load distribution policy ldp1
    // (weights 40/60), appgwpool1: one route per pool, the weight beside it.
    let to = |pool: &str| {
        config
            .routes
            .iter()
            .filter(|r| r.pool.as_deref() == Some(pool))
            .collect::<Vec<_>>()
    };
    assert_eq!(to("appgwpool").len(), 3, "{:#?}", config.routes);
    assert_eq!(to("appgwpool1").len(), 3, "{:#?}", config.routes);
    let weight = to("appgwpool1")[0]
        .setting("loadDistributionPolicy")
        .map(|s| s.value.clone());
    assert_eq!(weight.as_deref(), Some("ldp1: weight 60 of 100"));
    assert_eq!(
        to("appgwpool")[0]
            .setting("rewriteRuleSet")
            .map(|s| s.value.as_str()),
        Some("rewriteRuleSet1")
    );
    // Settings the backend's certificate check depends on, with their defaults.
    let r = to("appgwpool")[0];
    assert_eq!(
        r.setting("validateSNI")
            .map(|s| (s.value.as_str(), s.default)),
        Some(("true", true))
    );
    assert!(!convert::is_v2(&gw), "Standard_Medium is v1");
}

#[test]
fn health_pools_the_configuration_lacks_are_reported_and_ids_compare_without_case() {
    let (gw, _) = read::<Gateway>("ApplicationGatewayGet.json");
    // The official examples do not agree with each other: the health example's pools are not
    // in the Get example.
    let (h, _) = read::<BackendHealth>("ApplicationGatewayBackendHealthGet.json");
    let read = convert::health(&h, &gw);
    assert_eq!(read.targets.len(), 3, "its servers are still read");
    let missing: Vec<&str> = read.gaps.iter().map(|g| g.message.as_str()).collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert!(missing[0].contains("MFAnalyticsPool"), "{missing:?}");
    assert!(read.gaps.iter().all(|g| g.scope == HEALTH_ELEMENT_SCOPE));
    // The health example's spelling `backendaddressPools` against the Get example's pool:
    // derived from the official body by pointing it at the Get example's pool, in lower case.
    let mut body: Value =
        serde_json::from_slice(&fixture("ApplicationGatewayBackendHealthGet.json")).unwrap();
    body["backendAddressPools"][0]["backendAddressPool"]["id"] = Value::from(
        "/subscriptions/subid/resourcegroups/rg1/providers/microsoft.network/applicationgateways/appgw/backendaddressPools/APPGWPOOL1",
    );
    body["backendAddressPools"][0]["backendHttpSettingsCollection"][0]["backendHttpSettings"]["id"] =
        Value::from(
            "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/applicationGateways/appgw/backendHttpSettingsCollection/AppGwBhs",
        );
    let (h, _) = resources::parse::<BackendHealth>(body.to_string().as_bytes()).unwrap();
    let read = convert::health(&h, &gw);
    let t = &read.targets[0];
    assert_eq!(
        t.group.as_deref(),
        Some("appgwpool1"),
        "the config's spelling"
    );
    assert_eq!(t.id, "appgwpool1/appgwbhs/10.220.1.8");
    assert_eq!(t.port, Some(80));
    assert_eq!(
        read.gaps.len(),
        1,
        "only MFPool is missing: {:?}",
        read.gaps
    );
}

#[test]
fn nulls_read_as_empty_and_one_odd_element_is_left_out_and_named() {
    let (h, odd) = resources::parse::<BackendHealth>(br#"{"backendAddressPools": null}"#).unwrap();
    assert!(h.backend_address_pools.is_empty() && odd.is_empty());
    let body = br#"{"backendAddressPools":[{"backendAddressPool":{"id":".../backendAddressPools/p"},"backendHttpSettingsCollection":[{"backendHttpSettings":null,"servers":[
        {"address":"10.0.0.1","health":"Healthy","healthProbeLog":null,"ipConfiguration":null},
        42,
        {"address":"10.0.0.3","health":"Unhealthy","healthProbeLog":["not","a","string"]},
        {"address":null,"health":null}
    ]},{"servers":null}]}]}"#;
    let (h, odd) = resources::parse::<BackendHealth>(body).unwrap();
    let servers = &h.backend_address_pools[0].backend_http_settings_collection[0].servers;
    assert_eq!(servers.len(), 2, "{servers:?}");
    assert_eq!(odd.len(), 2, "{odd:?}");
    assert!(odd[0].starts_with("server #1 was left out"), "{odd:?}");
    assert!(
        odd[1].starts_with("server #2 \"10.0.0.3\" was left out"),
        "{odd:?}"
    );
    assert!(
        odd[1].contains("in backend-health pool #0 \"p\""),
        "{odd:?}"
    );
    // A server with null health is read, as unknown with a gap, never healthy.
    let read = convert::health(&h, &Gateway::default());
    assert_eq!(read.targets[1].health, HealthState::Unknown);
    assert_eq!(read.gaps.len(), 1);
    assert_eq!(read.gaps[0].kind, GapKind::InvalidInput);
    // A list that is not a list is empty, and noted.
    let (g, odd) = resources::parse::<Gateway>(
        br#"{"properties":{"backendAddressPools":{"oops":1},"probes":null,"sku":null}}"#,
    )
    .unwrap();
    assert!(g.properties.backend_address_pools.is_empty());
    assert_eq!(odd.len(), 1, "{odd:?}");
    // A body that is not JSON is an error, not an empty gateway.
    assert!(resources::parse::<Gateway>(b"<html>502 Bad Gateway</html>").is_err());
    assert!(resources::parse::<Gateway>(b"[1,2]").is_err());
}

#[test]
fn a_value_cloud502_does_not_know_is_kept_and_read_as_unknown() {
    let body = br#"{"backendAddressPools":[{"backendAddressPool":{"id":"x/backendAddressPools/p"},"backendHttpSettingsCollection":[{"backendHttpSettings":{"id":"x/backendHttpSettingsCollection/s"},"servers":[
        {"address":"10.0.0.1","health":"Degraded","healthProbeLog":"Something new"}]}]}]}"#;
    let (h, _) = resources::parse::<BackendHealth>(body).unwrap();
    let read = convert::health(&h, &Gateway::default());
    assert_eq!(read.targets[0].health, HealthState::Unknown);
    assert_eq!(read.targets[0].reason.as_deref(), Some("other"));
    assert!(read.items[0].fact.contains("health \"Degraded\""));
    assert!(
        read.gaps[0].message.contains("\"Degraded\""),
        "{:?}",
        read.gaps
    );
}

#[test]
fn the_official_network_and_log_examples_read() {
    let (nsg, odd) = read::<Nsg>("NetworkSecurityGroupGet.json");
    assert!(odd.is_empty(), "{odd:?}");
    // No GatewayManager rule: on a v2 gateway subnet this NSG blocks the management ports.
    let check = convert::nsg_check(&nsg, true);
    assert_eq!(check.status, cloud502_model::CheckStatus::Fail, "{check:?}");
    let (rt, odd) = read::<RouteTable>("RouteTableGet.json");
    assert!(odd.is_empty(), "{odd:?}");
    assert_eq!(rt.properties.routes.len(), 1);
    let (subnet, odd) = read::<Subnet>("SubnetGet.json");
    assert!(odd.is_empty(), "{odd:?}");
    assert!(subnet.properties.network_security_group.is_none());
    let (q, odd) = read::<QueryResponse>("LogAnalyticsQueryPost.json");
    assert!(odd.is_empty(), "{odd:?}");
    assert!(!q.tables[0].rows.is_empty());
}

#[test]
fn a_user_deny_all_and_an_outbound_internet_deny_fail_their_checks() {
    let check = |nsg: &Nsg, id: &str, v2: bool| {
        convert::nsg_more_checks(nsg, v2)
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| (c.status, c.detail))
    };
    let (nsg, _) = read::<Nsg>("NetworkSecurityGroupGet.json");
    // As published: Azure's defaults allow both.
    let (status, _) = check(&nsg, "nsg.azure-load-balancer", true).unwrap();
    assert_eq!(status, cloud502_model::CheckStatus::Pass);
    let (status, _) = check(&nsg, "nsg.internet-outbound", true).unwrap();
    assert_eq!(status, cloud502_model::CheckStatus::Pass);
    assert!(
        check(&nsg, "nsg.internet-outbound", false).is_none(),
        "v2 only"
    );
    // Derived from the official NSG: a user deny-all inbound, and an outbound deny to Internet,
    // each in the shape of the example's own rule.
    let mut body: Value = serde_json::from_slice(&fixture("NetworkSecurityGroupGet.json")).unwrap();
    let mut deny_in = body["properties"]["securityRules"][0].clone();
    deny_in["name"] = json!("deny-all-in");
    deny_in["properties"]["access"] = json!("Deny");
    deny_in["properties"]["priority"] = json!(4000);
    deny_in["properties"]["destinationPortRange"] = json!("*");
    let mut deny_out = deny_in.clone();
    deny_out["name"] = json!("deny-internet-out");
    deny_out["properties"]["direction"] = json!("Outbound");
    deny_out["properties"]["destinationAddressPrefix"] = json!("Internet");
    body["properties"]["securityRules"] = json!([deny_in, deny_out]);
    let (nsg, odd) = resources::parse::<Nsg>(body.to_string().as_bytes()).unwrap();
    assert!(odd.is_empty(), "{odd:?}");
    let (status, detail) = check(&nsg, "nsg.azure-load-balancer", true).unwrap();
    assert_eq!(status, cloud502_model::CheckStatus::Fail, "{detail}");
    assert!(detail.contains("deny-all-in (priority 4000)"), "{detail}");
    let (status, detail) = check(&nsg, "nsg.internet-outbound", true).unwrap();
    assert_eq!(status, cloud502_model::CheckStatus::Fail, "{detail}");
    assert!(detail.contains("deny-internet-out"), "{detail}");
}

#[test]
fn the_official_route_table_notes_bgp_propagation() {
    let (rt, _) = read::<RouteTable>("RouteTableGet.json");
    let c = convert::route_check(&rt);
    assert_eq!(c.status, cloud502_model::CheckStatus::Pass);
    assert!(
        c.detail.contains("BGP route propagation is on"),
        "{}",
        c.detail
    );
}

#[test]
fn host_rewrites_tls_settings_and_layer_4_rules_are_read() {
    // Derived from the official Get example: its rewrite rule also sets Host, its HTTP settings
    // go HTTPS with a trusted root, SNI checks off and draining on, and a layer-4 rule is added
    // in the swagger's shape (the example has none).
    let mut gw: Value = serde_json::from_slice(&fixture("ApplicationGatewayGet.json")).unwrap();
    let base = gw["id"].as_str().unwrap().to_owned();
    let p = &mut gw["properties"];
    p["rewriteRuleSets"][0]["properties"]["rewriteRules"][0]["actionSet"]
        ["requestHeaderConfigurations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"headerName": "Host", "headerValue": "internal.example"}));
    let hs = &mut p["backendHttpSettingsCollection"][0]["properties"];
    hs["protocol"] = json!("Https");
    hs["trustedRootCertificates"] =
        json!([{"id": format!("{base}/trustedRootCertificates/root1")}]);
    hs["validateSNI"] = json!(false);
    hs["connectionDraining"] = json!({"enabled": true, "drainTimeoutInSec": 60});
    p["listeners"] = json!([{"name": "l4", "id": format!("{base}/listeners/l4"), "properties": {
        "frontendPort": {"id": format!("{base}/frontendPorts/appgwfp80")}, "protocol": "Tcp"}}]);
    p["backendSettingsCollection"] = json!([{"name": "bs4", "id": format!("{base}/backendSettingsCollection/bs4"),
        "properties": {"port": 5432, "protocol": "Tcp", "timeout": 20}}]);
    p["routingRules"] = json!([{"name": "r4", "id": format!("{base}/routingRules/r4"), "properties": {
        "priority": 5, "listener": {"id": format!("{base}/listeners/l4")},
        "backendAddressPool": {"id": format!("{base}/backendAddressPools/appgwpool1")},
        "backendSettings": {"id": format!("{base}/backendSettingsCollection/bs4")}}}]);
    let (gw, odd) = resources::parse::<Gateway>(gw.to_string().as_bytes()).unwrap();
    assert!(odd.is_empty(), "{odd:?}");
    let config = convert::config(&gw, "arm:appgw");
    let r = config
        .routes
        .iter()
        .find(|r| r.pool.as_deref() == Some("appgwpool") && r.path.is_none())
        .unwrap();
    let v = |name: &str| r.setting(name).map(|s| s.value.as_str());
    assert_eq!(v("rewrite.host"), Some("internal.example"));
    assert_eq!(v("trustedRootCertificates"), Some("root1"));
    assert_eq!(v("validateSNI"), Some("false"));
    assert_eq!(v("connectionDraining"), Some("enabled, 60 s"));
    let l4 = config.routes.last().unwrap();
    assert_eq!(l4.target, "appgwpool1 via bs4");
    assert_eq!(l4.listen, ["80 tcp"]);
    assert_eq!(l4.scheme.as_deref(), Some("tcp"));
    assert_eq!(l4.setting("timeout").map(|s| s.value.as_str()), Some("20"));
}

#[test]
fn what_is_said_of_an_odd_element_is_bounded() {
    // A hostile body: a megabyte-long string where a server should be, and many odd elements.
    let long = "x".repeat(1 << 20);
    let mut servers = vec![json!(long)];
    servers.extend((0..500).map(|i| json!(i)));
    let body =
        json!({"backendAddressPools": [{"backendHttpSettingsCollection": [{"servers": servers}]}]});
    let (_, odd) = resources::parse::<BackendHealth>(body.to_string().as_bytes()).unwrap();
    assert_eq!(odd.len(), 20, "the first few are named");
    assert!(odd.iter().all(|n| n.len() < 1000), "{}", odd[0].len());
}

#[test]
fn a_backend_nsg_is_checked_for_the_gateway_subnet_on_the_backend_ports() {
    let gateway = ["10.0.0.0/24".to_owned()];
    let (nsg, _) = read::<Nsg>("NetworkSecurityGroupGet.json");
    // As published: rule1 allows 80 from anywhere; AllowVnetInBound covers the rest.
    let c = convert::backend_nsg_check(&nsg, "NIC vm1-nic", &gateway, &[80, 8080]);
    assert_eq!(c.status, cloud502_model::CheckStatus::Pass, "{}", c.detail);
    assert!(c.detail.contains("80 (rule rule1)"), "{}", c.detail);
    // Derived: a deny of 8080 from the gateway subnet's range, above the defaults.
    let mut body: Value = serde_json::from_slice(&fixture("NetworkSecurityGroupGet.json")).unwrap();
    let mut deny = body["properties"]["securityRules"][0].clone();
    deny["name"] = json!("deny-agw");
    deny["properties"]["access"] = json!("Deny");
    deny["properties"]["priority"] = json!(200);
    deny["properties"]["sourceAddressPrefix"] = json!("10.0.0.0/16");
    deny["properties"]["destinationPortRange"] = json!("8000-9000");
    body["properties"]["securityRules"]
        .as_array_mut()
        .unwrap()
        .push(deny);
    let (nsg, _) = resources::parse::<Nsg>(body.to_string().as_bytes()).unwrap();
    let c = convert::backend_nsg_check(&nsg, "NIC vm1-nic", &gateway, &[80, 8080]);
    assert_eq!(c.status, cloud502_model::CheckStatus::Fail, "{}", c.detail);
    assert!(
        c.detail.contains("8080 (rule deny-agw, priority 200)"),
        "{}",
        c.detail
    );
    // A prefix that does not hold the gateway subnet does not apply.
    let c = convert::backend_nsg_check(&nsg, "NIC vm1-nic", &["10.1.0.0/24".to_owned()], &[8080]);
    assert_eq!(c.status, cloud502_model::CheckStatus::Pass, "{}", c.detail);
}
