//! What `cloud502 aws` diagnoses: Application Load Balancers. A Network or Gateway Load
//! Balancer, or a target group of one, passes TCP/UDP through and never answers HTTP 502 itself
//! (KB 9.2), so it is refused in one line (exit 2) rather than reported healthy.

use crate::error::AwsError;
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancer, TargetGroup};

/// Why a target group is not an Application Load Balancer's: a Network or Gateway Load Balancer
/// protocol (TCP, UDP, TCP_UDP, TLS, GENEVE, QUIC), or a `net/` / `gwy/` load balancer using it.
/// Such load balancers pass connections through and never answer HTTP 502 themselves (KB 9.2).
pub(crate) fn tg_out_of_scope(t: &TargetGroup) -> Option<String> {
    if let Some(p) = t.protocol().map(|p| p.as_str()) {
        if !matches!(p, "HTTP" | "HTTPS") {
            return Some(format!("its protocol is {p}"));
        }
    }
    t.load_balancer_arns()
        .iter()
        .find_map(|a| net_or_gwy(a).map(|k| format!("it is used by a {k} ({a})")))
}

/// Why a load balancer is not an Application Load Balancer: its type, or its ARN's `net/` / `gwy/`.
pub(crate) fn lb_out_of_scope(l: &LoadBalancer) -> Option<String> {
    match l.r#type().map(|t| t.as_str()) {
        Some("network") => return Some("it is a Network Load Balancer".to_owned()),
        Some("gateway") => return Some("it is a Gateway Load Balancer".to_owned()),
        _ => {}
    }
    l.load_balancer_arn()
        .and_then(net_or_gwy)
        .map(|k| format!("it is a {k}"))
}

fn net_or_gwy(arn: &str) -> Option<&'static str> {
    if arn.contains(":loadbalancer/net/") {
        Some("Network Load Balancer")
    } else if arn.contains(":loadbalancer/gwy/") {
        Some("Gateway Load Balancer")
    } else {
        None
    }
}

/// The one-line refusal for a Network or Gateway Load Balancer subject (exit 2): it is out of
/// scope, not healthy.
pub(crate) fn out_of_scope(what: &str, name: &str, why: &str) -> AwsError {
    AwsError::Options {
        problems: vec![format!(
            "{what} `{name}` is out of scope ({why}): Network and Gateway Load Balancers pass \
             TCP/UDP through and never answer HTTP 502; cloud502 aws diagnoses Application Load \
             Balancers only"
        )],
        hint: "a 502 seen through one was made by the target or a proxy behind it: run `cloud502 \
               probe http://<target>:<port>/` or `cloud502 nginx` on the target; for the load \
               balancer itself check target health and the AWS/NetworkELB metrics \
               (UnHealthyHostCount, TCP_Target_Reset_Count)"
            .to_owned(),
    }
}
