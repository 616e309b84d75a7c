//! Facts read once per run and shared by every collection through the same [`Clients`]: an audit
//! of 100 target groups on 4 load balancers reads each load balancer, its attributes, listeners,
//! rules, subnets and security groups once, not once per group (ELBv2 `Describe*` allows about 10
//! requests a second per account and region, shared with every other caller). Each key has one
//! fetch in flight at most: concurrent collections asking for it wait on the same answer. Answers
//! are kept for the run, failures too (the SDK has already retried them; asking again per group
//! would only spend the shared rate again).
//!
//! An audit also tells the facts which target groups it will inspect ([`Facts::expect`]): the
//! first collection then reads all of them with a few DescribeTargetGroups and
//! DescribeLoadBalancers calls that take lists, the metrics of all of them with as few
//! GetMetricData calls as its 500-query limit allows, and the network interfaces and instances of
//! their VPC once, instead of once per group.

use crate::api::{Clients, Failure, classify};
use aws_sdk_elasticloadbalancingv2::types::{Listener, LoadBalancer, Rule, TargetGroup};
use cloud502_model::Gap;
use futures_util::future::join_all;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// ARNs per DescribeLoadBalancers call (the API's documented limit).
pub(crate) const LB_ARNS_PER_CALL: usize = 20;
/// ARNs per DescribeTargetGroups call: the API documents no limit on the list, and a page holds up
/// to 400 groups (asked for explicitly), so 100 always fit in one answer.
pub(crate) const TG_ARNS_PER_CALL: usize = 100;
/// Queries per GetMetricData call (the API's limit).
pub(crate) const QUERIES_PER_CALL: usize = 500;

/// One target group an audit will inspect through these clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetMember {
    /// The target group's ARN.
    pub tg_arn: String,
    /// Its metrics window.
    pub since: Duration,
    /// Whether it reads metrics.
    pub metrics: bool,
}

/// One fetch per key, shared by whoever asks while it runs and after.
#[derive(Debug)]
struct Cells<V> {
    map: Mutex<HashMap<String, Arc<OnceCell<V>>>>,
}

impl<V> Default for Cells<V> {
    fn default() -> Self {
        Cells {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Cells<V> {
    async fn get<F, Fut>(&self, key: &str, fetch: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        cell.get_or_init(fetch).await.clone()
    }

    fn put(&self, key: &str, value: V) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let cell = map.entry(key.to_owned()).or_default();
        let _ = cell.set(value);
    }
}

/// A load balancer's listeners with their rules.
pub(crate) type ListenerRules = Vec<(Listener, Vec<Rule>)>;

/// A metric's key: name, statistic, and its dimensions as `k=v` joined by `,`.
pub(crate) type MetricKey = (String, String, String);
/// What one batched GetMetricData read gave: each query's datapoints (seconds since the epoch,
/// value), and the period used.
pub(crate) type MetricBatch = Result<(HashMap<MetricKey, Vec<(i64, f64)>>, u32), Gap>;

/// Interfaces and instances of one VPC: address or instance id -> (private IP, security groups).
/// `complete` is false when the listing was cut at its page cap.
#[derive(Debug, Clone, Default)]
pub(crate) struct VpcNet {
    pub by_target: BTreeMap<String, (Option<String>, Vec<String>)>,
    pub complete: bool,
}

#[derive(Debug, Default)]
struct Inner {
    fleet: Mutex<Vec<FleetMember>>,
    target_groups: OnceCell<HashMap<String, TargetGroup>>,
    load_balancers: Cells<Option<LoadBalancer>>,
    lb_lookups: Cells<Result<Vec<LoadBalancer>, Failure>>,
    lb_attributes: Cells<Result<Vec<(String, String)>, Gap>>,
    listeners: Cells<Result<ListenerRules, Gap>>,
    metrics: Cells<MetricBatch>,
    subnets: Cells<Result<Vec<String>, Gap>>,
    security_groups: Cells<Result<Vec<aws_sdk_ec2_types::SecurityGroupFacts>, Gap>>,
    vpc_net: Cells<Result<VpcNet, Gap>>,
}

/// The facts of one run; cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    inner: Arc<Inner>,
}

impl Facts {
    /// The target groups an audit will inspect through these clients: their descriptions, load
    /// balancers and metrics are then read for all of them at once.
    pub fn expect(&self, members: impl IntoIterator<Item = FleetMember>) {
        let mut fleet = self.inner.fleet.lock().unwrap_or_else(|e| e.into_inner());
        for m in members {
            if !fleet.contains(&m) {
                fleet.push(m);
            }
        }
    }

