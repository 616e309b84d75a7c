//! `cloud502 aws` on subjects it must refuse in one line with exit 2 (issue 17): a Network Load
//! Balancer's target group or load balancer (out of scope: it never answers HTTP 502), and a
//! mistyped region. Real binary; moto_server where AWS answers are needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::cloud502_env_without;
use cloud502_e2e::moto::Moto;

fn aws(moto: &Moto, args: &[&str]) -> cloud502_e2e::Run {
    moto.aws(args)
}

#[test]
fn a_network_load_balancer_is_out_of_scope_not_healthy() {
    let moto = Moto::start();
    let s = moto.scenario("nlb", &[]);
    // moto names a Network Load Balancer `loadbalancer/app/...` (AWS: `net/`); its type and the
    // group's TCP protocol are right, and they are what is checked here. A real `net/` ARN is
    // refused before any call (below, and providers/aws/src/config.rs tests).
    let lb_net = s["lb_arn"]
        .as_str()
        .unwrap()
        .replace(":loadbalancer/app/", ":loadbalancer/net/");
    for args in [
        vec!["--tg", s["tg_arn"].as_str().unwrap()],
        vec!["--tg", "tcp-tg"],
        vec!["--lb", "tcp-nlb"],
        vec!["--lb", &lb_net],
    ] {
        let run = aws(&moto, &args);
        assert_eq!(run.code, 2, "{args:?}: {}\n{}", run.stderr, run.stdout);
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains("never answer HTTP 502"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("cloud502 probe"), "{}", run.stderr);
        assert!(run.stdout.trim().is_empty(), "no report: {}", run.stdout);
    }
}

#[test]
fn a_mistyped_region_is_one_line_naming_the_likely_one() {
    let home = tempfile::tempdir().unwrap();
    let run = cloud502_env_without(
        &[
            "aws",
            "--tg",
            "web",
            "--region",
            "us-eats-1",
            "--timeout",
            "2s",
        ],
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
        &[
            "AWS_ENDPOINT_URL",
            "AWS_PROFILE",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        ],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("region `us-eats-1` is not an AWS region (did you mean us-east-1?)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.lines().count() <= 2, "{}", run.stderr);
    assert!(!run.stderr.to_lowercase().contains("dns"), "{}", run.stderr);
    assert!(run.elapsed.as_secs() < 5, "took {:?}", run.elapsed);
}
