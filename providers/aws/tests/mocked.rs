//! States moto cannot produce (KB 8.2), through the real SDK clients with `aws-smithy-mocks`:
//! unhealthy targets with Target.Timeout / Target.ResponseCodeMismatch / Target.FailedHealthChecks,
//! AccessDenied on one call (a gap naming the IAM action, exit 3), and throttling (retried, then a
//! gap).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_elasticloadbalancingv2 as elbv2;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};

/// `aws_smithy_mocks::mock_client!` for these SDK releases (which predate `with_test_defaults_v2`).
macro_rules! mock_client {
    ($krate:ident, $mode:expr, $rules:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode($mode);
        let rules: &[&Rule] = $rules;
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        $krate::Client::from_conf(
            $krate::config::Config::builder()
                .with_test_defaults()
                .region($krate::config::Region::new("us-east-1"))
                // what Clients::load sets; the test defaults turn retries off
                .retry_config(
                    aws_smithy_types::retry::RetryConfig::standard()
                        .with_max_attempts(cloud502_aws::api::MAX_ATTEMPTS)
                        .with_initial_backoff(std::time::Duration::from_millis(1)),
                )
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}
use cloud502_aws::{AwsOptions, AwsProvider, CallLog, Clients};
use cloud502_diagnose::{CollectCx, RunOptions, run};
use cloud502_model::{FindingCode, GapKind, HealthState};
use elbv2::types::{
    LoadBalancer, Matcher, ProtocolEnum, TargetDescription, TargetGroup, TargetHealth,
    TargetHealthDescription, TargetHealthReasonEnum, TargetHealthStateEnum, TargetTypeEnum,
};

const TG: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";
const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188";

fn unhealthy(id: &str, reason: &str, description: &str) -> TargetHealthDescription {
    TargetHealthDescription::builder()
        .target(TargetDescription::builder().id(id).port(8080).build())
        .target_health(
            TargetHealth::builder()
                .state(TargetHealthStateEnum::Unhealthy)
                .reason(TargetHealthReasonEnum::from(reason))
                .description(description)
                .build(),
        )
        .build()
}

/// ELBv2's (awsQuery) error envelope, as the service sends it.
fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\
         <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>8f2f7d3c-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
    )
}

fn clients_with(attributes_denied: bool, listeners_throttled: bool) -> (Clients, Rule) {
    let tgs = mock!(elbv2::Client::describe_target_groups).then_output(|| {
        elbv2::operation::describe_target_groups::DescribeTargetGroupsOutput::builder()
            .target_groups(
                TargetGroup::builder()
                    .target_group_arn(TG)
                    .target_group_name("web")
                    .protocol(ProtocolEnum::Http)
                    .port(8080)
                    .target_type(TargetTypeEnum::Instance)
                    .health_check_path("/healthz")
                    .health_check_port("traffic-port")
                    .health_check_timeout_seconds(5)
                    .matcher(Matcher::builder().http_code("200").build())
                    .load_balancer_arns(LB)
                    .build(),
            )
            .build()
    });
    let lbs = mock!(elbv2::Client::describe_load_balancers).then_output(|| {
        elbv2::operation::describe_load_balancers::DescribeLoadBalancersOutput::builder()
            .load_balancers(
                LoadBalancer::builder()
                    .load_balancer_arn(LB)
                    .load_balancer_name("web-alb")
                    .build(),
            )
            .build()
    });
    let health = mock!(elbv2::Client::describe_target_health).then_output(|| {
        elbv2::operation::describe_target_health::DescribeTargetHealthOutput::builder()
            .target_health_descriptions(unhealthy("i-1", "Target.Timeout", "Request timed out"))
            .target_health_descriptions(unhealthy(
                "i-2",
                "Target.ResponseCodeMismatch",
                "Health checks failed with these codes: [503]",
            ))
            .target_health_descriptions(unhealthy(
                "i-3",
                "Target.FailedHealthChecks",
                "Health checks failed",
            ))
            .build()
    });
    let attrs = if attributes_denied {
        mock!(elbv2::Client::describe_target_group_attributes)
            .sequence()
            .http_status(
                403,
                Some(error_xml(
                    "AccessDenied",
                    "User: arn:aws:iam::123456789012:user/ro is not authorized to perform: elasticloadbalancing:DescribeTargetGroupAttributes",
                )),
            )
            .build()
    } else {
        mock!(elbv2::Client::describe_target_group_attributes).then_output(|| {
            elbv2::operation::describe_target_group_attributes::DescribeTargetGroupAttributesOutput::builder().build()
        })
    };
    let lb_attrs = mock!(elbv2::Client::describe_load_balancer_attributes).then_output(|| {
        elbv2::operation::describe_load_balancer_attributes::DescribeLoadBalancerAttributesOutput::builder().build()
    });
    let listeners = if listeners_throttled {
        mock!(elbv2::Client::describe_listeners)
            .sequence()
            .http_status(400, Some(error_xml("Throttling", "Rate exceeded")))
            .times(10)
            .build()
    } else {
        mock!(elbv2::Client::describe_listeners).then_output(|| {
            elbv2::operation::describe_listeners::DescribeListenersOutput::builder().build()
        })
    };
    let elbv2 = mock_client!(
        elbv2,
        RuleMode::MatchAny,
        &[&tgs, &lbs, &health, &attrs, &lb_attrs, &listeners]
    );
    let clients = Clients {
        elbv2,
        cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[]),
        logs: mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, &[]),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[]),
        #[cfg(feature = "ec2")]
        ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &[]),
        calls: CallLog::default(),
        facts: Default::default(),
        region: "us-east-1".into(),
    };
    (clients, listeners)
}

