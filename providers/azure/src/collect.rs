//! One collection: the gateway first (nothing else makes sense without it), then backend health,
//! access logs and the gateway subnet's NSG and route table in parallel. Only the first call can
//! stop the run; every later failure is a gap.

use crate::api::{Api, ApiError};
use crate::auth::{Credential, Token};
use crate::config::{API_VERSION, AzureOptions, Validated};
use crate::convert;
use crate::error::AzureError;
use crate::resources::{
    self, BackendHealth, Gateway, Nic, Nsg, QueryResponse, RouteTable, Subnet, Vnet,
};
use cloud502_collect::CollectCx;
use cloud502_model::{
    CheckStatus, Evidence, EvidenceItem, Gap, GapKind, HostCheck, LogSummary, ProviderKind,
    Subject, Timeline,
};
use serde::de::DeserializeOwned;

/// RBAC actions, as the custom role in docs/providers/azure.md grants them.
pub mod actions {
    /// GET the gateway.
    pub const GATEWAY_READ: &str = "Microsoft.Network/applicationGateways/read";
    /// POST backendhealth.
    pub const BACKEND_HEALTH: &str = "Microsoft.Network/applicationGateways/backendhealth/action";
    /// GET the gateway subnet.
    pub const SUBNET_READ: &str = "Microsoft.Network/virtualNetworks/subnets/read";
    /// GET the subnet's NSG.
    pub const NSG_READ: &str = "Microsoft.Network/networkSecurityGroups/read";
    /// GET the subnet's route table.
    pub const ROUTE_TABLE_READ: &str = "Microsoft.Network/routeTables/read";
    /// GET the gateway's virtual network: the subnets of IP pool members, and their NSGs.
    pub const VNET_READ: &str = "Microsoft.Network/virtualNetworks/read";
    /// GET a NIC-based pool member's NIC (its NSG and subnet).
    pub const NIC_READ: &str = "Microsoft.Network/networkInterfaces/read";
    /// Log Analytics query.
    pub const LOGS_QUERY: &str = "Microsoft.OperationalInsights/workspaces/query/read";
}

/// The report's subject: `RG/GATEWAY`.
pub fn subject(opts: &AzureOptions) -> Subject {
    Subject {
        kind: ProviderKind::AzureAppgw,
        id: format!("{}/{}", opts.resource_group, opts.gateway),
    }
}

pub(crate) struct Collector<'a> {
    pub opts: &'a AzureOptions,
    pub v: &'a Validated,
    pub api: &'a Api,
    pub credential: &'a Credential,
    pub token: &'a Token,
    pub cx: &'a CollectCx,
}

