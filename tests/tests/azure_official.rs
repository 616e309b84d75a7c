//! `cloud502 azure` against Microsoft's published examples and a backend-health answer captured
//! from a live gateway, served verbatim by the local ARM server (tests/src/arm.rs reads them from
//! `providers/azure/tests/fixtures/official/`): the report names the cause and is never healthy
//! while a server is unhealthy; the long-running operation's variants, throttling, 403 and a
//! read-only lock end with the right exit code and a one-line message; Log Analytics errors are
//! told apart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::arm::{self, Arm, Health, Scenario, TOKEN, WORKSPACE, az_env, finding, official};
use cloud502_e2e::{Run, codes};
use serde_json::{Value, json};
use std::time::Duration;

/// The captured answer: one server Unhealthy, "Received invalid status code: 502 ...".
const CAPTURED: &str = "captures/aafc-terrastodon-unhealthy-502.json";

/// The official Get example's gateway subnet (its own id).
const OFFICIAL_SUBNET: &str = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/virtualNetwork1/subnets/appgwsubnet";
/// Where the derived subnet below points its NSG.
const OFFICIAL_NSG: &str = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/testnsg";

fn serve(s: Scenario, extra: &[&str]) -> (Arm, Run) {
    let arm = Arm::start(s);
    let env = az_env(TOKEN);
    let mut args = vec!["--auth", "cli"];
    args.extend_from_slice(extra);
    let run = arm::run(&arm, &args, &[("PATH", &env.path)]);
    (arm, run)
}

/// The official `ApplicationGatewayGet.json` as the gateway, its subnet the official
/// `SubnetGet.json`, both verbatim; backend health this body.
fn official_gateway(health: Health) -> Scenario {
    let mut s = arm::incident();
    s.gateway_raw = Some(official("ApplicationGatewayGet.json"));
    s.files
        .push((OFFICIAL_SUBNET.to_owned(), official("SubnetGet.json")));
    s.health = health;
    s.access_rows = Vec::new();
    s
}

/// `(address, health, healthProbeLog, healthProbeErrorName)` of a derived server.
type Server<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

fn raw(body: String) -> Health {
    Health::Raw { polls: 1, body }
}

/// A variant of the captured answer, derived here: its server entry (kept whole, error name and
/// certificate metadata included) moved to the official Get example's pool `appgwpool1`
/// (members 10.0.0.1 and 10.0.0.2) with HTTP settings `appgwbhs`, once per `(address, health,
/// message, error name)`; `None` keeps the captured value, `Some("")` drops the error name.
fn derived(servers: &[Server<'_>]) -> String {
    let mut body: Value = serde_json::from_str(&official(CAPTURED)).unwrap();
    let base = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/applicationGateways/appgw";
    let pool = &mut body["backendAddressPools"][0];
    pool["backendAddressPool"]["id"] = json!(format!("{base}/backendAddressPools/appgwpool1"));
    let settings = &mut pool["backendHttpSettingsCollection"][0];
    settings["backendHttpSettings"]["id"] =
        json!(format!("{base}/backendHttpSettingsCollection/appgwbhs"));
    let captured = settings["servers"][0].clone();
    settings["servers"] = servers
        .iter()
        .map(|(address, health, log, name)| {
            let mut s = captured.clone();
            s["address"] = json!(address);
            if let Some(h) = health {
                s["health"] = json!(h);
            }
            if let Some(l) = log {
                s["healthProbeLog"] = json!(l);
            }
            match name {
                Some("") => {
                    s.as_object_mut().unwrap().remove("healthProbeErrorName");
                }
                Some(n) => s["healthProbeErrorName"] = json!(n),
                None => {}
            }
            s
        })
        .collect();
    body.to_string()
}

fn gaps(report: &Value) -> Vec<&Value> {
    report["errors"].as_array().unwrap().iter().collect()
}

/// Never healthy, never exit 0, never "unreachable" for a body that was served.
fn not_healthy(run: &Run, report: &Value) {
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert_ne!(report["verdict"], "healthy", "{:#}", report["findings"]);
    assert!(
        gaps(report).iter().all(|g| g["kind"] != "unreachable"),
        "{:#}",
        report["errors"]
    );
}

#[test]
fn the_captured_unhealthy_answer_names_its_pool_down_behind_the_official_gateway() {
    let (_arm, run) = serve(official_gateway(raw(official(CAPTURED))), &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stderr, run.stdout);
    let report = run.json();
    not_healthy(&run, &report);
    assert_eq!(report["verdict"], "failing");
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["health"], "unhealthy");
    assert_eq!(targets[0]["reason"], "status-mismatch");
    assert_eq!(
        targets[0]["detail"],
        "Received invalid status code: 502 in the backend server's HTTP response."
    );
    let down = finding(&report, "appgw-all-backends-unhealthy");
    assert_eq!(down["severity"], "critical");
    assert!(
        down["title"]
            .as_str()
            .unwrap()
            .contains("terra-frontend-addr-pool"),
        "{down:#}"
    );
    assert!(
        down["explanation"]
            .as_str()
            .unwrap()
            .contains("Received invalid status code: 502"),
        "{down:#}"
    );
    // The official example's routes all reach its empty pool.
    assert!(codes(&report).contains(&"appgw-empty-backend-pool"));
    // A 502 to the probe is the backend failing, not the probe.
    let probe = finding(&report, "appgw-probe-misconfigured");
    assert!(
        probe["explanation"]
            .as_str()
            .unwrap()
            .contains("the backend itself answers 502 to the probe: it is failing, not the probe"),
        "{probe:#}"
    );
    // The captured pool is not in the official configuration: said, not dropped.
    let missing = gaps(&report)
        .into_iter()
        .find(|g| g["scope"] == "azure:health-servers")
        .unwrap_or_else(|| panic!("{:#}", report["errors"]));
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("terra-frontend-addr-pool"),
        "{missing:#}"
    );
    // The wire values, verbatim, as an item.
    let items = report["evidence"].as_array().unwrap();
    assert!(
        items.iter().any(|i| i["id"] == "azure.server.0"
            && i["fact"]
                .as_str()
                .unwrap()
                .contains("HttpStatusCodeMismatchWithStatusCode")),
        "{items:#?}"
    );
}

