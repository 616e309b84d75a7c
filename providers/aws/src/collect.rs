//! One collection: find the target groups, then read health, attributes, listeners, metrics, logs
//! and security groups in parallel. Only the first lookup can fail the run; every later failure is
//! a gap in the evidence.

use crate::api::{Clients, Failure, classify};
use crate::arn::{ElbArn, Named, ResourceKind};
use crate::config::{AwsOptions, Validated};
use crate::error::{AwsError, Result};
use crate::resources::{Lb, Tg};
use crate::scope::{lb_out_of_scope, out_of_scope, tg_out_of_scope};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, LoadBalancer, Rule, TargetGroup, TargetHealthDescription,
};
use cloud502_collect::CollectCx;
use cloud502_model::{
    ConfigSnapshot, Evidence, ForwardKind, Gap, HealthState, Pool, PoolMember, ProviderKind, Route,
    Setting, Subject, Target,
};
use futures_util::future::join_all;
use std::collections::BTreeSet;

/// AWS's default ALB idle timeout, in force when the attribute is missing (moto omits it).
pub const DEFAULT_IDLE_TIMEOUT: u32 = 60;

pub(crate) fn subject(opts: &AwsOptions) -> Subject {
    let id = match &opts.selector {
        crate::Selector::TargetGroup(s) | crate::Selector::LoadBalancer(s) => s.clone(),
    };
    Subject {
        kind: ProviderKind::AwsAlb,
        id,
    }
}

pub(crate) struct Collector<'a> {
    pub opts: &'a AwsOptions,
    pub v: &'a Validated,
    pub clients: &'a Clients,
    pub cx: &'a CollectCx,
}

const ELB: &str = "elasticloadbalancing";

fn action(op: &str) -> String {
    format!("{ELB}:{op}")
}

