//! The reads behind [`Facts`]: each fetches through the clients on the first ask and leaves the
//! answer in the run's cache (the fleet's batched DescribeTargetGroups and DescribeLoadBalancers,
//! each load balancer's attributes, listeners and rules).

use crate::api::{Clients, classify};
use crate::facts::{Facts, FleetMember, LB_ARNS_PER_CALL, ListenerRules, TG_ARNS_PER_CALL};
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancer, TargetGroup};
use cloud502_model::Gap;
use futures_util::future::join_all;
use std::collections::HashMap;

impl Facts {
    /// The announced target group `arn` as the fleet's batched DescribeTargetGroups read it, with
    /// its load balancers (also batched) put in the cache; `None` when it was not announced or its
    /// batch failed (the caller then asks for it alone, and reports that call's error).
    pub(crate) async fn target_group(&self, clients: &Clients, arn: &str) -> Option<TargetGroup> {
        let fleet = self.fleet();
        if !fleet.iter().any(|m| m.tg_arn == arn) {
            return None;
        }
        let all = self
            .inner
            .target_groups
            .get_or_init(|| self.read_fleet(clients, fleet))
            .await;
        all.get(arn).cloned()
    }

    async fn read_fleet(
        &self,
        clients: &Clients,
        fleet: Vec<FleetMember>,
    ) -> HashMap<String, TargetGroup> {
        let mut arns: Vec<String> = fleet.into_iter().map(|m| m.tg_arn).collect();
        arns.sort();
        arns.dedup();
        let chunks = join_all(arns.chunks(TG_ARNS_PER_CALL).map(|chunk| async move {
            // One ARN that does not exist fails the whole call: its chunk is then left to the
            // subjects' own calls, which name the missing one.
            clients
                .elbv2
                .describe_target_groups()
                .set_target_group_arns(Some(chunk.to_vec()))
                .page_size(400)
                .send()
                .await
                .map(|o| o.target_groups().to_vec())
                .unwrap_or_default()
        }))
        .await;
        let tgs: HashMap<String, TargetGroup> = chunks
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t.target_group_arn()?.to_owned(), t)))
            .collect();
        let mut lb_arns: Vec<String> = tgs
            .values()
            .flat_map(|t| t.load_balancer_arns().iter().cloned())
            .collect();
        lb_arns.sort();
        lb_arns.dedup();
        let lbs = join_all(lb_arns.chunks(LB_ARNS_PER_CALL).map(|chunk| async move {
            clients
                .elbv2
                .describe_load_balancers()
                .set_load_balancer_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map(|o| o.load_balancers().to_vec())
                .unwrap_or_default()
        }))
        .await;
        for lb in lbs.into_iter().flatten() {
            if let Some(arn) = lb.load_balancer_arn() {
                self.inner.load_balancers.put(arn, Some(lb.clone()));
            }
        }
        tgs
    }

    /// The load balancers of `arns`: those the fleet's batch read, the rest in one
    /// DescribeLoadBalancers call (shared by every caller asking for the same set).
    pub(crate) async fn load_balancers(
        &self,
        clients: &Clients,
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, Gap> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for arn in arns {
            let cached = {
                let map = self
                    .inner
                    .load_balancers
                    .map
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                map.get(arn).and_then(|c| c.get().cloned()).flatten()
            };
            match cached {
                Some(lb) => found.push(lb),
                None => missing.push(arn.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        missing.sort();
        let key = missing.join(" ");
        let more = self
            .inner
            .lb_lookups
            .get(&key, || async {
                clients
                    .elbv2
                    .describe_load_balancers()
                    .set_load_balancer_arns(Some(missing.clone()))
                    .send()
                    .await
                    .map(|o| o.load_balancers().to_vec())
                    .map_err(|e| {
                        classify("elasticloadbalancing:DescribeLoadBalancers", &e)
                            .gap("aws:DescribeLoadBalancers")
                    })
            })
            .await?;
        found.extend(more);
        Ok(found)
    }

    /// A load balancer's attributes, read once.
    pub(crate) async fn lb_attributes(
        &self,
        clients: &Clients,
        arn: &str,
    ) -> Result<Vec<(String, String)>, Gap> {
        self.inner
            .lb_attributes
            .get(arn, || async {
                clients
                    .elbv2
                    .describe_load_balancer_attributes()
                    .load_balancer_arn(arn)
                    .send()
                    .await
                    .map(|o| {
                        o.attributes()
                            .iter()
                            .filter_map(|a| Some((a.key()?.to_owned(), a.value()?.to_owned())))
                            .collect()
                    })
                    .map_err(|e| {
                        classify("elasticloadbalancing:DescribeLoadBalancerAttributes", &e)
                            .gap("aws:DescribeLoadBalancerAttributes")
                    })
            })
            .await
    }

    /// A load balancer's listeners with their rules, read once.
    pub(crate) async fn listeners(
        &self,
        clients: &Clients,
        arn: &str,
    ) -> Result<ListenerRules, Gap> {
        self.inner
            .listeners
            .get(arn, || read_listeners(clients, arn))
            .await
    }
}

async fn read_listeners(clients: &Clients, arn: &str) -> Result<ListenerRules, Gap> {
    let out = clients
        .elbv2
        .describe_listeners()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(|e| {
            classify("elasticloadbalancing:DescribeListeners", &e).gap("aws:DescribeListeners")
        })?;
    let listeners = out.listeners().to_vec();
    let rules = join_all(listeners.iter().map(|l| async move {
        clients
            .elbv2
            .describe_rules()
            .listener_arn(l.listener_arn().unwrap_or_default())
            .send()
            .await
            .map(|o| o.rules().to_vec())
            .map_err(|e| {
                classify("elasticloadbalancing:DescribeRules", &e).gap("aws:DescribeRules")
            })
    }))
    .await;
    let mut result = Vec::new();
    for (l, r) in listeners.into_iter().zip(rules) {
        result.push((l, r?));
    }
    Ok(result)
}