#[test]
fn all_unhealthy_and_mixed_variants_name_the_pool_and_are_never_healthy() {
    // Both members Unhealthy as captured: the pool has no live upstream.
    let all = derived(&[
        ("10.0.0.1", None, None, None),
        ("10.0.0.2", None, None, None),
    ]);
    let (_arm, run) = serve(official_gateway(raw(all)), &[]);
    let report = run.json();
    not_healthy(&run, &report);
    assert_eq!(run.code, 1);
    let down = finding(&report, "appgw-all-backends-unhealthy");
    assert!(
        down["title"].as_str().unwrap().contains("appgwpool1"),
        "{down:#}"
    );
    assert!(
        gaps(&report)
            .iter()
            .all(|g| g["scope"] != "azure:health-servers"),
        "appgwpool1 is in the configuration: {:#}",
        report["errors"]
    );

    // One Unhealthy as captured, one Healthy (the success text and name real gateways send).
    let mixed = derived(&[
        ("10.0.0.1", None, None, None),
        (
            "10.0.0.2",
            Some("Healthy"),
            Some("Success. Received 200 status code"),
            Some("SuccessWithStatusCode"),
        ),
    ]);
    let (_arm, run) = serve(official_gateway(raw(mixed)), &[]);
    let report = run.json();
    not_healthy(&run, &report);
    let some = finding(&report, "appgw-backends-unhealthy");
    assert!(
        some["title"].as_str().unwrap().starts_with("1 of 2"),
        "{some:#}"
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] != "appgw-all-backends-unhealthy"),
        "a healthy member carries the pool: {:#}",
        report["findings"]
    );
}

#[test]
fn an_all_draining_pool_is_down() {
    let log = "Received invalid status code: 502 in the backend server's HTTP response.";
    // Every member Draining (the swagger's value): no server takes new requests.
    let draining = derived(&[
        ("10.0.0.1", Some("Draining"), Some(log), Some("")),
        ("10.0.0.2", Some("Draining"), Some(log), Some("")),
    ]);
    let (_arm, run) = serve(official_gateway(raw(draining)), &[]);
    let report = run.json();
    not_healthy(&run, &report);
    let targets = report["targets"].as_array().unwrap();
    assert!(
        targets.iter().all(|t| t["health"] == "draining"),
        "{targets:#?}"
    );
    let down = finding(&report, "appgw-all-backends-unhealthy");
    assert!(
        down["title"].as_str().unwrap().contains("appgwpool1"),
        "{down:#}"
    );
}