impl Collector<'_> {
    /// Reads in as few sequential rounds as the data allows (one target group by ARN, no logs:
    /// three): (1) the target group, its health and attributes (all need only its ARN); (2) its
    /// load balancers, their attributes and listeners (need the load balancers' ARNs, from the
    /// group), metrics, CloudWatch Logs, and the targets' instances or interfaces (need the
    /// health); (3) listener rules, S3 log listings, subnets and security groups; (4) S3 log
    /// objects. Per-load-balancer and per-VPC facts come from the clients' shared
    /// [`crate::facts::Facts`], so an audit reads them once for all its groups.
    pub async fn collect(&self) -> Result<Evidence> {
        let mut ev = Evidence::new(subject(self.opts));
        self.cx.progress.message("finding the target groups");
        // Round 1. With the group's ARN given, its health and attributes need nothing else.
        let early = match (self.v.kind, &self.v.target) {
            (ResourceKind::TargetGroup, Named::Arn(a)) => Some(a.arn.clone()),
            _ => None,
        };
        let early_reads = async {
            match &early {
                Some(arn) => Some(tokio::join!(
                    self.target_health(arn),
                    self.tg_attributes(arn)
                )),
                None => None,
            }
        };
        let lookup = async {
            match self.v.kind {
                ResourceKind::TargetGroup => self
                    .by_target_group()
                    .await
                    .map(|tgs| (Vec::new(), tgs, Vec::new())),
                ResourceKind::LoadBalancer => self.by_load_balancer().await,
            }
        };
        let (found, early_reads) = tokio::join!(lookup, early_reads);
        let (mut lbs, mut tgs, mut gaps) = found?;
        let need_listeners = self.v.kind == ResourceKind::TargetGroup;
        let lb_arns: Vec<String> = if need_listeners {
            tgs.iter()
                .flat_map(|t| t.tg.load_balancer_arns().iter().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            lbs.iter()
                .filter_map(|l| l.lb.load_balancer_arn().map(str::to_owned))
                .collect()
        };
        self.cx
            .progress
            .message("reading target health, attributes, metrics and logs");
        // Round 2.
        let mut per_group = Vec::new();
        let tg_part = async {
            let mut reads = Vec::new();
            for t in &tgs {
                let arn = t.tg.target_group_arn().unwrap_or_default().to_owned();
                let read = match (&early, &early_reads) {
                    (Some(e), Some((h, a))) if *e == arn => (h.clone(), a.clone()),
                    _ => tokio::join!(self.target_health(&arn), self.tg_attributes(&arn)),
                };
                reads.push(read);
            }
            reads
        };
        // The targets' side of the security-group check needs only their health.
        let tg_and_net = async {
            let reads = tg_part.await;
            let mut with_health = tgs.clone();
            for (t, (h, _)) in with_health.iter_mut().zip(&reads) {
                t.health = h.as_ref().ok().cloned();
            }
            let net = crate::sg::targets(self.clients, self.opts, &with_health).await;
            (reads, net)
        };
        let facts = &self.clients.facts;
        let lb_part = async {
            let described = async {
                if need_listeners && !lb_arns.is_empty() {
                    Some(facts.load_balancers(self.clients, &lb_arns).await)
                } else {
                    None
                }
            };
            let attrs = join_all(lb_arns.iter().map(|a| facts.lb_attributes(self.clients, a)));
            tokio::join!(described, attrs)
        };
        // Listeners and their rules feed only the report's routes: nothing waits on them.
        let listeners_part = async {
            if need_listeners {
                Some(join_all(lb_arns.iter().map(|a| facts.listeners(self.clients, a))).await)
            } else {
                None
            }
        };
        let plain_tgs: Vec<TargetGroup> = tgs.iter().map(|t| t.tg.clone()).collect();
        let metrics_part = crate::metrics::read(self.clients, self.opts, &lb_arns, &plain_tgs);
        // With `--tg`, only that group's access-log lines are its evidence (KB 9.2).
        let tg_arns: Vec<String> = tgs
            .iter()
            .filter_map(|t| t.tg.target_group_arn().map(str::to_owned))
            .collect();
        let scope = need_listeners.then_some(tg_arns.as_slice());
        let cw_logs_part = crate::logs::cloudwatch(self.clients, self.opts, scope, self.cx);
        // Round 3 starts as soon as what it needs is read: the S3 bucket (load balancer
        // attributes), the load balancer's subnets and security groups (its description), the
        // targets' security groups (their interfaces).
        let mut lbs_in = std::mem::take(&mut lbs);
        let core = async {
            let mut gaps = Vec::new();
            let ((health_attrs, net), (described, lb_attrs)) = tokio::join!(tg_and_net, lb_part);
            match described {
                Some(Ok(found)) => {
                    // In the order of the group's load balancer ARNs.
                    lbs_in = lb_arns
                        .iter()
                        .filter_map(|a| {
                            found
                                .iter()
                                .find(|l| l.load_balancer_arn() == Some(a.as_str()))
                                .cloned()
                        })
                        .map(lb)
                        .collect();
                }
                Some(Err(g)) => return Err(gap_error(g)),
                None => {}
            }
            for (arn, attrs) in lb_arns.iter().zip(lb_attrs) {
                let Some(lb) = lbs_in
                    .iter_mut()
                    .find(|l| l.lb.load_balancer_arn() == Some(arn.as_str()))
                else {
                    continue;
                };
                match attrs {
                    Ok(a) => lb.attributes = a,
                    Err(g) => gaps.push(g),
                }
            }
            let s3_part = crate::logs::s3(self.clients, self.opts, self.v, &lbs_in, scope, self.cx);
            let sg_part = crate::sg::check(self.clients, self.opts, &lbs_in, net);
            let (s3, sg) = tokio::join!(s3_part, sg_part);
            Ok((health_attrs, lbs_in, gaps, s3, sg))
        };
        let (core, listeners, metrics, cw_logs) =
            tokio::join!(core, listeners_part, metrics_part, cw_logs_part);
        let (health_attrs, lbs_read, lb_gaps, s3, sg) = core?;
        lbs = lbs_read;

        for (tg, (h, a)) in tgs.iter_mut().zip(health_attrs) {
            match h {
                Ok(h) => tg.health = Some(h),
                Err(g) => per_group.push((tg.name().to_owned(), g)),
            }
            match a {
                Ok(a) => tg.attributes = a,
                Err(g) => per_group.push((tg.name().to_owned(), g)),
            }
        }
        gaps.extend(merge_group_gaps(per_group));
        gaps.extend(lb_gaps);
        for (arn, l) in lb_arns.iter().zip(listeners.into_iter().flatten()) {
            let Some(lb) = lbs
                .iter_mut()
                .find(|l| l.lb.load_balancer_arn() == Some(arn.as_str()))
            else {
                continue;
            };
            match l {
                Ok(l) => lb.listeners = l,
                Err(g) => gaps.push(g),
            }
        }
        let (metrics, metric_gaps) = metrics;
        ev.metrics = metrics;
        gaps.extend(metric_gaps);
        let (cw_summary, cw_gaps) = cw_logs;
        gaps.extend(cw_gaps);
        let ((s3_summary, s3_gaps, hc_logs), (checks, sg_gaps, addresses)) = (s3, sg);
        gaps.extend(s3_gaps);
        gaps.extend(sg_gaps);
        ev.checks = checks;
        ev.checks.extend(hc_logs);

        let mut logs = Vec::new();
        logs.extend(cw_summary);
        logs.extend(s3_summary);
        for (i, l) in logs.iter_mut().enumerate() {
            l.id = format!("log.{i}");
        }
        ev.logs = logs;
        ev.targets = targets(&tgs);
        for t in &mut ev.targets {
            if t.address.is_none() {
                t.address = addresses.get(&t.id).cloned();
            }
        }
        ev.config = snapshot(&lbs, &tgs);
        if !gaps
            .iter()
            .any(|g| g.scope == "aws:DescribeListeners" || g.scope == "aws:DescribeRules")
        {
            ev.config.settings.push(other_groups(&lbs, &tgs));
        }
        ev.gaps = gaps;
        cloud502_collect::describe::describe(&mut ev);
        Ok(ev)
    }

    /// `--tg`: the target group (from the audit's batched read when it announced it).
    async fn by_target_group(&self) -> Result<Vec<Tg>> {
        if let Named::Arn(a) = &self.v.target {
            if let Some(t) = self.clients.facts.target_group(self.clients, &a.arn).await {
                if let Some(why) = tg_out_of_scope(&t) {
                    return Err(out_of_scope(
                        "target group",
                        t.target_group_name().unwrap_or("-"),
                        &why,
                    ));
                }
                return Ok(vec![tg(t)]);
            }
        }
        let req = self.clients.elbv2.describe_target_groups();
        let req = match &self.v.target {
            Named::Arn(a) => req.target_group_arns(&a.arn),
            Named::Name(n) => req.names(n),
        };
        let out = req.send().await.map_err(|e| {
            self.fatal(
                classify(&action("DescribeTargetGroups"), &e),
                "target group",
            )
        })?;
        let tgs: Vec<Tg> = out.target_groups().iter().cloned().map(tg).collect();
        if tgs.is_empty() {
            return Err(self.not_found("target group"));
        }
        for t in &tgs {
            if let Some(why) = tg_out_of_scope(&t.tg) {
                return Err(out_of_scope("target group", t.name(), &why));
            }
        }
        Ok(tgs)
    }

    /// `--lb`: the load balancer, its listeners and rules, and every target group they forward to.
    async fn by_load_balancer(&self) -> Result<(Vec<Lb>, Vec<Tg>, Vec<Gap>)> {
        let mut gaps = Vec::new();
        let req = self.clients.elbv2.describe_load_balancers();
        let req = match &self.v.target {
            Named::Arn(a) => req.load_balancer_arns(&a.arn),
            Named::Name(n) => req.names(n),
        };
        let out = req.send().await.map_err(|e| {
            self.fatal(
                classify(&action("DescribeLoadBalancers"), &e),
                "load balancer",
            )
        })?;
        let mut lbs: Vec<Lb> = out.load_balancers().iter().cloned().map(lb).collect();
        if lbs.is_empty() {
            return Err(self.not_found("load balancer"));
        }
        for l in &lbs {
            if let Some(why) = lb_out_of_scope(&l.lb) {
                return Err(out_of_scope("load balancer", l.name(), &why));
            }
        }
        let mut tg_arns = BTreeSet::new();
        for lb in &mut lbs {
            let arn = lb.lb.load_balancer_arn().unwrap_or_default().to_owned();
            match self.clients.facts.listeners(self.clients, &arn).await {
                Ok(l) => lb.listeners = l,
                Err(g) => gaps.push(g),
            }
            for (listener, rules) in &lb.listeners {
                for a in listener
                    .default_actions()
                    .iter()
                    .chain(rules.iter().flat_map(|r| r.actions().iter()))
                {
                    tg_arns.extend(forward_targets(a).into_iter().map(|(arn, _)| arn));
                }
            }
        }
        if tg_arns.is_empty() {
            return Ok((lbs, Vec::new(), gaps));
        }
        let out = self
            .clients
            .elbv2
            .describe_target_groups()
            .set_target_group_arns(Some(tg_arns.into_iter().collect()))
            .send()
            .await
            .map_err(|e| classify(&action("DescribeTargetGroups"), &e).into_error())?;
        Ok((
            lbs,
            out.target_groups().iter().cloned().map(tg).collect(),
            gaps,
        ))
    }

    fn fatal(&self, f: Failure, what: &str) -> AwsError {
        if f.kind == cloud502_model::GapKind::NotFound {
            return self.not_found(what);
        }
        if f.is_credentials() {
            return AwsError::Credentials {
                message: f.message,
                hint: f.hint.unwrap_or_default(),
            };
        }
        f.into_error()
    }

    fn not_found(&self, what: &str) -> AwsError {
        let flag = if what == "target group" {
            "--tg"
        } else {
            "--lb"
        };
        AwsError::NotFound {
            message: format!(
                "{what} `{}` not found in {} (account of the current credentials)",
                self.v.target, self.clients.region
            ),
            hint: format!(
                "check {flag} and --region: {what}s are regional; `aws elbv2 describe-{}s` lists them",
                what.replace(' ', "-")
            ),
        }
    }

    async fn target_health(
        &self,
        arn: &str,
    ) -> std::result::Result<Vec<TargetHealthDescription>, Gap> {
        self.clients
            .elbv2
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map(|o| o.target_health_descriptions().to_vec())
            .map_err(|e| {
                classify(&action("DescribeTargetHealth"), &e).gap("aws:DescribeTargetHealth")
            })
    }

    async fn tg_attributes(&self, arn: &str) -> std::result::Result<Vec<(String, String)>, Gap> {
        self.clients
            .elbv2
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map(|o| {
                o.attributes()
                    .iter()
                    .filter_map(|a| Some((a.key()?.to_owned(), a.value()?.to_owned())))
                    .collect()
            })
            .map_err(|e| {
                classify(&action("DescribeTargetGroupAttributes"), &e)
                    .gap("aws:DescribeTargetGroupAttributes")
            })
    }
}