    fn fleet(&self) -> Vec<FleetMember> {
        self.inner
            .fleet
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// Whether an audit announced more than one target group: then per-VPC listings are cheaper
    /// than one lookup per group.
    pub(crate) fn is_fleet(&self) -> bool {
        self.fleet().len() > 1
    }

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
    ) -> Result<Vec<LoadBalancer>, Failure> {
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
                    .map_err(|e| classify("elasticloadbalancing:DescribeLoadBalancers", &e))
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

    /// The metrics batch of the announced target groups with this window, read once (`None` when
    /// `tg_arn` is not one of them).
    pub(crate) async fn metric_batch<F, Fut>(
        &self,
        tg_arn: &str,
        since: Duration,
        read: F,
    ) -> Option<MetricBatch>
    where
        F: FnOnce(Vec<TargetGroup>, Vec<LoadBalancer>) -> Fut,
        Fut: Future<Output = MetricBatch>,
    {
        let fleet: Vec<FleetMember> = self
            .fleet()
            .into_iter()
            .filter(|m| m.metrics && m.since == since)
            .collect();
        if fleet.len() < 2 || !fleet.iter().any(|m| m.tg_arn == tg_arn) {
            return None;
        }
        let all = self.inner.target_groups.get()?;
        let tgs: Vec<TargetGroup> = fleet
            .iter()
            .filter_map(|m| all.get(&m.tg_arn).cloned())
            .collect();
        let lbs: Vec<LoadBalancer> = {
            let map = self
                .inner
                .load_balancers
                .map
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            map.values()
                .filter_map(|c| c.get().cloned().flatten())
                .collect()
        };
        let key = format!("{}", since.as_secs());
        Some(self.inner.metrics.get(&key, || read(tgs, lbs)).await)
    }

    /// The CIDR blocks of these subnets, read once per set.
    pub(crate) async fn subnets<F, Fut>(&self, ids: &[String], read: F) -> Result<Vec<String>, Gap>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<String>, Gap>>,
    {
        let mut ids = ids.to_vec();
        ids.sort();
        self.inner.subnets.get(&ids.join(" "), read).await
    }

    /// These security groups' rules, read once per set.
    pub(crate) async fn security_groups<F, Fut>(
        &self,
        ids: &[String],
        read: F,
    ) -> Result<Vec<aws_sdk_ec2_types::SecurityGroupFacts>, Gap>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<aws_sdk_ec2_types::SecurityGroupFacts>, Gap>>,
    {
        let mut ids = ids.to_vec();
        ids.sort();
        self.inner.security_groups.get(&ids.join(" "), read).await
    }

    /// The interfaces and instances of a VPC, listed once.
    pub(crate) async fn vpc_net<F, Fut>(&self, vpc: &str, read: F) -> Result<VpcNet, Gap>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<VpcNet, Gap>>,
    {
        self.inner.vpc_net.get(vpc, read).await
    }
}

/// Security-group rules as the checks need them, independent of the `ec2` feature.
pub(crate) mod aws_sdk_ec2_types {
    /// One security group: id, ingress and egress permissions.
    #[derive(Debug, Clone)]
    pub(crate) struct SecurityGroupFacts {
        pub id: String,
        pub ingress: Vec<crate::sg::Permission>,
        pub egress: Vec<crate::sg::Permission>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_askers_share_one_fetch_per_key() {
        let cells: Arc<Cells<u32>> = Arc::default();
        let fetches = Arc::new(AtomicUsize::new(0));
        let tasks = (0..16).map(|i| {
            let (cells, fetches) = (cells.clone(), fetches.clone());
            async move {
                let key = if i % 2 == 0 { "a" } else { "b" };
                cells
                    .get(key, || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        // Let the other askers arrive while this fetch is in flight.
                        tokio::task::yield_now().await;
                        7
                    })
                    .await
            }
        });
        let got = join_all(tasks).await;
        assert!(got.iter().all(|v| *v == 7));
        assert_eq!(fetches.load(Ordering::SeqCst), 2, "one fetch per key");
    }

    #[test]
    fn announced_members_are_kept_once() {
        let f = Facts::default();
        let m = FleetMember {
            tg_arn: "a".into(),
            since: Duration::from_secs(60),
            metrics: true,
        };
        f.expect([m.clone(), m.clone()]);
        assert!(!f.is_fleet());
        f.expect([FleetMember {
            tg_arn: "b".into(),
            ..m
        }]);
        assert!(f.is_fleet());
    }
}