#[test]
fn unknown_behind_the_official_nsg_names_the_blocked_management_ports() {
    // The documented Unknown message (probe-messages.json row 23) on both members, no error
    // name: derived from the captured answer.
    let doc: Value = serde_json::from_str(&official("probe-messages.json")).unwrap();
    let unknown = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == 23)
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = derived(&[
        ("10.0.0.1", Some("Unknown"), Some(&unknown), Some("")),
        ("10.0.0.2", Some("Unknown"), Some(&unknown), Some("")),
    ]);
    let mut s = official_gateway(raw(body));
    // The official SubnetGet.json with the official NSG attached (derived: the example has no
    // NSG); the NSG is NetworkSecurityGroupGet.json verbatim, which has no GatewayManager rule.
    let mut subnet: Value = serde_json::from_str(&official("SubnetGet.json")).unwrap();
    subnet["properties"]["networkSecurityGroup"] = json!({ "id": OFFICIAL_NSG });
    s.files = vec![
        (OFFICIAL_SUBNET.to_owned(), subnet.to_string()),
        (
            OFFICIAL_NSG.to_owned(),
            official("NetworkSecurityGroupGet.json"),
        ),
    ];
    let (_arm, run) = serve(s, &[]);
    let report = run.json();
    not_healthy(&run, &report);
    let targets = report["targets"].as_array().unwrap();
    assert!(
        targets
            .iter()
            .all(|t| t["health"] == "unknown" && t["reason"] == "health-unknown"),
        "{targets:#?}"
    );
    let blocked = finding(&report, "appgw-gateway-manager-blocked");
    assert_eq!(blocked["severity"], "critical", "{blocked:#}");
    // A v1 SKU (Standard_Medium): its management ports are 65503-65534.
    let checks = report["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["status"] == "fail" && c["name"].as_str().unwrap().contains("65503-65534")),
        "{checks:#?}"
    );
}

#[test]
fn the_official_health_example_beside_the_official_gateway_reports_the_pools_it_lacks() {
    let (_arm, run) = serve(
        official_gateway(raw(official("ApplicationGatewayBackendHealthGet.json"))),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    assert!(targets.iter().all(|t| t["health"] == "healthy"));
    let missing: Vec<&str> = gaps(&report)
        .iter()
        .filter(|g| g["scope"] == "azure:health-servers")
        .map(|g| g["message"].as_str().unwrap())
        .collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert!(missing.iter().any(|m| m.contains("MFPool")));
    assert_eq!(
        finding(&report, "appgw-empty-backend-pool")["severity"],
        "critical"
    );
}

// ---- the long-running operation, throttling, permissions ----

fn health_gap(report: &Value) -> &Value {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["scope"] == "azure:backendhealth")
        .unwrap_or_else(|| panic!("no backend-health gap in {:#}", report["errors"]))
}

fn incident(health: Health) -> Scenario {
    let mut s = arm::incident();
    s.health = health;
    s
}

/// The warning the CLI prints for a gap is one line.
fn one_line_warning(run: &Run, scope: &str) {
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(&format!("warning: {scope}")))
        .collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
}

/// Run the incident with this backend health: the gap it leaves, printed as one line, with the
/// exit code the incident's configuration findings give (a gap does not hide them).
fn health_gap_after(health: Health, extra: &[&str]) -> (Run, Value) {
    let (_arm, run) = serve(incident(health), extra);
    assert_eq!(run.code, 1, "{}", run.stderr);
    one_line_warning(&run, "azure:backendhealth");
    let gap = health_gap(&run.json()).clone();
    (run, gap)
}

#[test]
fn a_retry_after_past_the_deadline_stops_at_once_and_says_how_long_it_ran() {
    let (run, gap) = health_gap_after(Health::SlowRetryAfter(30), &["--timeout", "5s"]);
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
    assert_eq!(gap["kind"], "timeout");
    assert_eq!(
        gap["message"],
        "backend health: the long-running operation had not finished after 0 s; its next poll was due in 30 s, past --timeout 5 s"
    );
}

#[test]
fn succeeded_at_azure_async_operation_while_location_still_answers_202() {
    let (arm, run) = serve(
        incident(Health::AsyncThenLocation {
            polls: 1,
            location_202s: 2,
            body: official(CAPTURED),
        }),
        &[],
    );
    let report = run.json();
    assert!(
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["scope"] != "azure:backendhealth"),
        "{:#}",
        report["errors"]
    );
    assert_eq!(report["targets"].as_array().unwrap().len(), 1);
    let seen = arm.requests();
    let at = |p: &str| seen.iter().filter(|r| r.path.contains(p)).count();
    assert_eq!(at("/operations/op-1"), 2, "InProgress, Succeeded");
    assert_eq!(at("/operationResults/op-1"), 3, "202, 202, then the result");
}