/// A gap of a read the run cannot go on without, as its error (as [`Failure::into_error`]).
fn gap_error(g: Gap) -> AwsError {
    let hint = g.hint.unwrap_or_default();
    match g.kind {
        cloud502_model::GapKind::Permission => AwsError::Credentials {
            message: g.message,
            hint,
        },
        cloud502_model::GapKind::NotFound => AwsError::NotFound {
            message: g.message,
            hint,
        },
        _ => AwsError::Unavailable {
            message: g.message,
            hint,
        },
    }
}

fn tg(t: TargetGroup) -> Tg {
    Tg {
        tg: t,
        health: None,
        attributes: Vec::new(),
    }
}

fn lb(l: LoadBalancer) -> Lb {
    let arn = l.load_balancer_arn().and_then(|a| ElbArn::parse(a).ok());
    Lb {
        lb: l,
        arn,
        attributes: Vec::new(),
        listeners: Vec::new(),
    }
}

/// The target groups an action forwards to, with their weights.
pub(crate) fn forward_targets(a: &Action) -> Vec<(String, Option<i32>)> {
    let mut out = Vec::new();
    if let Some(arn) = a.target_group_arn() {
        out.push((arn.to_owned(), None));
    }
    if let Some(fc) = a.forward_config() {
        for t in fc.target_groups() {
            if let Some(arn) = t.target_group_arn() {
                if !out.iter().any(|(a, _)| a == arn) {
                    out.push((arn.to_owned(), t.weight()));
                }
            }
        }
    }
    out
}

