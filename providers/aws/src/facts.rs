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

use aws_sdk_elasticloadbalancingv2::types::{Listener, LoadBalancer, Rule, TargetGroup};
use cloud502_model::Gap;
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
pub(crate) struct Cells<V> {
    pub(crate) map: Mutex<HashMap<String, Arc<OnceCell<V>>>>,
}

impl<V> Default for Cells<V> {
    fn default() -> Self {
        Cells {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Cells<V> {
    pub(crate) async fn get<F, Fut>(&self, key: &str, fetch: F) -> V
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

    pub(crate) fn put(&self, key: &str, value: V) {
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
pub(crate) struct Inner {
    pub(crate) fleet: Mutex<Vec<FleetMember>>,
    pub(crate) target_groups: OnceCell<HashMap<String, TargetGroup>>,
    pub(crate) load_balancers: Cells<Option<LoadBalancer>>,
    pub(crate) lb_lookups: Cells<Result<Vec<LoadBalancer>, Gap>>,
    pub(crate) lb_attributes: Cells<Result<Vec<(String, String)>, Gap>>,
    pub(crate) listeners: Cells<Result<ListenerRules, Gap>>,
    pub(crate) metrics: Cells<MetricBatch>,
    pub(crate) subnets: Cells<Result<Vec<String>, Gap>>,
    pub(crate) security_groups: Cells<Result<Vec<SecurityGroupFacts>, Gap>>,
    pub(crate) vpc_net: Cells<Result<VpcNet, Gap>>,
}

/// The facts of one run; cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub(crate) inner: Arc<Inner>,
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

    pub(crate) fn fleet(&self) -> Vec<FleetMember> {
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
    ) -> Result<Vec<SecurityGroupFacts>, Gap>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<SecurityGroupFacts>, Gap>>,
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

/// One permission of a security group, reduced to what the checks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permission {
    /// `tcp`, `udp`, `icmp`, `-1` (all) or a protocol number.
    pub protocol: String,
    /// First port (inclusive); absent for all traffic.
    pub from: Option<i32>,
    /// Last port (inclusive).
    pub to: Option<i32>,
    /// IPv4 CIDR sources or destinations.
    pub cidrs: Vec<String>,
    /// Referenced security groups.
    pub groups: Vec<String>,
    /// It also names peers the checks cannot evaluate (IPv6 ranges, prefix lists): it is given the
    /// benefit of the doubt, so a check never fails on a rule it could not read.
    pub opaque: bool,
}

/// One security group: id, ingress and egress permissions.
#[derive(Debug, Clone)]
pub(crate) struct SecurityGroupFacts {
    pub id: String,
    pub ingress: Vec<Permission>,
    pub egress: Vec<Permission>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::join_all;
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