impl Collector<'_> {
    fn arm_url(&self, path: &str) -> String {
        let base = self.v.arm_endpoint.as_str().trim_end_matches('/');
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{base}{path}{sep}api-version={API_VERSION}")
    }

    pub async fn collect(&self) -> Result<Evidence, AzureError> {
        let gateway_id = self.v.gateway_id(self.opts);
        self.cx.progress.message(&format!(
            "reading Application Gateway {}",
            self.opts.gateway
        ));
        let body = self
            .api
            .get(
                &self.arm_url(&gateway_id),
                self.token,
                actions::GATEWAY_READ,
            )
            .await
            .map_err(|e| self.fatal(e))?;
        let (gw, gateway_gaps) =
            understood::<Gateway>(&body, "azure:applicationGateways", "the gateway")
                .map_err(|e| self.fatal(e))?;
        let v2 = convert::is_v2(&gw);
        self.cx
            .progress
            .message("reading backend health, access logs and the gateway subnet");
        let (health, logs, network) = tokio::join!(
            self.health(&gateway_id),
            self.logs(&gw),
            self.network(&gw, v2)
        );
        let mut ev = Evidence {
            subject: subject(self.opts),
            targets: Vec::new(),
            probes: Vec::new(),
            logs: Vec::new(),
            config: convert::config(&gw, &format!("arm:{gateway_id}")),
            checks: Vec::new(),
            metrics: Vec::new(),
            items: vec![EvidenceItem {
                id: "azure.credential".to_owned(),
                source: "azure_identity".to_owned(),
                fact: format!("token from {}", self.credential.why),
            }],
            gaps: gateway_gaps,
        };
        // Gateway-wide settings as facts findings can cite (`config.setting.operationalState`).
        for st in &ev.config.settings {
            ev.items.push(EvidenceItem {
                id: format!("config.setting.{}", st.name),
                source: "azure:applicationGateways".to_owned(),
                fact: format!("{}: {}", st.name, st.value),
            });
        }
        match health {
            Ok((h, gaps)) => {
                ev.gaps.extend(gaps);
                let read = convert::health(&h, &gw);
                ev.targets = read.targets;
                ev.items.extend(read.items);
                ev.gaps.extend(read.gaps);
            }
            Err(gap) => ev.gaps.push(gap),
        }
        let (summaries, gaps) = logs;
        ev.logs = summaries;
        for (i, l) in ev.logs.iter_mut().enumerate() {
            l.id = format!("log.{i}");
        }
        ev.gaps.extend(gaps);
        let (checks, gaps) = network;
        ev.checks = checks;
        ev.gaps.extend(gaps);
        // State targets, log groups, routes, pools and checks as items, under the ids the appgw
        // rules cite (`target.N`, `log.0.group.K`, `nsg.gateway-manager`), as every provider does.
        cloud502_collect::describe::describe(&mut ev);
        Ok(ev)
    }

    /// The first call failed: name the problem and the fix (exit 2 for what the user named
    /// wrong, 4 for credentials and reachability).
    fn fatal(&self, e: ApiError) -> AzureError {
        let (sub, rg, gw) = (
            &self.v.subscription,
            &self.opts.resource_group,
            &self.opts.gateway,
        );
        // A body over the cap, a redirect, a URL on another host: the network is fine, the
        // answer is what was refused, and the fix is the refusal's own.
        if let ApiError::Refused { hint, .. } = &e {
            return AzureError::Unavailable {
                message: format!("cannot read Application Gateway {gw:?}: {e}"),
                hint: (*hint).to_owned(),
            };
        }
        if let ApiError::Invalid(_) = &e {
            return AzureError::Unavailable {
                message: format!("Application Gateway {gw:?}: {e}"),
                hint: format!(
                    "not a network problem: check that --arm-endpoint ({}) is Azure Resource Manager",
                    self.v.arm_endpoint
                ),
            };
        }
        let code = e.code().to_owned();
        match (e.status(), code.as_str()) {
            (Some(404), "ResourceGroupNotFound") => AzureError::NotFound {
                message: format!("resource group {rg:?} not found in subscription {sub}"),
                hint: "check -g and --subscription (`az group list -o table`)".to_owned(),
            },
            (Some(404 | 400), "SubscriptionNotFound" | "InvalidSubscriptionId") => {
                AzureError::NotFound {
                    message: format!(
                        "subscription {sub} not found or not visible to this credential ({e})"
                    ),
                    hint:
                        "check --subscription / AZURE_SUBSCRIPTION_ID (`az account list -o table`)"
                            .to_owned(),
                }
            }
            (Some(404), _) => AzureError::NotFound {
                message: format!("Application Gateway {gw:?} not found in resource group {rg:?}"),
                hint: format!(
                    "check --gw (`az network application-gateway list -g {rg} -o table`)"
                ),
            },
            (Some(401), _) => AzureError::Credentials {
                message: format!("ARM rejected the token from {} ({e})", self.credential.kind),
                hint: "sign in again (`az login`), or check the tenant of the credential"
                    .to_owned(),
            },
            (Some(403), _) => AzureError::Credentials {
                message: format!("no read access to Application Gateway {gw:?} ({e})"),
                hint: "grant Reader, or the custom role in docs/providers/azure.md, on the gateway"
                    .to_owned(),
            },
            (Some(429), _) => AzureError::Unavailable {
                message: format!("ARM throttled the request ({e})"),
                hint: "wait for the retry time and run again".to_owned(),
            },
            _ => AzureError::Unavailable {
                message: format!("cannot read Application Gateway {gw:?}: {e}"),
                hint: format!(
                    "check the network path to {} or raise --timeout",
                    self.v.arm_endpoint
                ),
            },
        }
    }

    async fn health(&self, gateway_id: &str) -> Result<(BackendHealth, Vec<Gap>), Gap> {
        if !self.opts.backend_health {
            return Err(Gap {
                scope: "azure:backendhealth".to_owned(),
                kind: GapKind::Unsupported,
                message: "backend health was not read (--no-backend-health)".to_owned(),
                hint: None,
            });
        }
        let url = self.arm_url(&format!("{gateway_id}/backendhealth"));
        let body = self
            .api
            .post_lro(&url, self.token, actions::BACKEND_HEALTH)
            .await
            .map_err(|e| health_gap(&e))?;
        understood::<BackendHealth>(&body, convert::HEALTH_ELEMENT_SCOPE, "backend health")
            .map_err(|e| gap("azure:backendhealth", "backend health", &e))
    }

    async fn logs(&self, gw: &Gateway) -> (Vec<LogSummary>, Vec<Gap>) {
        let Some(workspace) = self.opts.workspace.as_deref().map(str::trim) else {
            return (Vec::new(), Vec::new());
        };
        let scope = "azure:loganalytics";
        let token = match self
            .credential
            .token(&self.v.logs_scope, self.api.timeout)
            .await
        {
            Ok(t) => t,
            Err(e) => {
                return (
                    Vec::new(),
                    vec![Gap {
                        scope: scope.to_owned(),
                        kind: GapKind::Permission,
                        message: format!("no Log Analytics token for {}: {e}", self.v.logs_scope),
                        hint: Some("check --logs-scope and the credential's tenant".to_owned()),
                    }],
                );
            }
        };
        let base = self.v.logs_endpoint.as_str().trim_end_matches('/');
        let url = format!("{base}/v1/workspaces/{workspace}/query");
        let secs = self.opts.since.as_secs().max(60);
        let timespan = format!("PT{secs}S");
        // The window the service reads (the last `secs` seconds): its buckets, as a log's.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let window = Timeline::empty(now - secs as i64, now, 60);
        let id = gw.id.replace('\'', "");
        let mut summaries = Vec::new();
        let mut errors: Vec<(&str, ApiError)> = Vec::new();
        let mut missing_tables = 0;
        let mut gaps = Vec::new();
        for (table, query) in queries(&id, window.bucket_seconds) {
            let body = serde_json::json!({ "query": query, "timespan": timespan });
            let answer = self
                .api
                .post(&url, &token, &body, actions::LOGS_QUERY)
                .await
                .and_then(|b| {
                    understood::<QueryResponse>(&b, scope, &format!("the {table} query"))
                });
            match answer {
                Ok((resp, odd)) => {
                    gaps.extend(odd);
                    let Some(t) = resp.tables.first() else {
                        continue;
                    };
                    let source = format!("loganalytics:{workspace}:{table}");
                    summaries.push(convert::log_summary("", &source, t, Some(&window)));
                }
                Err(e) => match semantic_error(&e, table) {
                    // A workspace without the table answers 400 SemanticError: not a gap by itself.
                    Some(Missing::Table) => missing_tables += 1,
                    Some(Missing::Column(column)) => gaps.push(Gap {
                        scope: scope.to_owned(),
                        kind: GapKind::InvalidInput,
                        message: format!(
                            "the {table} query names column {column}, which {table} in workspace {workspace} does not have ({e})"
                        ),
                        hint: Some(
                            "the table's schema differs from the documented one (a v1 gateway, or an older table): the other reads still ran".to_owned(),
                        ),
                    }),
                    None => errors.push((table, e)),
                },
            }
        }
        // One gap per distinct failure: a missing workspace or a throttled subscription fails
        // both queries the same way.
        let mut distinct: Vec<(Vec<&str>, &ApiError)> = Vec::new();
        for (table, e) in &errors {
            match distinct
                .iter_mut()
                .find(|(_, seen)| seen.to_string() == e.to_string())
            {
                Some((tables, _)) => tables.push(table),
                None => distinct.push((vec![table], e)),
            }
        }
        for (tables, e) in distinct {
            let tables = tables.join(" and ");
            gaps.push(match e.status() {
                Some(403) => Gap {
                    scope: scope.to_owned(),
                    kind: GapKind::Permission,
                    message: format!("cannot query {tables} in workspace {workspace} ({e})"),
                    hint: Some(
                        "grant Log Analytics Reader on the workspace (Microsoft.OperationalInsights/workspaces/query/read)"
                            .to_owned(),
                    ),
                },
                Some(404) => Gap {
                    scope: scope.to_owned(),
                    kind: GapKind::NotFound,
                    message: format!("workspace {workspace} not found ({e})"),
                    hint: Some("pass the workspace's Workspace ID (a GUID) with --workspace".to_owned()),
                },
                _ => gap(scope, &format!("the {tables} query"), e),
            });
        }
        if summaries.is_empty() && missing_tables == 2 {
            gaps.push(Gap {
                scope: scope.to_owned(),
                kind: GapKind::NotFound,
                message: format!("workspace {workspace} has neither AGWAccessLogs nor AzureDiagnostics"),
                hint: Some(
                    "send the gateway's ApplicationGatewayAccessLog to this workspace with a diagnostic setting".to_owned(),
                ),
            });
        }
        // Keep the table that has the gateway's rows (a diagnostic setting writes to one of them).
        if summaries.len() > 1 && summaries.iter().any(|s| s.lines > 0) {
            summaries.retain(|s| s.lines > 0);
        }
        if !convert::is_v2(gw) {
            gaps.extend(summaries.iter().filter_map(v1_blind_spot));
        }
        (summaries, gaps)
    }

    async fn network(&self, gw: &Gateway, v2: bool) -> (Vec<HostCheck>, Vec<Gap>) {
        let mut checks = Vec::new();
        let mut gaps = Vec::new();
        if !self.opts.network {
            return (checks, gaps);
        }
        let Some(subnet_id) = gw
            .properties
            .gateway_ip_configurations
            .iter()
            .find_map(|c| c.properties.subnet.as_ref())
            .map(|s| s.id.clone())
            .filter(|id| !id.is_empty())
        else {
            return (checks, gaps);
        };
        let skipped = |detail: String| HostCheck {
            id: "nsg.gateway-manager".to_owned(),
            name: convert::gateway_manager_check_name(v2),
            status: CheckStatus::Skipped,
            detail,
        };
        let subnet = self
            .api
            .get(&self.arm_url(&subnet_id), self.token, actions::SUBNET_READ)
            .await
            .and_then(|b| understood::<Subnet>(&b, "azure:network", "the gateway subnet"));
        let subnet = match subnet {
            Ok((s, odd)) => {
                gaps.extend(odd);
                s
            }
            Err(e) => {
                checks.push(skipped(format!(
                    "the gateway subnet could not be read: {e}"
                )));
                gaps.push(network_gap("the gateway subnet", actions::SUBNET_READ, &e));
                return (checks, gaps);
            }
        };
        let nsg_id = subnet.properties.network_security_group.map(|r| r.id);
        let rt_id = subnet.properties.route_table.map(|r| r.id);
        let gateway_prefixes: Vec<String> = subnet
            .properties
            .address_prefix
            .into_iter()
            .chain(subnet.properties.address_prefixes)
            .collect();
        let nsg = async {
            match &nsg_id {
                Some(id) => Some(
                    self.api
                        .get(&self.arm_url(id), self.token, actions::NSG_READ)
                        .await
                        .and_then(|b| {
                            understood::<Nsg>(&b, "azure:network", "the gateway subnet's NSG")
                        }),
                ),
                None => None,
            }
        };
        let rt = async {
            match (&rt_id, v2) {
                (Some(id), true) => Some(
                    self.api
                        .get(&self.arm_url(id), self.token, actions::ROUTE_TABLE_READ)
                        .await
                        .and_then(|b| {
                            understood::<RouteTable>(
                                &b,
                                "azure:network",
                                "the gateway subnet's route table",
                            )
                        }),
                ),
                _ => None,
            }
        };
        let (nsg, rt, (backend_checks, backend_gaps)) = tokio::join!(
            nsg,
            rt,
            self.backend_nsgs(gw, &subnet_id, &gateway_prefixes, nsg_id.as_deref())
        );
        checks.extend(backend_checks);
        gaps.extend(backend_gaps);
        match nsg {
            None => checks.push(HostCheck {
                id: "nsg.gateway-manager".to_owned(),
                name: convert::gateway_manager_check_name(v2),
                status: CheckStatus::Pass,
                detail: "the gateway subnet has no NSG".to_owned(),
            }),
            Some(Ok((n, odd))) => {
                gaps.extend(odd);
                checks.push(convert::nsg_check(&n, v2));
                checks.extend(convert::nsg_more_checks(&n, v2));
            }
            Some(Err(e)) => {
                checks.push(skipped(format!(
                    "the gateway subnet's NSG could not be read: {e}"
                )));
                gaps.push(network_gap(
                    "the gateway subnet's NSG",
                    actions::NSG_READ,
                    &e,
                ));
            }
        }
        match rt {
            None => {}
            Some(Ok((t, odd))) => {
                gaps.extend(odd);
                checks.push(convert::route_check(&t));
            }
            Some(Err(e)) => gaps.push(network_gap(
                "the gateway subnet's route table",
                actions::ROUTE_TABLE_READ,
                &e,
            )),
        }
        (checks, gaps)
    }
}