#[test]
fn a_202_with_only_azure_async_operation_reads_the_result_from_the_status() {
    let (_arm, run) = serve(
        incident(Health::AsyncOnly {
            polls: 1,
            body: official(CAPTURED),
        }),
        &[],
    );
    let report = run.json();
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{:#}", report["errors"]);
    assert_eq!(targets[0]["reason"], "status-mismatch");
}

#[test]
fn a_failed_operation_says_so_and_not_http_200() {
    let (run, gap) = health_gap_after(
        Health::Failed {
            code: "InternalServerError".into(),
            message: "An error occurred.".into(),
        },
        &[],
    );
    assert_eq!(
        gap["message"],
        "backend health: the long-running operation ended Failed (InternalServerError): An error occurred."
    );
    assert!(!run.stderr.contains("HTTP 200"), "{}", run.stderr);
}

#[test]
fn throttled_once_then_read_and_throttled_forever_is_throttled() {
    let (arm, run) = serve(
        incident(Health::Throttled {
            times: 1,
            body: official(CAPTURED),
        }),
        &[],
    );
    let report = run.json();
    assert_eq!(report["targets"].as_array().unwrap().len(), 1);
    assert!(run.elapsed >= Duration::from_secs(1));
    let posts = arm
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains("/backendhealth"))
        .count();
    assert_eq!(posts, 2, "a 429, then the answer");

    let (_, gap) = health_gap_after(
        Health::Throttled {
            times: u32::MAX,
            body: String::new(),
        },
        &["--timeout", "10s"],
    );
    assert_eq!(gap["kind"], "throttled", "{gap:#}");
    assert!(
        gap["message"].as_str().unwrap().contains("HTTP 429"),
        "{gap:#}"
    );
}

#[test]
fn forbidden_on_every_call_stops_with_exit_4_in_one_line() {
    let mut s = arm::incident();
    s.forbid_all = true;
    let (_arm, run) = serve(s, &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("no read access to Application Gateway \"agw-prod\""),
        "{}",
        run.stderr
    );
}

#[test]
fn a_read_only_lock_is_named_with_its_fix() {
    let (_, gap) = health_gap_after(
        Health::Error {
            status: 409,
            code: "ScopeLocked".into(),
            message: "The scope '/subscriptions/0b1e2c3d-0000-4000-8000-00000000000a/resourceGroups/rg-web/providers/Microsoft.Network/applicationGateways/agw-prod' cannot perform write operation because following scope(s) are locked: '/subscriptions/0b1e2c3d-0000-4000-8000-00000000000a/resourceGroups/rg-web'. Please remove the lock and try again.".into(),
        },
        &[],
    );
    assert_eq!(gap["kind"], "permission");
    assert!(
        gap["message"]
            .as_str()
            .unwrap()
            .starts_with("a read-only lock blocks the backend-health action"),
        "{gap:#}"
    );
    assert!(gap["hint"].as_str().unwrap().contains("ReadOnly lock"));
}

// ---- Log Analytics ----

fn logs(error: Option<(u16, Value)>, workspace: &str) -> Value {
    let mut s = arm::incident();
    s.logs_error = error;
    let (_arm, run) = serve(s, &["--workspace", workspace]);
    run.json()
}

fn log_gaps(report: &Value) -> Vec<&Value> {
    gaps(report)
        .into_iter()
        .filter(|g| g["scope"] == "azure:loganalytics")
        .collect()
}

/// Log Analytics' error envelope as the .NET SDK guide prints it (INVENTORY.md section 7).
fn semantic(message: &str) -> Value {
    json!({"error": {"message": "The request had some invalid properties", "code": "BadArgumentError", "correlationId": "x",
        "innererror": {"code": "SemanticError", "message": "A semantic error occurred.",
            "innererror": {"code": "SEM0100", "message": message}}}})
}

/// The Log Analytics gaps when every query fails with this SemanticError message.
fn semantic_gaps(message: &str) -> Vec<Value> {
    let report = logs(Some((400, semantic(message))), WORKSPACE);
    log_gaps(&report).into_iter().cloned().collect()
}

