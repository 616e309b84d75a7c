//! `cloud502 audit` over a fleet of ALB target groups on a real moto_server: what an audit costs in
//! API requests (counted in moto's own request log, not by cloud502), and that sharing the
//! per-load-balancer and per-VPC reads between subjects changes nothing any subject reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::moto::Moto;
use cloud502_e2e::{cloud502_env, codes};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The requests one target group may cost in a fleet audit (issue 17).
const MAX_REQUESTS_PER_TG: usize = 3;

fn audit_file(moto: &Moto, tgs: &[Value]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "[audit]\nconcurrency = 4\n\n[aws]\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n\n",
        moto.endpoint
    );
    for (i, arn) in tgs.iter().enumerate() {
        text.push_str(&format!(
            "[[subject]]\nname = \"tg{i}\"\nprovider = \"aws\"\ntg = \"{}\"\n\n",
            arn.as_str().unwrap()
        ));
    }
    let path = dir.path().join("audit.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Whether `text` names the address `ip` (not as the prefix of a longer one: 10.0.0.1 is not in
/// 10.0.0.12).
fn names_ip(text: &str, ip: &str) -> bool {
    text.match_indices(ip).any(|(at, _)| {
        let after = text[at + ip.len()..].chars().next();
        let before = text[..at].chars().next_back();
        !after.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
    })
}

#[test]
fn a_fleet_audit_costs_at_most_three_requests_per_target_group_and_reports_each_alone() {
    let moto = Moto::start();
    // 6 groups on each of 4 ALBs. Each group costs its own DescribeTargetHealth and
    // DescribeTargetGroupAttributes (neither takes a list); each ALB its attributes, listeners and
    // rules; the fleet a few shared reads. 2N + 4L + 6 <= 3N needs N >= 22 on 4 ALBs: a thinner
    // fleet costs more than 3 a group however it is read.
    let s = moto.scenario("fleet", &["--count", "24", "--per-alb", "6"]);
    let tgs = s["tg_arns"].as_array().unwrap().clone();
    assert_eq!(tgs.len(), 24);
    assert_eq!(s["lb_arns"].as_array().unwrap().len(), 4);
    let (_dir, config) = audit_file(&moto, &tgs);
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let before = moto.requests();
    let run = cloud502_env(
        &["audit", "--config", config.to_str().unwrap(), "-o", "json"],
        &env,
    );
    let sent = moto.requests() - before;
    let report = run.json();
    assert!(
        sent <= MAX_REQUESTS_PER_TG * tgs.len(),
        "{sent} requests in moto's log for {} target groups (at most {} each)",
        tgs.len(),
        MAX_REQUESTS_PER_TG
    );
    // Each group's health and attributes are its own calls: fewer than two each means a group
    // was not read at all.
    assert!(
        sent >= 2 * tgs.len(),
        "{sent} requests: not every group was read"
    );

    // Every subject inspected, with its own group's targets only.
    let subjects = report["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), tgs.len());
    let mut own: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sub in subjects {
        let r = &sub["report"];
        let name = sub["name"].as_str().unwrap().to_owned();
        assert!(
            r["errors"].as_array().is_none_or(|e| e.is_empty()),
            "{name}: {}",
            r["errors"]
        );
        let targets = r["targets"].as_array().unwrap();
        assert_eq!(targets.len(), 2, "{name}: {targets:?}");
        let index: usize = name.trim_start_matches("tg").parse().unwrap();
        let group = format!("fleet-{index}");
        for t in targets {
            assert_eq!(t["group"], group.as_str(), "{name}: {t}");
        }
        own.insert(
            name,
            targets
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned())
                .collect(),
        );
    }
    for sub in subjects {
        let name = sub["name"].as_str().unwrap();
        let findings = sub["report"]["findings"].to_string();
        for (other, ips) in &own {
            if other == name {
                continue;
            }
            for ip in ips.difference(&own[name]) {
                assert!(
                    !names_ip(&findings, ip),
                    "{name}'s findings name {ip}, a target of {other}: {findings}"
                );
            }
        }
    }

    // The same findings as each group inspected alone (one per load balancer).
    for i in [0, 7, 14, 23] {
        let alone = moto.aws(&["--tg", tgs[i].as_str().unwrap()]);
        let alone = alone.json();
        let in_audit = &subjects[i]["report"];
        assert_eq!(codes(&alone), codes(in_audit), "tg{i}");
        assert_eq!(alone["targets"], in_audit["targets"], "tg{i}");
    }
}

#[test]
fn names_ip_matches_whole_addresses_only() {
    assert!(names_ip("target 10.0.0.1 failed", "10.0.0.1"));
    assert!(names_ip("\"10.0.0.1:8080\"", "10.0.0.1"));
    assert!(!names_ip("target 10.0.0.12 failed", "10.0.0.1"));
    assert!(!names_ip("target 110.0.0.1 failed", "10.0.0.1"));
}