/// Normalise an ALB target health state (KB 1.2).
pub(crate) fn health_state(state: &str) -> HealthState {
    match state {
        "healthy" => HealthState::Healthy,
        "unhealthy" | "unhealthy.draining" => HealthState::Unhealthy,
        "initial" => HealthState::Initial,
        "draining" => HealthState::Draining,
        "unused" => HealthState::Unused,
        "unavailable" => HealthState::Unavailable,
        _ => HealthState::Unknown,
    }
}

fn targets(tgs: &[Tg]) -> Vec<Target> {
    let mut out = Vec::new();
    for t in tgs {
        let ip = t.tg.target_type().is_some_and(|k| k.as_str() == "ip");
        for d in t.health.iter().flatten() {
            let Some(desc) = d.target() else { continue };
            let id = desc.id().unwrap_or("-").to_owned();
            let health = d.target_health();
            out.push(Target {
                address: ip.then(|| id.clone()),
                port: desc.port().and_then(|p| u16::try_from(p).ok()),
                group: Some(t.name().to_owned()),
                health: health
                    .and_then(|h| h.state())
                    .map_or(HealthState::Unknown, |s| health_state(s.as_str())),
                reason: health
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().to_owned()),
                detail: health
                    .and_then(|h| h.description())
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
                id,
            });
        }
    }
    out
}

