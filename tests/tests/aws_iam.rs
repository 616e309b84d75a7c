//! The least-privilege IAM policy in docs/providers/aws.md is exactly the set of actions the
//! provider calls: recorded by the clients' interceptor over runs against moto that reach every
//! source (metrics, CloudWatch Logs, S3 access logs, instance and IP targets' security groups).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_aws::{AwsOptions, AwsProvider, Clients, Selector};
use cloud502_diagnose::{CollectCx, Report, RunOptions, run};
use cloud502_e2e::moto::Moto;
use std::collections::BTreeSet;
use std::time::Duration;

fn documented_actions() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/providers/aws.md"),
    )
    .unwrap();
    let start = doc.find("```json\n").expect("a json block") + 8;
    let end = start + doc[start..].find("```").unwrap();
    let policy: serde_json::Value = serde_json::from_str(&doc[start..end]).unwrap();
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

async fn calls(moto: &Moto, options: AwsOptions) -> (BTreeSet<String>, Report) {
    let clients = Clients::with_static_credentials(
        &moto.endpoint,
        "us-east-1",
        "testing",
        "testing",
        Duration::from_secs(10),
    )
    .await;
    let provider = AwsProvider::with_clients(options, clients).unwrap();
    let report = run(&provider, &CollectCx::default(), &RunOptions::default())
        .await
        .unwrap();
    (provider.calls().snapshot().into_keys().collect(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_policy_is_exactly_the_actions_called() {
    let moto = Moto::start();
    let incident = moto.scenario("incident", &[]);
    let ip = moto.scenario("many", &["--count", "1"]);
    let (mut called, report) = calls(
        &moto,
        AwsOptions {
            log_group: Some("/alb/web".into()),
            ..AwsOptions::target_group(incident["tg_arn"].as_str().unwrap())
        },
    )
    .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let (lb_calls, report) = calls(
        &moto,
        AwsOptions {
            selector: Selector::LoadBalancer(ip["lb_arn"].as_str().unwrap().into()),
            ..AwsOptions::default()
        },
    )
    .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    called.extend(lb_calls);
    let documented = documented_actions();
    let undocumented: Vec<_> = called.difference(&documented).collect();
    let unused: Vec<_> = documented.difference(&called).collect();
    assert!(
        undocumented.is_empty() && unused.is_empty(),
        "docs/providers/aws.md's policy is out of date: called but not granted {undocumented:?}, granted but never called {unused:?}"
    );
    // every call is a read
    assert!(called.iter().all(|a| {
        let op = a.split(':').nth(1).unwrap();
        op.starts_with("Describe")
            || op.starts_with("Get")
            || op.starts_with("List")
            || op == "FilterLogEvents"
    }));
}