/// At most this many NICs of NIC-based pool members are read for their NSGs.
const MAX_NICS: usize = 5;

/// At most this many NSGs of IP pool members' subnets are read.
const MAX_SUBNETS: usize = 5;

impl Collector<'_> {
    /// The NSGs on NIC-based pool members' NICs and subnets, each checked for the gateway
    /// subnet on the backend ports (KB 2.5 #3). IP and FQDN members name no NIC, so their NSGs
    /// cannot be found from the gateway; the finding says where to look instead.
    async fn backend_nsgs(
        &self,
        gw: &Gateway,
        gateway_subnet: &str,
        gateway_prefixes: &[String],
        gateway_nsg: Option<&str>,
    ) -> (Vec<HostCheck>, Vec<Gap>) {
        let p = &gw.properties;
        let mut nics: Vec<(String, String)> = Vec::new();
        for r in p
            .backend_address_pools
            .iter()
            .flat_map(|pool| pool.properties.backend_ip_configurations.iter())
        {
            let Some(at) = r.id.to_ascii_lowercase().find("/ipconfigurations/") else {
                continue;
            };
            let (nic, ipconfig) = (&r.id[..at], &r.id[at + "/ipconfigurations/".len()..]);
            if !nics.iter().any(|(n, _)| n.eq_ignore_ascii_case(nic)) {
                nics.push((nic.to_owned(), ipconfig.to_owned()));
            }
        }
        let mut ports: Vec<u16> = p
            .backend_http_settings_collection
            .iter()
            .filter_map(|h| h.properties.port)
            .chain(
                p.backend_settings_collection
                    .iter()
                    .filter_map(|h| h.properties.port),
            )
            .collect();
        ports.sort_unstable();
        ports.dedup();
        let mut checks = Vec::new();
        let mut gaps = Vec::new();
        if ports.is_empty() || gateway_prefixes.is_empty() {
            return (checks, gaps);
        }
        // IP members: the subnets of the gateway's own VNet that hold them (KB 2.5 #3).
        let (ip_nsgs, ip_check) = self.ip_member_nsgs(gw, gateway_subnet).await;
        checks.extend(ip_check);
        if !nics.is_empty() && nics.len() > MAX_NICS {
            gaps.push(Gap {
                scope: "azure:network".to_owned(),
                kind: GapKind::Truncated,
                message: format!(
                    "{} NIC-based pool members: the NSGs of the first {MAX_NICS} were read",
                    nics.len()
                ),
                hint: None,
            });
            nics.truncate(MAX_NICS);
        }
        // Each NIC, then its subnet: the NSGs on them, with where they sit.
        let found = futures_util::future::join_all(
            nics.iter()
                .map(|(nic, ipconfig)| self.nic_nsgs(nic, ipconfig)),
        )
        .await;
        let mut nsgs: Vec<(String, String)> = Vec::new();
        for (found, gap) in found.into_iter().chain([(ip_nsgs, Vec::new())]) {
            gaps.extend(gap);
            for (id, where_) in found {
                // The gateway's own subnet NSG is checked for the management path already.
                let seen = nsgs.iter().any(|(n, _)| n.eq_ignore_ascii_case(&id))
                    || gateway_nsg.is_some_and(|g| g.eq_ignore_ascii_case(&id));
                if !seen {
                    nsgs.push((id, where_));
                }
            }
        }
        let read = futures_util::future::join_all(nsgs.iter().map(|(id, where_)| async move {
            self.api
                .get(&self.arm_url(id), self.token, actions::NSG_READ)
                .await
                .and_then(|b| {
                    understood::<Nsg>(&b, "azure:network", &format!("the NSG on {where_}"))
                })
        }))
        .await;
        for ((_, where_), r) in nsgs.iter().zip(read) {
            match r {
                Ok((nsg, odd)) => {
                    gaps.extend(odd);
                    checks.push(convert::backend_nsg_check(
                        &nsg,
                        where_,
                        gateway_prefixes,
                        &ports,
                    ));
                }
                Err(e) => gaps.push(network_gap(
                    &format!("the NSG on {where_}"),
                    actions::NSG_READ,
                    &e,
                )),
            }
        }
        (checks, gaps)
    }

    /// The NSG ids on the subnets of IP pool members, with where they sit, and a skipped
    /// `nsg.backend-subnets` check naming the members whose subnet was not found (and why).
    /// Only the gateway's own virtual network is read (one GET, at most [`MAX_SUBNETS`]
    /// subnets): a member in a peered network or on-premises is outside what the gateway's
    /// resource names, and searching the subscription for it is not bounded.
    async fn ip_member_nsgs(
        &self,
        gw: &Gateway,
        gateway_subnet: &str,
    ) -> (Vec<(String, String)>, Option<HostCheck>) {
        let mut ips: Vec<String> = Vec::new();
        for a in gw
            .properties
            .backend_address_pools
            .iter()
            .flat_map(|p| p.properties.backend_addresses.iter())
        {
            if let Some(ip) = a.ip_address.as_deref().map(str::trim)
                && ip.parse::<std::net::Ipv4Addr>().is_ok()
                && !ips.iter().any(|i| i == ip)
            {
                ips.push(ip.to_owned());
            }
        }
        if ips.is_empty() {
            return (Vec::new(), None);
        }
        let skipped = |detail: String| HostCheck {
            id: "nsg.backend-subnets".to_owned(),
            name: "NSGs of the IP backends' subnets".to_owned(),
            status: CheckStatus::Skipped,
            detail,
        };
        let lower = gateway_subnet.to_ascii_lowercase();
        let Some(at) = lower.find("/subnets/") else {
            return (Vec::new(), None);
        };
        let vnet_id = &gateway_subnet[..at];
        let vnet_name = vnet_id.rsplit('/').next().unwrap_or(vnet_id);
        let vnet = match self
            .api
            .get(&self.arm_url(vnet_id), self.token, actions::VNET_READ)
            .await
            .and_then(|b| understood::<Vnet>(&b, "azure:network", "the gateway's virtual network"))
        {
            Ok((v, _)) => v,
            Err(e) => {
                return (
                    Vec::new(),
                    Some(skipped(format!(
                        "the gateway's virtual network {vnet_name} could not be read ({e}; needs {}), so the NSGs of the subnets of IP members {} were not checked",
                        actions::VNET_READ,
                        ips.join(", ")
                    ))),
                );
            }
        };
        let mut out: Vec<(String, Vec<String>, String)> = Vec::new();
        let mut outside = Vec::new();
        let mut over = Vec::new();
        for ip in &ips {
            let subnet = vnet.properties.subnets.iter().find(|s| {
                let prefixes: Vec<String> = s
                    .properties
                    .address_prefix
                    .iter()
                    .chain(s.properties.address_prefixes.iter())
                    .cloned()
                    .collect();
                convert::holds(&prefixes, ip)
            });
            let Some(subnet) = subnet else {
                outside.push(ip.clone());
                continue;
            };
            let Some(nsg) = subnet
                .properties
                .network_security_group
                .as_ref()
                .filter(|n| !n.id.is_empty())
            else {
                continue;
            };
            let full = out.len() >= MAX_SUBNETS;
            match out
                .iter_mut()
                .find(|(id, _, _)| id.eq_ignore_ascii_case(&nsg.id))
            {
                Some((_, members, _)) => members.push(ip.clone()),
                None if !full => {
                    out.push((nsg.id.clone(), vec![ip.clone()], subnet.name.clone()));
                }
                None => over.push(ip.clone()),
            }
        }
        let mut notes = Vec::new();
        if !outside.is_empty() {
            notes.push(format!(
                "{} in no subnet of the gateway's virtual network {vnet_name} (a peered network or on-premises): the NSG in front of {} was not read",
                outside.join(", "),
                if outside.len() == 1 { "it" } else { "them" }
            ));
        }
        if !over.is_empty() {
            notes.push(format!(
                "the NSGs of the first {MAX_SUBNETS} backend subnets were read; not those of {}",
                over.join(", ")
            ));
        }
        let nsgs = out
            .into_iter()
            .map(|(id, members, subnet)| {
                (
                    id,
                    format!("subnet {subnet} of IP member {}", members.join(", ")),
                )
            })
            .collect();
        (nsgs, (!notes.is_empty()).then(|| skipped(notes.join("; "))))
    }

    /// The NSG ids on one NIC and on the subnet of its IP configuration `ipconfig`.
    async fn nic_nsgs(&self, nic_id: &str, ipconfig: &str) -> (Vec<(String, String)>, Vec<Gap>) {
        let name = nic_id.rsplit('/').next().unwrap_or(nic_id);
        let what = format!("backend NIC {name}");
        let nic = match self
            .api
            .get(&self.arm_url(nic_id), self.token, actions::NIC_READ)
            .await
            .and_then(|b| understood::<Nic>(&b, "azure:network", &what))
        {
            Ok(read) => read,
            Err(e) => return (Vec::new(), vec![network_gap(&what, actions::NIC_READ, &e)]),
        };
        let (nic, mut gaps) = nic;
        let mut out = Vec::new();
        if let Some(n) = nic
            .properties
            .network_security_group
            .filter(|n| !n.id.is_empty())
        {
            out.push((n.id, format!("NIC {name}")));
        }
        let subnet = nic
            .properties
            .ip_configurations
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(ipconfig))
            .or_else(|| nic.properties.ip_configurations.first())
            .and_then(|c| c.properties.subnet.clone())
            .filter(|s| !s.id.is_empty());
        if let Some(subnet) = subnet {
            let where_ = format!("subnet {} of NIC {name}", subnet.name());
            match self
                .api
                .get(&self.arm_url(&subnet.id), self.token, actions::SUBNET_READ)
                .await
                .and_then(|b| understood::<Subnet>(&b, "azure:network", &where_))
            {
                Ok((s, odd)) => {
                    gaps.extend(odd);
                    if let Some(n) = s.properties.network_security_group {
                        out.push((n.id, where_));
                    }
                }
                Err(e) => gaps.push(network_gap(&where_, actions::SUBNET_READ, &e)),
            }
        }
        (out, gaps)
    }
}