/// One gap per distinct failure, naming the target groups it hit: a permission missing for
/// DescribeTargetHealth is one problem, not one per group.
pub(crate) fn merge_group_gaps(per_group: Vec<(String, Gap)>) -> Vec<Gap> {
    let mut merged: Vec<(Gap, Vec<String>)> = Vec::new();
    for (name, g) in per_group {
        match merged
            .iter_mut()
            .find(|(m, _)| m.scope == g.scope && m.kind == g.kind && m.message == g.message)
        {
            Some((_, names)) => names.push(name),
            None => merged.push((g, vec![name])),
        }
    }
    merged
        .into_iter()
        .map(|(mut g, names)| {
            g.message = if names.len() == 1 {
                format!("{} (target group {})", g.message, names[0])
            } else {
                format!(
                    "{} ({} target groups: {})",
                    g.message,
                    names.len(),
                    names.join(", ")
                )
            };
            g
        })
        .collect()
}

/// The target groups the load balancers' listeners forward to besides the subject's, by name:
/// the load balancer's own metrics (`HTTPCode_ELB_502_Count`) count their requests too (KB 9.2),
/// so the rules word them as the load balancer's, not the group's. Only set when every listener
/// and rule was read.
fn other_groups(lbs: &[Lb], tgs: &[Tg]) -> Setting {
    let mine: BTreeSet<&str> = tgs.iter().filter_map(|t| t.tg.target_group_arn()).collect();
    let mut others = BTreeSet::new();
    for l in lbs {
        for (listener, rules) in &l.listeners {
            for a in listener
                .default_actions()
                .iter()
                .chain(rules.iter().flat_map(|r| r.actions().iter()))
            {
                for (arn, _) in forward_targets(a) {
                    if !mine.contains(arn.as_str()) {
                        let name = ElbArn::parse(&arn).map_or(arn.clone(), |a| a.name);
                        others.insert(name);
                    }
                }
            }
        }
    }
    setting(
        "load_balancer.other_target_groups",
        others.into_iter().collect::<Vec<_>>().join(","),
    )
}

fn setting(name: &str, value: impl ToString) -> Setting {
    Setting {
        name: name.to_owned(),
        value: value.to_string(),
        location: None,
        default: false,
    }
}