#[test]
fn a_missing_column_is_not_a_missing_table() {
    // The server answers both queries so: each names the column it lacks, neither is read as
    // a missing table.
    let g = semantic_gaps(
        "'summarize' operator: Failed to resolve scalar expression named 'NoSuchColumn_s'",
    );
    assert_eq!(g.len(), 2, "{g:#?}");
    for g in g {
        assert_eq!(g["kind"], "invalid-input");
        let m = g["message"].as_str().unwrap();
        assert!(m.contains("names column NoSuchColumn_s"), "{m}");
        assert!(!m.contains("has neither"), "{m}");
    }

    // The table itself missing from the workspace, for both queries: one gap saying the logs
    // are not sent there, and no column gap.
    let g = semantic_gaps(
        "'where' operator: Failed to resolve table or column expression named '{table}'",
    );
    assert_eq!(g.len(), 1, "{g:#?}");
    assert_eq!(g[0]["kind"], "not-found");
    assert!(
        g[0]["message"]
            .as_str()
            .unwrap()
            .contains("has neither AGWAccessLogs nor AzureDiagnostics"),
        "{g:#?}"
    );
}

#[test]
fn a_missing_workspace_is_one_gap_and_throttling_is_throttled() {
    let report = logs(None, "11111111-2222-4333-8444-555555555555");
    let g = log_gaps(&report);
    assert_eq!(g.len(), 1, "printed once: {g:#?}");
    assert_eq!(g[0]["kind"], "not-found");

    let report = logs(
        Some((429, arm::envelope("TooManyRequests", "slow down"))),
        WORKSPACE,
    );
    let g = log_gaps(&report);
    assert_eq!(g.len(), 1, "{g:#?}");
    assert_eq!(g[0]["kind"], "throttled", "{g:#?}");
    assert!(
        g[0]["message"]
            .as_str()
            .unwrap()
            .contains("AGWAccessLogs and AzureDiagnostics"),
        "{g:#?}"
    );
}

#[test]
fn a_v1_gateways_502s_say_what_its_log_cannot_tell() {
    // The official Get example is a v1 SKU (Standard_Medium); its access log rows carry no
    // ErrorInfo, ServerStatus or ServerRouted.
    let mut s = official_gateway(raw(official(CAPTURED)));
    s.access_rows = vec![
        arm::row(200, "", "", "", "", 90),
        arm::row(502, "", "", "", "appgwpool", 9),
        // v1 writes the backend's status into requestQuery (SERVER-STATUS=502), which the query
        // extracts into ServerStatus: the backend's own 502s, told apart.
        arm::row(502, "", "502", "10.4.0.4", "appgwpool", 3),
    ];
    let (_arm, run) = serve(s, &["--workspace", WORKSPACE]);
    let report = run.json();
    let gap = gaps(&report)
        .into_iter()
        .find(|g| g["scope"] == "azure:loganalytics")
        .unwrap_or_else(|| panic!("{:#}", report["errors"]));
    assert_eq!(gap["kind"], "unsupported");
    let m = gap["message"].as_str().unwrap();
    assert!(
        m.starts_with("9 request(s) got 502") && m.contains("v1 gateway"),
        "{m}"
    );
    // And a finding of its own, citing the 502 rows: 502s were served, whoever made them.
    let f = arm::finding(&report, "appgw-v1-logs-cannot-tell");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .starts_with("9 request(s) got 502 from a v1 gateway"),
        "{f:#}"
    );
    assert!(
        f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().starts_with("log.")),
        "{f:#}"
    );
    assert_ne!(run.code, 0, "{}", run.stderr);
    let relayed = arm::finding(&report, "appgw-backend-returned-502");
    assert!(
        relayed["title"]
            .as_str()
            .unwrap()
            .starts_with("3 request(s)"),
        "{relayed:#}"
    );
}

#[test]
fn a_body_that_does_not_parse_is_not_understood_never_unreachable() {
    // Backend health: a gap that says so, the rest of the report still made.
    let (_, gap) = health_gap_after(
        Health::Raw {
            polls: 0,
            body: "<html><body>upstream error</body></html>".into(),
        },
        &[],
    );
    assert_eq!(gap["kind"], "invalid-input", "{gap:#}");
    assert!(
        gap["message"]
            .as_str()
            .unwrap()
            .starts_with("backend health: the answer for backend health was not understood"),
        "{gap:#}"
    );
    // The gateway: nothing else can be read, exit 4, and the hint is not about the network.
    let mut s = arm::incident();
    s.gateway_raw = Some("<html>maintenance</html>".into());
    let (_arm, run) = serve(s, &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("the answer for the gateway was not understood")
            && errors[0].contains("not a network problem"),
        "{}",
        run.stderr
    );
}