fn clients(attributes_denied: bool, listeners_throttled: bool) -> Clients {
    clients_with(attributes_denied, listeners_throttled).0
}

fn options() -> AwsOptions {
    AwsOptions {
        metrics: false,
        security_groups: false,
        ..AwsOptions::target_group(TG)
    }
}

async fn report(clients: Clients) -> cloud502_model::Report {
    let provider = AwsProvider::with_clients(options(), clients).unwrap();
    run(&provider, &CollectCx::default(), &RunOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn unhealthy_reason_codes_moto_cannot_produce_are_read_and_explained() {
    let r = report(clients(false, false)).await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let reasons: Vec<_> = r
        .targets
        .iter()
        .map(|t| t.reason.clone().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "Target.Timeout",
            "Target.ResponseCodeMismatch",
            "Target.FailedHealthChecks"
        ]
    );
    assert!(r.targets.iter().all(|t| t.health == HealthState::Unhealthy));
    let f = &r.findings[0];
    assert_eq!(f.code, FindingCode::AlbAllTargetsUnhealthy);
    assert!(f.explanation.contains("/healthz"), "{}", f.explanation);
    assert!(
        f.explanation.contains("timed out after 5 s"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("[503]"), "{}", f.explanation);
    assert!(
        f.explanation.contains("could not connect"),
        "{}",
        f.explanation
    );
    assert_eq!(r.summary.exit_code, 1);
}

#[tokio::test]
async fn access_denied_is_a_gap_naming_the_iam_action_and_the_rest_is_reported() {
    let r = report(clients(true, false)).await;
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let gap = &r.errors[0];
    assert_eq!(gap.scope, "aws:DescribeTargetGroupAttributes");
    assert_eq!(gap.kind, GapKind::Permission, "{gap:?}");
    assert!(
        gap.hint
            .as_deref()
            .unwrap()
            .contains("elasticloadbalancing:DescribeTargetGroupAttributes"),
        "{gap:?}"
    );
    // target health was still read and diagnosed
    assert_eq!(r.findings[0].code, FindingCode::AlbAllTargetsUnhealthy);
    assert!(r.summary.partial);
    // 1 wins over 3; without failing findings the partial run exits 3
    assert_eq!(r.summary.exit_code, 1);
    let opts = RunOptions {
        fail_on: cloud502_model::FailOn::Never,
        ..RunOptions::default()
    };
    let provider = AwsProvider::with_clients(options(), clients(true, false)).unwrap();
    let r = run(&provider, &CollectCx::default(), &opts).await.unwrap();
    assert_eq!(r.summary.exit_code, 3);
}

#[tokio::test]
async fn throttling_is_retried_then_a_gap() {
    let (c, listeners) = clients_with(false, true);
    let r = report(c).await;
    // the SDK's standard mode tried it MAX_ATTEMPTS times
    assert_eq!(
        listeners.num_calls(),
        cloud502_aws::api::MAX_ATTEMPTS as usize
    );
    let gap = r
        .errors
        .iter()
        .find(|g| g.scope == "aws:DescribeListeners")
        .unwrap_or_else(|| panic!("{:?}", r.errors));
    assert_eq!(gap.kind, GapKind::Throttled, "{gap:?}");
    assert!(
        gap.hint.as_deref().unwrap().contains("3 attempts"),
        "{gap:?}"
    );
    // health is unaffected
    assert_eq!(r.targets.len(), 3);
}
