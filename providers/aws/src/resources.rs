//! What was read about each load balancer and target group: the facts the collector, the log
//! readers, the metrics reader and the security-group check share.

use crate::arn::ElbArn;
use aws_sdk_elasticloadbalancingv2::types::{
    Listener, LoadBalancer, Rule, TargetGroup, TargetHealthDescription,
};

/// A load balancer and what was read about it.
#[derive(Debug, Clone)]
pub(crate) struct Lb {
    pub lb: LoadBalancer,
    pub arn: Option<ElbArn>,
    pub attributes: Vec<(String, String)>,
    pub listeners: Vec<(Listener, Vec<Rule>)>,
}

impl Lb {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn name(&self) -> &str {
        self.lb.load_balancer_name().unwrap_or("-")
    }
}

/// A target group and what was read about it.
#[derive(Debug, Clone)]
pub(crate) struct Tg {
    pub tg: TargetGroup,
    pub health: Option<Vec<TargetHealthDescription>>,
    pub attributes: Vec<(String, String)>,
}

impl Tg {
    pub fn name(&self) -> &str {
        self.tg.target_group_name().unwrap_or("-")
    }
}
