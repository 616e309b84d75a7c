//! Security groups (KB 1.9 #2): does the load balancer's egress reach the target port, and does each
//! target's ingress admit the load balancer on it? Needs the `ec2` feature.

use crate::api::Clients;
use crate::config::AwsOptions;
use crate::resources::{Lb, Tg};
use cloud502_model::{Gap, HostCheck};

/// Check ids start with this; `sg.lb-egress.<target group>`, `sg.target-ingress.<target>`.
pub const CHECK_PREFIX: &str = "sg.";

/// An IPv4 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: u32,
    len: u8,
}

impl Cidr {
    /// Parse `10.0.0.0/16` (a bare address is a /32).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, len) = s.split_once('/').unwrap_or((s, "32"));
        let ip: std::net::Ipv4Addr = addr.parse().ok()?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        Some(Cidr {
            net: u32::from(ip) & mask(len),
            len,
        })
    }

    /// Whether `other` lies wholly inside this block.
    pub fn contains(&self, other: &Cidr) -> bool {
        other.len >= self.len && (other.net & mask(self.len)) == self.net
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

pub use crate::facts::Permission;

impl Permission {
    /// Whether it covers TCP to `port`.
    pub fn covers(&self, port: u16) -> bool {
        match self.protocol.as_str() {
            "-1" | "all" => true,
            "tcp" | "6" => match (self.from, self.to) {
                (Some(f), Some(t)) => f <= i32::from(port) && i32::from(port) <= t,
                _ => true,
            },
            _ => false,
        }
    }

    /// Whether it names `peer`: one of `groups`, or a CIDR containing every block of `blocks`.
    pub fn names(&self, groups: &[String], blocks: &[Cidr]) -> bool {
        if self.opaque || self.groups.iter().any(|g| groups.contains(g)) {
            return true;
        }
        !blocks.is_empty()
            && self
                .cidrs
                .iter()
                .filter_map(|c| Cidr::parse(c))
                .any(|c| blocks.iter().all(|b| c.contains(b)))
    }
}

/// Whether any of `perms` lets TCP `port` through to or from the peer.
pub fn allows(perms: &[Permission], port: u16, groups: &[String], blocks: &[Cidr]) -> bool {
    perms
        .iter()
        .any(|p| p.covers(port) && p.names(groups, blocks))
}

/// What the security-group pass found: the checks, the gaps, and the private IPs of instance
/// targets (ALB logs name targets by IP).
pub(crate) type SgResult = (
    Vec<HostCheck>,
    Vec<Gap>,
    std::collections::BTreeMap<String, String>,
);

/// The targets' side of the check, read as soon as target health is known (before the load
/// balancer's own description): each target with its port, address and security groups.
#[derive(Debug, Default)]
pub(crate) struct TargetsNet {
    checks: Vec<HostCheck>,
    gaps: Vec<Gap>,
    #[cfg_attr(not(feature = "ec2"), allow(dead_code))]
    wanted: Vec<TargetNet>,
    #[cfg_attr(not(feature = "ec2"), allow(dead_code))]
    by_target: std::collections::BTreeMap<String, (Option<String>, Vec<String>)>,
}

#[derive(Debug)]
#[cfg_attr(not(feature = "ec2"), allow(dead_code))]
struct TargetNet {
    tg: String,
    id: String,
    port: u16,
    /// This entry is the health-check port, which differs from the traffic port: a blocked
    /// health-check port makes healthy targets fail their checks (Target.Timeout).
    health_check: bool,
    ip: Option<String>,
    groups: Vec<String>,
}

#[cfg(not(feature = "ec2"))]
pub(crate) async fn targets(_clients: &Clients, _opts: &AwsOptions, _tgs: &[Tg]) -> TargetsNet {
    TargetsNet::default()
}

#[cfg(not(feature = "ec2"))]
pub(crate) async fn check(
    _clients: &Clients,
    _opts: &AwsOptions,
    _lbs: &[Lb],
    _net: TargetsNet,
) -> SgResult {
    (Vec::new(), Vec::new(), Default::default())
}

#[cfg(feature = "ec2")]
pub(crate) use with_ec2::{check, targets};

#[cfg(feature = "ec2")]
mod with_ec2 {
    use super::*;
    use crate::api::classify;
    use crate::facts::SecurityGroupFacts;
    use crate::facts::VpcNet;
    use aws_sdk_ec2::types::{Filter, IpPermission};
    use cloud502_model::CheckStatus;
    use std::collections::{BTreeMap, BTreeSet};

    fn permission(p: &IpPermission) -> Permission {
        Permission {
            protocol: p.ip_protocol().unwrap_or("-1").to_owned(),
            from: p.from_port(),
            to: p.to_port(),
            cidrs: p
                .ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip().map(str::to_owned))
                .collect(),
            groups: p
                .user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_owned))
                .collect(),
            opaque: !p.ipv6_ranges().is_empty() || !p.prefix_list_ids().is_empty(),
        }
    }

    /// The health-check port of a group when it names a port other than the traffic port.
    fn health_check_port(t: &Tg, traffic: u16) -> Option<u16> {
        t.tg.health_check_port()
            .filter(|p| *p != "traffic-port")
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != traffic)
    }

    /// Pages of a per-VPC listing: 1000 entries each.
    const VPC_PAGES: usize = 10;

    /// Every instance or network interface of a VPC (an audit of many groups: one listing
    /// instead of one lookup per group).
    async fn list_vpc(clients: &Clients, vpc: &str, instances: bool) -> Result<VpcNet, Gap> {
        let mut net = VpcNet::default();
        let filter = || Filter::builder().name("vpc-id").values(vpc).build();
        let mut token: Option<String> = None;
        for _ in 0..VPC_PAGES {
            if instances {
                let out = clients
                    .ec2
                    .describe_instances()
                    .filters(filter())
                    .max_results(1000)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        classify("ec2:DescribeInstances", &e).gap("aws:DescribeInstances")
                    })?;
                for i in out.reservations().iter().flat_map(|r| r.instances()) {
                    insert_instance(&mut net.by_target, i);
                }
                token = out.next_token().map(str::to_owned);
            } else {
                let out = clients
                    .ec2
                    .describe_network_interfaces()
                    .filters(filter())
                    .max_results(1000)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        classify("ec2:DescribeNetworkInterfaces", &e)
                            .gap("aws:DescribeNetworkInterfaces")
                    })?;
                for ni in out.network_interfaces() {
                    insert_interface(&mut net.by_target, ni, None);
                }
                token = out.next_token().map(str::to_owned);
            }
            if token.is_none() {
                net.complete = true;
                break;
            }
        }
        Ok(net)
    }

    fn insert_instance(
        by_target: &mut BTreeMap<String, (Option<String>, Vec<String>)>,
        i: &aws_sdk_ec2::types::Instance,
    ) {
        let Some(id) = i.instance_id() else { return };
        by_target.insert(
            id.to_owned(),
            (
                i.private_ip_address().map(str::to_owned),
                i.security_groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect(),
            ),
        );
    }

    fn insert_interface(
        by_target: &mut BTreeMap<String, (Option<String>, Vec<String>)>,
        ni: &aws_sdk_ec2::types::NetworkInterface,
        only: Option<&BTreeSet<String>>,
    ) {
        let groups: Vec<String> = ni
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_owned))
            .collect();
        for a in ni.private_ip_addresses() {
            if let Some(ip) = a.private_ip_address() {
                if only.is_none_or(|o| o.contains(ip)) {
                    by_target.insert(ip.to_owned(), (Some(ip.to_owned()), groups.clone()));
                }
            }
        }
    }

    /// The targets with their ports (and health-check ports), and their instances' or
    /// interfaces' addresses and security groups.
    pub(crate) async fn targets(clients: &Clients, opts: &AwsOptions, tgs: &[Tg]) -> TargetsNet {
        let mut net = TargetsNet::default();
        if !opts.security_groups {
            return net;
        }
        // The targets: instance ids and IPs with their ports, by VPC.
        let mut instance_ids: BTreeMap<Option<String>, BTreeSet<String>> = BTreeMap::new();
        let mut ips: BTreeMap<Option<String>, BTreeSet<String>> = BTreeMap::new();
        for t in tgs {
            if t.health.is_none() {
                // Without target health there are no targets to check: say so, not nothing (the
                // health call's own gap names the cause once).
                net.checks.push(HostCheck {
                    id: format!("{CHECK_PREFIX}skipped.{}", t.name()),
                    name: format!("security groups of {}'s targets", t.name()),
                    status: CheckStatus::Skipped,
                    detail: "not checked: the group's target health was not read".to_owned(),
                });
                continue;
            }
            let vpc = t.tg.vpc_id().map(str::to_owned);
            let kind = t.tg.target_type().map(|k| k.as_str().to_owned());
            let default_port = t.tg.port().and_then(|p| u16::try_from(p).ok());
            for d in t.health.iter().flatten() {
                let Some(desc) = d.target() else { continue };
                let Some(id) = desc.id() else { continue };
                let Some(port) = desc
                    .port()
                    .and_then(|p| u16::try_from(p).ok())
                    .or(default_port)
                else {
                    continue;
                };
                match kind.as_deref() {
                    Some("instance") => {
                        instance_ids
                            .entry(vpc.clone())
                            .or_default()
                            .insert(id.to_owned());
                    }
                    Some("ip") => {
                        ips.entry(vpc.clone()).or_default().insert(id.to_owned());
                    }
                    _ => continue,
                }
                let ip = (kind.as_deref() == Some("ip")).then(|| id.to_owned());
                if let Some(hc) = health_check_port(t, port) {
                    net.wanted.push(TargetNet {
                        tg: t.name().to_owned(),
                        id: id.to_owned(),
                        port: hc,
                        health_check: true,
                        ip: ip.clone(),
                        groups: Vec::new(),
                    });
                }
                net.wanted.push(TargetNet {
                    tg: t.name().to_owned(),
                    id: id.to_owned(),
                    port,
                    health_check: false,
                    ip,
                    groups: Vec::new(),
                });
            }
        }
        if net.wanted.is_empty() {
            return net;
        }
        // An audit of many groups lists each VPC's instances or interfaces once (shared by every
        // group in it); a single run looks up its own targets. Targets a listing cut at its page
        // cap did not reach are looked up one call for the rest.
        let fleet = clients.facts.is_fleet();
        let mut left_instances = BTreeSet::new();
        let mut left_ips = BTreeSet::new();
        for (instances, wanted, left) in [
            (true, &instance_ids, &mut left_instances),
            (false, &ips, &mut left_ips),
        ] {
            for (vpc, ids) in wanted {
                let listed = match (fleet, vpc) {
                    (true, Some(vpc)) => {
                        let key = format!(
                            "{} {vpc}",
                            if instances { "instances" } else { "interfaces" }
                        );
                        Some(
                            clients
                                .facts
                                .vpc_net(&key, || list_vpc(clients, vpc, instances))
                                .await,
                        )
                    }
                    _ => None,
                };
                match listed {
                    Some(Ok(l)) => {
                        for id in ids {
                            match l.by_target.get(id) {
                                Some(found) => {
                                    net.by_target.insert(id.clone(), found.clone());
                                }
                                None if !l.complete => {
                                    left.insert(id.clone());
                                }
                                None => {}
                            }
                        }
                    }
                    Some(Err(g)) => net.gaps.push(g),
                    None => left.extend(ids.iter().cloned()),
                }
            }
        }
        if !left_instances.is_empty() {
            match clients
                .ec2
                .describe_instances()
                .set_instance_ids(Some(left_instances.iter().cloned().collect()))
                .send()
                .await
            {
                Ok(out) => {
                    for i in out.reservations().iter().flat_map(|r| r.instances()) {
                        insert_instance(&mut net.by_target, i);
                    }
                }
                Err(e) => net
                    .gaps
                    .push(classify("ec2:DescribeInstances", &e).gap("aws:DescribeInstances")),
            }
        }
        if !left_ips.is_empty() {
            match clients
                .ec2
                .describe_network_interfaces()
                .filters(
                    Filter::builder()
                        .name("addresses.private-ip-address")
                        .set_values(Some(left_ips.iter().cloned().collect()))
                        .build(),
                )
                .send()
                .await
            {
                Ok(out) => {
                    for ni in out.network_interfaces() {
                        insert_interface(&mut net.by_target, ni, Some(&left_ips));
                    }
                }
                Err(e) => net.gaps.push(
                    classify("ec2:DescribeNetworkInterfaces", &e)
                        .gap("aws:DescribeNetworkInterfaces"),
                ),
            }
        }
        for w in &mut net.wanted {
            if let Some((ip, groups)) = net.by_target.get(&w.id) {
                w.ip = w.ip.clone().or_else(|| ip.clone());
                w.groups = groups.clone();
            }
        }
        // Targets whose instance or network interface was not found are not checked: say which.
        let unknown: BTreeSet<&str> = net
            .wanted
            .iter()
            .filter(|w| !net.by_target.contains_key(&w.id))
            .map(|w| w.id.as_str())
            .collect();
        if !unknown.is_empty() {
            net.checks.push(HostCheck {
                id: format!("{CHECK_PREFIX}skipped.targets"),
                name: "security groups of targets without a known interface".to_owned(),
                status: CheckStatus::Skipped,
                detail: format!(
                    "not checked: no instance or network interface was read for {} (a target outside the VPC has none)",
                    unknown.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        net
    }

    async fn read_subnets(clients: &Clients, ids: Vec<String>) -> Result<Vec<String>, Gap> {
        clients
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(ids))
            .send()
            .await
            .map(|out| {
                out.subnets()
                    .iter()
                    .filter_map(|s| s.cidr_block().map(str::to_owned))
                    .collect()
            })
            .map_err(|e| classify("ec2:DescribeSubnets", &e).gap("aws:DescribeSubnets"))
    }

    async fn read_groups(
        clients: &Clients,
        ids: Vec<String>,
    ) -> Result<Vec<SecurityGroupFacts>, Gap> {
        clients
            .ec2
            .describe_security_groups()
            .set_group_ids(Some(ids))
            .send()
            .await
            .map(|out| {
                out.security_groups()
                    .iter()
                    .filter_map(|g| {
                        Some(SecurityGroupFacts {
                            id: g.group_id()?.to_owned(),
                            ingress: g.ip_permissions().iter().map(permission).collect(),
                            egress: g.ip_permissions_egress().iter().map(permission).collect(),
                        })
                    })
                    .collect()
            })
            .map_err(|e| {
                classify("ec2:DescribeSecurityGroups", &e).gap("aws:DescribeSecurityGroups")
            })
    }

    /// The load balancer's side: its subnets and the security groups of both sides (read in
    /// parallel, each set once per run), then the checks.
    pub(crate) async fn check(
        clients: &Clients,
        opts: &AwsOptions,
        lbs: &[Lb],
        net: TargetsNet,
    ) -> SgResult {
        let TargetsNet {
            mut checks,
            mut gaps,
            wanted,
            by_target,
        } = net;
        let Some(lb) = lbs.first() else {
            return (checks, gaps, addresses(&by_target));
        };
        if !opts.security_groups || lb.lb.security_groups().is_empty() || wanted.is_empty() {
            return (checks, gaps, addresses(&by_target));
        }
        let lb_groups: Vec<String> = lb.lb.security_groups().to_vec();
        // The load balancer's subnets: CIDR-based target rules must admit all of them.
        let subnet_ids: Vec<String> = lb
            .lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_owned))
            .collect();
        let all_groups: Vec<String> = lb_groups
            .iter()
            .cloned()
            .chain(wanted.iter().flat_map(|w| w.groups.iter().cloned()))
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let subnets = async {
            if subnet_ids.is_empty() {
                return Ok(Vec::new());
            }
            clients
                .facts
                .subnets(&subnet_ids, || read_subnets(clients, subnet_ids.clone()))
                .await
        };
        let groups = clients
            .facts
            .security_groups(&all_groups, || read_groups(clients, all_groups.clone()));
        let (subnets, groups) = tokio::join!(subnets, groups);
        let lb_blocks: Vec<Cidr> = match subnets {
            Ok(s) => s.iter().filter_map(|c| Cidr::parse(c)).collect(),
            Err(g) => {
                gaps.push(g);
                Vec::new()
            }
        };
        let groups = match groups {
            Ok(g) => g,
            Err(g) => {
                gaps.push(g);
                return (checks, gaps, addresses(&by_target));
            }
        };
        let mut ingress: BTreeMap<String, Vec<Permission>> = BTreeMap::new();
        let mut egress: BTreeMap<String, Vec<Permission>> = BTreeMap::new();
        for g in groups {
            ingress.insert(g.id.clone(), g.ingress);
            egress.insert(g.id, g.egress);
        }
        let lb_egress: Vec<Permission> = lb_groups
            .iter()
            .flat_map(|g| egress.get(g).cloned().unwrap_or_default())
            .collect();
        // Load balancer egress, once per target group and port.
        let mut seen = BTreeSet::new();
        for w in &wanted {
            if !seen.insert((w.tg.clone(), w.port)) {
                continue;
            }
            let peers: Vec<&TargetNet> = wanted
                .iter()
                .filter(|o| o.tg == w.tg && o.port == w.port)
                .collect();
            let blocked: Vec<String> = peers
                .iter()
                .filter(|p| {
                    let blocks: Vec<Cidr> =
                        p.ip.as_deref().and_then(Cidr::parse).into_iter().collect();
                    let known = !p.groups.is_empty() || !blocks.is_empty();
                    known && !allows(&lb_egress, w.port, &p.groups, &blocks)
                })
                .map(|p| p.id.clone())
                .collect();
            checks.push(HostCheck {
                id: format!("{CHECK_PREFIX}lb-egress.{}.{}", w.tg, w.port),
                name: format!(
                    "load balancer egress to {} {}port {}",
                    w.tg,
                    if w.health_check { "health-check " } else { "" },
                    w.port
                ),
                status: if blocked.is_empty() {
                    CheckStatus::Pass
                } else {
                    CheckStatus::Fail
                },
                detail: if blocked.is_empty() {
                    format!(
                        "{} allow TCP {} to the targets",
                        lb_groups.join(", "),
                        w.port
                    )
                } else {
                    format!(
                        "no egress rule of {} allows TCP {} to {}",
                        lb_groups.join(", "),
                        w.port,
                        blocked.join(", ")
                    )
                },
            });
        }
        for w in &wanted {
            if w.groups.is_empty() {
                continue;
            }
            let perms: Vec<Permission> = w
                .groups
                .iter()
                .flat_map(|g| ingress.get(g).cloned().unwrap_or_default())
                .collect();
            let ok = allows(&perms, w.port, &lb_groups, &lb_blocks);
            checks.push(HostCheck {
                id: format!("{CHECK_PREFIX}target-ingress.{}.{}", w.id, w.port),
                name: format!(
                    "ingress of {} on {}port {}",
                    w.id,
                    if w.health_check { "health-check " } else { "" },
                    w.port
                ),
                status: if ok { CheckStatus::Pass } else { CheckStatus::Fail },
                detail: if ok {
                    format!(
                        "{} admit TCP {} from the load balancer",
                        w.groups.join(", "),
                        w.port
                    )
                } else {
                    format!(
                        "no ingress rule of {} allows TCP {} from {} or the load balancer's subnets",
                        w.groups.join(", "),
                        w.port,
                        lb_groups.join(", ")
                    )
                },
            });
        }
        (checks, gaps, addresses(&by_target))
    }

    fn addresses(
        by_target: &BTreeMap<String, (Option<String>, Vec<String>)>,
    ) -> BTreeMap<String, String> {
        by_target
            .iter()
            .filter_map(|(id, (ip, _))| Some((id.clone(), ip.clone()?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(protocol: &str, from: i32, to: i32, cidrs: &[&str], groups: &[&str]) -> Permission {
        Permission {
            protocol: protocol.into(),
            from: Some(from),
            to: Some(to),
            cidrs: cidrs.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            opaque: false,
        }
    }

    #[test]
    fn cidrs_contain() {
        let vpc = Cidr::parse("10.0.0.0/16").unwrap();
        assert!(vpc.contains(&Cidr::parse("10.0.1.0/24").unwrap()));
        assert!(!vpc.contains(&Cidr::parse("10.1.0.0/24").unwrap()));
        assert!(!Cidr::parse("10.0.1.0/24").unwrap().contains(&vpc));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(&vpc));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope").is_none());
    }

    #[test]
    fn a_rule_must_cover_the_port_and_name_the_peer() {
        let lb = vec!["sg-lb".to_string()];
        let subnets = vec![
            Cidr::parse("10.0.0.0/24").unwrap(),
            Cidr::parse("10.0.1.0/24").unwrap(),
        ];
        assert!(allows(
            &[perm("tcp", 8080, 8080, &[], &["sg-lb"])],
            8080,
            &lb,
            &subnets
        ));
        assert!(!allows(
            &[perm("tcp", 80, 80, &[], &["sg-lb"])],
            8080,
            &lb,
            &subnets
        ));
        assert!(!allows(
            &[perm("tcp", 8080, 8080, &[], &["sg-other"])],
            8080,
            &lb,
            &subnets
        ));
        assert!(allows(
            &[perm("tcp", 1024, 65535, &["10.0.0.0/16"], &[])],
            8080,
            &lb,
            &subnets
        ));
        // a CIDR that admits only one of the load balancer's subnets is not enough
        assert!(!allows(
            &[perm("tcp", 8080, 8080, &["10.0.0.0/24"], &[])],
            8080,
            &lb,
            &subnets
        ));
        assert!(allows(
            &[perm("-1", 0, 0, &["0.0.0.0/0"], &[])],
            8080,
            &lb,
            &subnets
        ));
        assert!(!allows(
            &[perm("udp", 8080, 8080, &["0.0.0.0/0"], &[])],
            8080,
            &lb,
            &subnets
        ));
        assert!(!allows(&[], 8080, &lb, &subnets));
        // a prefix list or IPv6 source cannot be evaluated: no false alarm
        let mut opaque = perm("tcp", 8080, 8080, &[], &[]);
        opaque.opaque = true;
        assert!(allows(&[opaque], 8080, &lb, &subnets));
    }
}