/// The two places access logs land (KB 2.3): the resource-specific table and the legacy one.
/// Only 5xx rows keep their detail, so the result stays a handful of rows. Every column beyond
/// the status is read through `column_ifexists`: v1 gateways write no ErrorInfo, ServerStatus or
/// ServerRouted (KB 9.1), and a missing column would fail the whole query. v1 puts the backend's
/// status and address in `requestQuery` instead (`...&SERVER-ROUTED=10.4.0.4&...&SERVER-STATUS=404`,
/// application-gateway-diagnostics.md's v1 example), so they are taken from there when the columns
/// are empty. The 5xx rows are also split per time bucket of `bin_seconds` (`Bin`, the width
/// [`Timeline`] picks for the window), so the report says when they happened; other rows keep a
/// null `Bin` and stay one row per status.
fn queries(gateway_id: &str, bin_seconds: u64) -> [(&'static str, String); 2] {
    let summarize = format!(
        "| extend F = HttpStatus >= 500 \
| summarize Requests = count(), FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated) \
by HttpStatus, ErrorInfo = iff(F, ErrorInfo, ''), ServerStatus = iff(F, ServerStatus, ''), \
ServerRouted = iff(F, ServerRouted, ''), BackendPoolName = iff(F, BackendPoolName, ''), \
Bin = iff(F, bin(TimeGenerated, {bin_seconds}s), datetime(null))"
    );
    [
        (
            "AGWAccessLogs",
            format!(
                "AGWAccessLogs | where _ResourceId =~ '{gateway_id}' \
| where tostring(column_ifexists('ClientIp', '')) != '127.0.0.1' \
| extend HttpStatus = toint(HttpStatus), ErrorInfo = tostring(column_ifexists('ErrorInfo', '')), \
ServerStatus = coalesce(tostring(column_ifexists('ServerStatus', '')), extract('SERVER-STATUS=([0-9]+)', 1, tostring(column_ifexists('RequestQuery', '')))), \
ServerRouted = coalesce(tostring(column_ifexists('ServerRouted', '')), extract('SERVER-ROUTED=([^&]+)', 1, tostring(column_ifexists('RequestQuery', '')))), \
BackendPoolName = tostring(column_ifexists('BackendPoolName', '')) {summarize}"
            ),
        ),
        (
            "AzureDiagnostics",
            format!(
                "AzureDiagnostics | where ResourceType == 'APPLICATIONGATEWAYS' and Category == 'ApplicationGatewayAccessLog' \
| where _ResourceId =~ '{gateway_id}' \
| where tostring(column_ifexists('clientIP_s', '')) != '127.0.0.1' \
| extend HttpStatus = toint(column_ifexists('httpStatus_d', real(null))), \
ErrorInfo = tostring(column_ifexists('error_info_s', '')), \
ServerStatus = coalesce(tostring(column_ifexists('serverStatus_s', '')), extract('SERVER-STATUS=([0-9]+)', 1, tostring(column_ifexists('requestQuery_s', '')))), \
ServerRouted = coalesce(tostring(column_ifexists('serverRouted_s', '')), extract('SERVER-ROUTED=([^&]+)', 1, tostring(column_ifexists('requestQuery_s', '')))), \
BackendPoolName = tostring(column_ifexists('backendPoolName_s', '')) {summarize}"
            ),
        ),
    ]
}

/// A v1 gateway's access log records no `error_info`, `serverStatus` or `serverRouted` (KB 9.1);
/// `requestQuery`'s SERVER-STATUS (read by the query) names the backend's status only when it
/// answered. A 502 without either cannot be told apart, which the report must say rather than
/// look complete.
fn v1_blind_spot(log: &LogSummary) -> Option<Gap> {
    let blind: u64 = log
        .groups
        .iter()
        .filter(|g| g.class == cloud502_model::LogClass::Status502)
        .map(|g| g.count)
        .sum();
    (blind > 0).then(|| Gap {
        scope: "azure:loganalytics".to_owned(),
        kind: GapKind::Unsupported,
        message: format!(
            "{blind} request(s) got 502 in {}, which a v1 gateway logs without ErrorInfo, ServerStatus or ServerRouted (and these without a SERVER-STATUS in requestQuery): whether the gateway had no live backend, the backend closed the connection or answered 502 itself cannot be told from the log",
            log.source
        ),
        hint: Some(
            "read backend health (it names the servers down now) and the backends' own logs for the window".to_owned(),
        ),
    })
}

/// What a Log Analytics `SemanticError` says is missing (INVENTORY.md section 7): the same
/// codes (`SemanticError`, `SEM0100`) cover both, the message tells them apart.
#[derive(Debug, PartialEq, Eq)]
enum Missing {
    /// "Failed to resolve table or column expression named 'T'" with T the query's table.
    Table,
    /// "Failed to resolve scalar expression named 'C'", or another name than the table's.
    Column(String),
}

fn semantic_error(e: &ApiError, table: &str) -> Option<Missing> {
    let ApiError::Status {
        status: 400,
        code,
        message,
        ..
    } = e
    else {
        return None;
    };
    let m = message.to_ascii_lowercase();
    if !(code == "SemanticError" || m.contains("semanticerror") || m.contains("failed to resolve"))
    {
        return None;
    }
    // The name quoted after "named" / "entity".
    let named = ["named '", "entity '"].iter().find_map(|k| {
        let at = message.to_ascii_lowercase().find(k)? + k.len();
        message[at..].split('\'').next().map(str::to_owned)
    });
    match named {
        Some(n) if n.eq_ignore_ascii_case(table) => Some(Missing::Table),
        Some(n) => Some(Missing::Column(n)),
        // No name: a table query that fails to resolve anything is read as the table missing
        // only when the message says "table".
        None if m.contains("table") => Some(Missing::Table),
        None => None,
    }
}

/// Read a body with the tolerant views: each element left out becomes a gap of `scope`; a body
/// that does not parse at all is [`ApiError::Invalid`] ("not understood"), never "unreachable".
fn understood<T: DeserializeOwned>(
    body: &[u8],
    scope: &str,
    what: &str,
) -> Result<(T, Vec<Gap>), ApiError> {
    let (value, odd) = resources::parse::<T>(body).map_err(|e| {
        ApiError::Invalid(format!(
            "the answer for {what} was not understood ({})",
            cloud502_collect::remote::one_line(&e)
        ))
    })?;
    let gaps = odd
        .into_iter()
        .map(|note| Gap {
            scope: scope.to_owned(),
            kind: GapKind::InvalidInput,
            message: format!("{what}: {note}; the rest was read"),
            hint: None,
        })
        .collect();
    Ok((value, gaps))
}

/// Why backend health could not be read, and the fix: the action the Reader role lacks, a
/// read-only lock (ARM counts the POST as a write and answers 409 ScopeLocked), throttling.
fn health_gap(e: &ApiError) -> Gap {
    const SCOPE: &str = "azure:backendhealth";
    match (e.status(), e.code()) {
        (Some(409), "ScopeLocked") => Gap {
            scope: SCOPE.to_owned(),
            kind: GapKind::Permission,
            message: format!(
                "a read-only lock blocks the backend-health action ({e})"
            ),
            hint: Some(
                "backend health is a POST, which a ReadOnly lock on the gateway, its resource group or subscription refuses: read it in the portal, or lift the lock while diagnosing".to_owned(),
            ),
        },
        (Some(403), _) => Gap {
            scope: SCOPE.to_owned(),
            kind: GapKind::Permission,
            message: "the Reader role cannot read backend health: grant Microsoft.Network/applicationGateways/backendhealth/action".to_owned(),
            hint: Some(
                "add the action to a custom role (docs/providers/azure.md); a read-only lock on the gateway blocks it too".to_owned(),
            ),
        },
        _ => gap(SCOPE, "backend health", e),
    }
}

fn network_gap(what: &str, action: &str, e: &ApiError) -> Gap {
    match e.status() {
        Some(403) => Gap {
            scope: "azure:network".to_owned(),
            kind: GapKind::Permission,
            message: format!("cannot read {what} ({e})"),
            hint: Some(format!(
                "grant {action} (Reader on the virtual network includes it)"
            )),
        },
        _ => gap("azure:network", what, e),
    }
}

/// A failed call as a gap.
fn gap(scope: &str, what: &str, e: &ApiError) -> Gap {
    let (kind, hint) = match e {
        ApiError::Status {
            status: 429,
            retry_after,
            ..
        } => (
            GapKind::Throttled,
            Some(match retry_after {
                Some(r) => format!("ARM asked to retry after {} s; run again then", r.as_secs()),
                None => "ARM throttled the subscription; run again in a minute".to_owned(),
            }),
        ),
        ApiError::Status {
            status: 401 | 403, ..
        } => (
            GapKind::Permission,
            Some("see docs/providers/azure.md for the role this needs".to_owned()),
        ),
        ApiError::Status { status: 404, .. } => (GapKind::NotFound, None),
        ApiError::Status { .. } => (GapKind::Other, None),
        ApiError::Timeout { running: true, .. } => (
            GapKind::Timeout,
            Some(
                "raise --timeout: backend health often takes 30-60 s on a large gateway".to_owned(),
            ),
        ),
        ApiError::Timeout { .. } => (GapKind::Timeout, Some("raise --timeout".to_owned())),
        ApiError::Unreachable(_) => (GapKind::Unreachable, None),
        ApiError::Invalid(_) => (GapKind::InvalidInput, None),
        ApiError::Failed { .. } => (
            GapKind::Other,
            Some(
                "run again; if it fails the same way, read backend health in the portal".to_owned(),
            ),
        ),
        ApiError::Refused { hint, .. } => (GapKind::InvalidInput, Some((*hint).to_owned())),
        ApiError::Spent(_) => (
            GapKind::Other,
            Some("raise the audit's [budget] azure in audit.toml".to_owned()),
        ),
    };
    Gap {
        scope: scope.to_owned(),
        kind,
        message: format!("{what}: {e}"),
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn semantic(message: &str) -> ApiError {
        ApiError::Status {
            status: 400,
            code: "BadArgumentError".to_owned(),
            message: format!(
                "The request had some invalid properties (SemanticError/SEM0100: {message})"
            ),
            retry_after: None,
        }
    }

    #[test]
    fn a_missing_table_is_told_from_a_missing_column() {
        let table = semantic(
            "'where' operator: Failed to resolve table or column expression named 'AGWAccessLogs'",
        );
        assert_eq!(
            semantic_error(&table, "AGWAccessLogs"),
            Some(Missing::Table)
        );
        // The same words naming another name than the table: a column.
        assert_eq!(
            semantic_error(&table, "AzureDiagnostics"),
            Some(Missing::Column("AGWAccessLogs".to_owned()))
        );
        let column =
            semantic("'extend' operator: Failed to resolve scalar expression named 'ErrorInfo'");
        assert_eq!(
            semantic_error(&column, "AGWAccessLogs"),
            Some(Missing::Column("ErrorInfo".to_owned()))
        );
        let entity = semantic("Failed to resolve entity 'RunbookName_s'");
        assert_eq!(
            semantic_error(&entity, "AzureDiagnostics"),
            Some(Missing::Column("RunbookName_s".to_owned()))
        );
        // Not a SemanticError: a throttled query is not a missing table.
        let throttled = ApiError::Status {
            status: 429,
            code: "TooManyRequests".to_owned(),
            message: String::new(),
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(semantic_error(&throttled, "AGWAccessLogs"), None);
        assert_eq!(gap("s", "q", &throttled).kind, GapKind::Throttled);
    }

    #[test]
    fn v1_backend_status_and_address_are_read_from_request_query() {
        for (table, q) in queries("/subscriptions/s/resourceGroups/rg/providers/x/gw", 60) {
            let column = if table == "AGWAccessLogs" {
                "RequestQuery"
            } else {
                "requestQuery_s"
            };
            for key in ["SERVER-STATUS=([0-9]+)", "SERVER-ROUTED=([^&]+)"] {
                assert!(
                    q.contains(&format!(
                        "extract('{key}', 1, tostring(column_ifexists('{column}', '')))"
                    )),
                    "{key} from {column} in {q}"
                );
            }
        }
    }

    #[test]
    fn the_5xx_rows_are_binned_at_the_timelines_width() {
        // An hour is per minute, a day per quarter hour: the width Timeline picks for the window.
        for (secs, width) in [(3_600i64, 60u64), (86_400, 900)] {
            let w = Timeline::empty(1_795_268_400 - secs, 1_795_268_400, 60).bucket_seconds;
            assert_eq!(w, width);
            for (_, q) in queries("/subscriptions/s/resourceGroups/rg/providers/x/gw", w) {
                assert!(
                    q.contains(&format!(
                        "Bin = iff(F, bin(TimeGenerated, {width}s), datetime(null))"
                    )),
                    "{q}"
                );
            }
        }
    }

    #[test]
    fn every_column_but_the_status_is_read_if_it_exists() {
        for (_, q) in queries("/subscriptions/s/resourceGroups/rg/providers/x/gw", 60) {
            for column in [
                "ErrorInfo",
                "ServerStatus",
                "ServerRouted",
                "BackendPoolName",
            ] {
                assert!(
                    q.contains(&format!("column_ifexists('{column}'"))
                        || q.contains(&format!("'{}", column_legacy(column))),
                    "{column} in {q}"
                );
            }
        }
    }

    /// AzureDiagnostics' names for the same columns.
    fn column_legacy(column: &str) -> &'static str {
        match column {
            "ErrorInfo" => "error_info_s",
            "ServerStatus" => "serverStatus_s",
            "ServerRouted" => "serverRouted_s",
            _ => "backendPoolName_s",
        }
    }

    #[test]
    fn a_body_that_does_not_parse_is_not_understood_and_odd_elements_are_gaps() {
        let e = understood::<Gateway>(b"<html>", "azure:applicationGateways", "the gateway")
            .err()
            .unwrap_or_else(|| ApiError::Spent(String::new()));
        assert!(
            e.to_string()
                .starts_with("the answer for the gateway was not understood"),
            "{e}"
        );
        assert_eq!(
            gap("azure:x", "the gateway", &e).kind,
            GapKind::InvalidInput
        );
        let (_, gaps) = understood::<Gateway>(
            br#"{"properties":{"probes":[{"name":"p","properties":{"interval":"often"}}]}}"#,
            "azure:applicationGateways",
            "the gateway",
        )
        .unwrap_or_default();
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(
            gaps[0]
                .message
                .starts_with("the gateway: probe #0 \"p\" was left out")
        );
        assert_eq!(gaps[0].kind, GapKind::InvalidInput);
    }
}