/// The target groups as pools, the listener rules forwarding to them as routes, and the load
/// balancer's attributes as settings.
fn snapshot(lbs: &[Lb], tgs: &[Tg]) -> ConfigSnapshot {
    let mut snap = ConfigSnapshot::default();
    for l in lbs {
        if let Some(arn) = l.lb.load_balancer_arn() {
            snap.sources.push(arn.to_owned());
        }
    }
    for t in tgs {
        if let Some(arn) = t.tg.target_group_arn() {
            snap.sources.push(arn.to_owned());
        }
    }
    if let Some(l) = lbs.first() {
        snap.settings.push(setting("load_balancer", l.name()));
        if let Some(t) = l.lb.r#type() {
            snap.settings
                .push(setting("load_balancer.type", t.as_str()));
        }
        if let Some(s) = l.lb.scheme() {
            snap.settings
                .push(setting("load_balancer.scheme", s.as_str()));
        }
        for (k, v) in &l.attributes {
            snap.settings.push(setting(k, v));
        }
        if l.attribute("idle_timeout.timeout_seconds").is_none() {
            snap.settings.push(Setting {
                default: true,
                ..setting("idle_timeout.timeout_seconds", DEFAULT_IDLE_TIMEOUT)
            });
        }
    }
    for t in tgs {
        let g = &t.tg;
        let mut s = Vec::new();
        if let Some(p) = g.protocol() {
            s.push(setting("protocol", p.as_str()));
        }
        if let Some(p) = g.port() {
            s.push(setting("port", p));
        }
        if let Some(k) = g.target_type() {
            s.push(setting("target_type", k.as_str()));
        }
        if let Some(v) = g.protocol_version() {
            s.push(setting("protocol_version", v));
        }
        if let Some(e) = g.health_check_enabled() {
            s.push(setting("health_check.enabled", e));
        }
        if let Some(p) = g.health_check_protocol() {
            s.push(setting("health_check.protocol", p.as_str()));
        }
        if let Some(p) = g.health_check_port() {
            s.push(setting("health_check.port", p));
        }
        if let Some(p) = g.health_check_path() {
            s.push(setting("health_check.path", p));
        }
        if let Some(m) = g.matcher() {
            if let Some(c) = m.http_code() {
                s.push(setting("health_check.matcher", c));
            } else if let Some(c) = m.grpc_code() {
                s.push(setting("health_check.matcher", c));
            }
        }
        if let Some(v) = g.health_check_interval_seconds() {
            s.push(setting("health_check.interval_seconds", v));
        }
        if let Some(v) = g.health_check_timeout_seconds() {
            s.push(setting("health_check.timeout_seconds", v));
        }
        if let Some(v) = g.healthy_threshold_count() {
            s.push(setting("health_check.healthy_threshold", v));
        }
        if let Some(v) = g.unhealthy_threshold_count() {
            s.push(setting("health_check.unhealthy_threshold", v));
        }
        for (k, v) in &t.attributes {
            s.push(setting(k, v));
        }
        // The load balancers using the group; empty when none does (then no request reaches it).
        let lbs: Vec<String> = g
            .load_balancer_arns()
            .iter()
            .map(|a| ElbArn::parse(a).map_or(a.clone(), |a| a.name))
            .collect();
        s.push(setting("load_balancers", lbs.join(",")));
        let members = t
            .health
            .iter()
            .flatten()
            .filter_map(|d| d.target())
            .map(|d| PoolMember {
                address: match d.port() {
                    Some(p) => format!("{}:{p}", d.id().unwrap_or("-")),
                    None => d.id().unwrap_or("-").to_owned(),
                },
                location: None,
                settings: d
                    .availability_zone()
                    .map(|z| vec![setting("availability_zone", z)])
                    .unwrap_or_default(),
            })
            .collect();
        snap.pools.push(Pool {
            name: t.name().to_owned(),
            location: None,
            members,
            settings: s,
        });
    }
    // Routes: every listener rule (or default action) that forwards to one of the target groups.
    let names: Vec<(&str, &str, Option<&str>)> = tgs
        .iter()
        .filter_map(|t| {
            Some((
                t.tg.target_group_arn()?,
                t.name(),
                t.tg.protocol().map(|p| p.as_str()),
            ))
        })
        .collect();
    for l in lbs {
        for (listener, rules) in &l.listeners {
            let listen = format!(
                "{}:{}",
                listener.protocol().map_or("-", |p| p.as_str()),
                listener.port().unwrap_or_default()
            );
            let mut entries: Vec<(Option<&Rule>, &Action)> = listener
                .default_actions()
                .iter()
                .map(|a| (None, a))
                .collect();
            for r in rules {
                if r.is_default() == Some(true) {
                    continue;
                }
                entries.extend(r.actions().iter().map(|a| (Some(r), a)));
            }
            for (rule, a) in entries {
                for (arn, weight) in forward_targets(a) {
                    let Some((_, name, proto)) = names.iter().find(|(x, _, _)| *x == arn) else {
                        continue;
                    };
                    let mut hosts = Vec::new();
                    let mut paths = Vec::new();
                    for c in rule.map(|r| r.conditions()).unwrap_or_default() {
                        match c.field() {
                            Some("host-header") => {
                                if let Some(h) = c.host_header_config() {
                                    hosts.extend(h.values().iter().cloned());
                                } else {
                                    hosts.extend(c.values().iter().cloned());
                                }
                            }
                            Some("path-pattern") => {
                                if let Some(p) = c.path_pattern_config() {
                                    paths.extend(p.values().iter().cloned());
                                } else {
                                    paths.extend(c.values().iter().cloned());
                                }
                            }
                            _ => {}
                        }
                    }
                    let mut settings = vec![setting(
                        "priority",
                        rule.and_then(|r| r.priority()).unwrap_or("default"),
                    )];
                    if let Some(w) = weight {
                        settings.push(setting("weight", w));
                    }
                    snap.routes.push(Route {
                        id: format!("route.{}", snap.routes.len()),
                        server_names: hosts,
                        listen: vec![listen.clone()],
                        path: (!paths.is_empty()).then(|| paths.join(" ")),
                        kind: ForwardKind::Proxy,
                        target: (*name).to_owned(),
                        scheme: proto.map(str::to_lowercase),
                        pool: Some((*name).to_owned()),
                        dynamic: false,
                        location: None,
                        settings,
                    });
                }
            }
        }
    }
    snap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_and_gateway_target_groups_are_out_of_scope() {
        use crate::scope::tg_out_of_scope;
        use aws_sdk_elasticloadbalancingv2::types::ProtocolEnum;
        let with = |p: &str| {
            TargetGroup::builder()
                .protocol(ProtocolEnum::from(p))
                .build()
        };
        for p in ["TCP", "UDP", "TCP_UDP", "TLS", "GENEVE"] {
            let why = tg_out_of_scope(&with(p)).unwrap();
            assert!(why.contains(p), "{why}");
        }
        assert!(tg_out_of_scope(&with("HTTP")).is_none());
        assert!(tg_out_of_scope(&with("HTTPS")).is_none());
        // A Lambda target group has no protocol.
        assert!(tg_out_of_scope(&TargetGroup::builder().build()).is_none());
        let gwy = TargetGroup::builder()
            .protocol(ProtocolEnum::Http)
            .load_balancer_arns(
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/gwy/g/50dc6c495c0c9188",
            )
            .build();
        assert!(tg_out_of_scope(&gwy).unwrap().contains("Gateway"));
    }

    #[test]
    fn one_failure_over_many_groups_is_one_gap_naming_them() {
        let denied = |scope: &str| Gap {
            scope: scope.into(),
            kind: cloud502_model::GapKind::Permission,
            message: "AccessDenied: elasticloadbalancing:DescribeTargetHealth".into(),
            hint: None,
        };
        let gaps = merge_group_gaps(vec![
            ("a".into(), denied("aws:DescribeTargetHealth")),
            ("b".into(), denied("aws:DescribeTargetHealth")),
            ("a".into(), denied("aws:DescribeTargetGroupAttributes")),
        ]);
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(
            gaps[0].message.ends_with("(2 target groups: a, b)"),
            "{gaps:?}"
        );
        assert!(gaps[1].message.ends_with("(target group a)"), "{gaps:?}");
    }

    #[test]
    fn every_documented_state_is_normalised() {
        for (s, h) in [
            ("initial", HealthState::Initial),
            ("healthy", HealthState::Healthy),
            ("unhealthy", HealthState::Unhealthy),
            ("unhealthy.draining", HealthState::Unhealthy),
            ("unused", HealthState::Unused),
            ("draining", HealthState::Draining),
            ("unavailable", HealthState::Unavailable),
            ("something-new", HealthState::Unknown),
        ] {
            assert_eq!(health_state(s), h, "{s}");
        }
    }
}
