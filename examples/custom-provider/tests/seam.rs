//! The open seam, proved from outside: a provider, a rule and a finding code that live in this
//! crate alone, run through the public `cloud502` library like any built-in provider.

use cloud502::audit::config::{Registered, parse};
use cloud502::model::{FindingCode, GapKind, Layer, ProviderKind, Report, Verdict};
use cloud502::{CollectCx, run};
use cloud502_example_custom_provider::{
    AcmeEdge, AcmeEdgeArgs, POOL_DRAINED, PoolDrained, run_options,
};
use std::path::PathBuf;
use std::sync::Arc;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn report(status: PathBuf, error_log: Option<PathBuf>) -> Report {
    let provider = AcmeEdge::new(status, error_log);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(run(
            &provider,
            &CollectCx::default(),
            &run_options().expect("rule registers"),
        ))
        .expect("run")
}

#[test]
fn built_in_rules_and_the_custom_rule_judge_the_custom_provider_together() {
    let r = report(fixture("status.json"), Some(fixture("error.log")));
    let codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();

    // The custom rule saw the drained pool, and only that one (catalog still has a server).
    let drained: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code.as_str() == POOL_DRAINED)
        .collect();
    assert_eq!(drained.len(), 1, "{codes:?}");
    assert!(
        drained[0].title.contains("`checkout`"),
        "{}",
        drained[0].title
    );
    assert_eq!(drained[0].evidence, ["target.0", "target.1"]);
    assert_eq!(drained[0].layer, Some(Layer::custom("acme-edge").unwrap()));

    // The built-in nginx rules read the gateway's error.log as they read nginx's own.
    assert!(
        codes.contains(&FindingCode::NginxUpstreamRefused.as_str()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&FindingCode::NginxNoLiveUpstreams.as_str()),
        "{codes:?}"
    );

    // Every cited evidence id exists in the report.
    for f in &r.findings {
        for id in &f.evidence {
            assert!(
                r.evidence.iter().any(|e| &e.id == id),
                "{} cites missing {id}",
                f.code
            );
        }
    }
    assert_eq!(r.subject.kind, ProviderKind::custom("acme-edge").unwrap());
    assert_eq!(r.verdict, Verdict::Failing);
    assert_eq!(r.summary.exit_code, 1);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn the_json_report_carries_the_custom_names_and_reads_back() {
    let r = report(fixture("status.json"), None);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["subject"]["kind"], "acme-edge");
    assert_eq!(json["summary"]["layer"], "acme-edge", "{}", json["summary"]);
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == POOL_DRAINED),
        "{json}"
    );
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
    // `cloud502 explain` would find the registered page and summary.
    let code: FindingCode = POOL_DRAINED.parse().unwrap();
    assert!(code.docs().starts_with("# acme-pool-drained\n"));
    assert!(FindingCode::registered().contains(&code));
    // Every renderer takes it like any other code (SARIF carries only findings that point at
    // config lines, and this one points at none). In JUnit it is a failed test case.
    for format in cloud502::render::Format::ALL
        .into_iter()
        .filter(|f| *f != cloud502::render::Format::Sarif)
    {
        let mut out = Vec::new();
        cloud502::render::render(&r, format, &Default::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(POOL_DRAINED), "{}: {text}", format.as_str());
        if format == cloud502::render::Format::Junit {
            let case = text
                .split("<testcase ")
                .find(|c| c.contains(POOL_DRAINED))
                .unwrap();
            assert!(case.contains("<failure "), "{case}");
        }
    }
}

#[test]
fn an_unreadable_status_is_a_gap_not_a_crash_and_never_healthy() {
    let dir = std::env::temp_dir().join(format!("acme-edge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("status.json");
    std::fs::write(&bad, "<html>502 Bad Gateway</html>").unwrap();
    let r = report(bad, Some(fixture("error.log")));
    assert!(
        r.errors.iter().any(|g| g.kind == GapKind::InvalidInput),
        "{:?}",
        r.errors
    );
    assert_ne!(r.verdict, Verdict::Healthy);
    assert!(!r.findings.iter().any(|f| f.code.as_str() == POOL_DRAINED));
    std::fs::remove_dir_all(&dir).ok();
}

/// The providers this audit may name: the example's own beside a built-in one.
const PROVIDERS: &[Registered] = &[
    Registered::of::<AcmeEdgeArgs>(),
    Registered::of::<cloud502::probe::ProbeArgs>(),
];

#[test]
fn an_audit_file_names_the_custom_provider_beside_a_built_in_one() {
    let src = r#"
[[subject]]
name = "edge-eu-1"
provider = "acme-edge"
status = "status.json"
error_log = "error.log"

[[subject]]
name = "front"
provider = "probe"
url = "http://127.0.0.1:1/"
timeout = "2s"
"#;
    let file = parse(src, "audit.toml", &fixture(""), PROVIDERS).expect("the file checks");
    let subjects = cloud502::audit::select(&file, None, &[]).unwrap();
    let options = cloud502::audit::AuditOptions {
        rules: vec![Arc::new(PoolDrained::new().unwrap())],
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let audit = runtime.block_on(cloud502::audit::run(&file, &subjects, &options));
    let edge = &audit.subjects[0];
    assert_eq!(edge.provider.as_str(), "acme-edge");
    assert!(
        edge.report
            .findings
            .iter()
            .any(|f| f.code.as_str() == POOL_DRAINED),
        "{:?}",
        edge.report.findings
    );
    // Nothing listens on port 1: the built-in probe subject fails its own way.
    assert_eq!(
        audit.subjects[1].report.findings[0].code,
        FindingCode::ConnectionRefused
    );
    assert_eq!(audit.rollup.exit_code, 1);
}

#[test]
fn the_audit_file_checks_the_custom_providers_keys_with_their_lines() {
    let src = "[[subject]]\nname = \"edge\"\nprovider = \"acme-edge\"\nstatus = \"s.json\"\nerorr_log = \"e.log\"\n";
    let err = parse(src, "audit.toml", &fixture(""), PROVIDERS).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("erorr_log") && text.contains("error_log"),
        "{text}"
    );
    assert!(text.starts_with("audit.toml:"), "{text}");
    // A provider the list does not have is refused, naming the ones it has.
    let src = "[[subject]]\nname = \"x\"\nprovider = \"nginx\"\n";
    let text = parse(src, "audit.toml", &fixture(""), PROVIDERS)
        .unwrap_err()
        .to_string();
    assert!(text.contains("acme-edge, probe"), "{text}");
}
