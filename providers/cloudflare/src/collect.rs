//! One collection: the zone first (the only call that can stop the run), then in parallel the SSL
//! mode, the Proxy Read Timeout, the host's DNS records, its load balancer with its pools and their
//! health, the zone's health checks and the GraphQL analytics; then the direct origin checks on the
//! addresses found. Every failure after the zone is a gap.

use crate::api::{Api, ApiError};
use crate::config::{CloudflareOptions, MAX_ORIGINS, Validated, ZoneRef};
use crate::convert::{self, Read};
use crate::error::CloudflareError;
use crate::host_rules::{self, HostRules, PageRule, Ruleset, WorkerRoute};
use crate::origin::{self, Candidate, CheckOptions, Resolved};
use crate::resources::{
    AnalyticsRow, DnsRecord, Healthcheck, LoadBalancer, Monitor, OriginHealth, Pool, Zone,
    ZoneSetting,
};
use cloud502_collect::CollectCx;
use cloud502_model::{
    Evidence, Gap, GapKind, LogSummary, Probe, ProbeScheme, ProviderKind, Subject, Target,
};
use std::time::Duration;

/// The token permissions each call needs, as Cloudflare's dashboard names them.
pub mod permissions {
    /// Zone lookup.
    pub const ZONE: &str = "Zone / Zone / Read";
    /// `settings/ssl`, `settings/proxy_read_timeout`.
    pub const ZONE_SETTINGS: &str = "Zone / Zone Settings / Read";
    /// `dns_records`.
    pub const DNS: &str = "Zone / DNS / Read";
    /// `load_balancers`.
    pub const LOAD_BALANCERS: &str = "Zone / Load Balancers / Read";
    /// `load_balancers/pools` and pool health (an account permission).
    pub const POOLS: &str = "Account / Load Balancing: Monitors and Pools / Read";
    /// `healthchecks`.
    pub const HEALTH_CHECKS: &str = "Zone / Health Checks / Read";
    /// GraphQL analytics.
    pub const ANALYTICS: &str = "Zone / Analytics / Read";
    /// Configuration Rules (ruleset phase `http_config_settings`).
    pub const CONFIG_RULES: &str = "Zone / Config Rules / Read";
    /// Origin Rules (ruleset phase `http_request_origin`).
    pub const ORIGIN_RULES: &str = "Zone / Origin / Read";
    /// Page Rules.
    pub const PAGE_RULES: &str = "Zone / Page Rules / Read";
    /// Workers routes.
    pub const WORKERS_ROUTES: &str = "Zone / Workers Routes / Read";
    /// Load-balancer monitors (an account permission, with the pools').
    pub const MONITORS: &str = "Account / Load Balancing: Monitors and Pools / Read";
}

/// Pool-health reads at most (one request each).
const MAX_POOLS: usize = 10;

/// In-zone CNAME hops followed at most (one DNS request each).
const MAX_CNAME_HOPS: usize = 3;

/// The report's subject: the host, and its zone as given.
pub fn subject(v: &Validated) -> Subject {
    Subject {
        kind: ProviderKind::Cloudflare,
        id: match &v.host {
            Some(h) => format!("{h} (zone {})", v.zone.as_str()),
            None => v.zone.as_str().to_owned(),
        },
    }
}

pub(crate) struct Collector<'a> {
    pub opts: &'a CloudflareOptions,
    pub v: &'a Validated,
    pub api: &'a Api,
    pub cx: &'a CollectCx,
    pub token_var: &'a str,
}

/// The load balancer named HOST, its pools, each pool's health (by pool id), and the pools'
/// monitors with the gaps of their reads.
type LbRead = (
    LoadBalancer,
    Vec<Pool>,
    Vec<(String, Result<Vec<OriginHealth>, Gap>)>,
    (Vec<Monitor>, Vec<Gap>),
);

/// What the parallel wave read: each part is a value or a gap.
struct Wave {
    /// Records of the zone that proxied CNAMEs of the host lead to, each with the name it was
    /// reached from; and the gaps of the lookups.
    followed: (Vec<(String, DnsRecord)>, Vec<Gap>),
    ssl: Result<ZoneSetting, Gap>,
    prt: Option<ZoneSetting>,
    dns: Result<Vec<DnsRecord>, Gap>,
    lb: Result<Option<LbRead>, Gap>,
    checks: Result<Vec<Healthcheck>, Gap>,
    analytics: Result<Option<LogSummary>, Gap>,
    rules: HostRead,
}

/// The host's per-host settings as read: what applies, the gaps of the reads, the resources read.
#[derive(Default)]
struct HostRead {
    rules: HostRules,
    gaps: Vec<Gap>,
    read: Vec<String>,
}

impl Collector<'_> {
    pub async fn collect(&self) -> Result<Evidence, CloudflareError> {
        self.cx
            .progress
            .message(&format!("reading Cloudflare zone {}", self.v.zone.as_str()));
        let zone = self.zone().await?;
        let host = self.v.host.clone().unwrap_or_else(|| zone.name.clone());
        if host != zone.name && !host.ends_with(&format!(".{}", zone.name)) {
            return Err(CloudflareError::Options {
                problems: vec![format!("--host {host:?} is not in zone {:?}", zone.name)],
                hint: "pass a host name under the zone, or the zone the host belongs to".to_owned(),
            });
        }
        self.cx
            .progress
            .message("reading the SSL mode, DNS, load balancers, health checks and analytics");
        let z = format!("/zones/{}", zone.id);
        let (ssl_path, prt_path) = (
            format!("{z}/settings/ssl"),
            format!("{z}/settings/proxy_read_timeout"),
        );
        let dns_path = format!("{z}/dns_records?name={}", encode(&host));
        let (ssl, prt, dns, lb, checks, analytics, rules) = tokio::join!(
            self.api
                .get::<ZoneSetting>(&ssl_path, permissions::ZONE_SETTINGS),
            self.api
                .get::<ZoneSetting>(&prt_path, permissions::ZONE_SETTINGS),
            self.api.get_all::<DnsRecord>(&dns_path, permissions::DNS),
            self.load_balancer(&zone, &host),
            self.health_checks(&zone),
            self.analytics(&zone, &host),
            self.host_rules(&zone, &host),
        );
        let dns = match dns {
            Ok(r) => self.wildcard(&zone, &host, r).await,
            Err(e) => Err(e),
        };
        let followed = match &dns {
            Ok(r) => self.follow(&zone, r).await,
            Err(_) => (Vec::new(), Vec::new()),
        };
        let wave = Wave {
            followed,
            ssl: ssl.map_err(|e| gap("cloudflare:settings/ssl", &e, permissions::ZONE_SETTINGS)),
            // Only Enterprise zones can read or change it; elsewhere the default applies.
            prt: prt.ok(),
            dns: dns.map_err(|e| gap("cloudflare:dns_records", &e, permissions::DNS)),
            lb,
            checks,
            analytics,
            rules,
        };
        Ok(self.evidence(&zone, &host, wave).await)
    }

    /// The host's records, else the proxied wildcard record that covers it (`*.example.com`
    /// covers `www.example.com`): Cloudflare answers for a host from a wildcard, and the name
    /// lookup (`?name=HOST`) does not return it.
    async fn wildcard(
        &self,
        zone: &Zone,
        host: &str,
        records: Vec<DnsRecord>,
    ) -> Result<Vec<DnsRecord>, ApiError> {
        if records.iter().any(convert::is_origin_record) || host.eq_ignore_ascii_case(&zone.name) {
            return Ok(records);
        }
        let Some((_, parent)) = host.split_once('.') else {
            return Ok(records);
        };
        let path = format!(
            "/zones/{}/dns_records?name={}",
            zone.id,
            encode(&format!("*.{parent}"))
        );
        let mut wild = self
            .api
            .get_all::<DnsRecord>(&path, permissions::DNS)
            .await?;
        wild.retain(convert::is_origin_record);
        Ok(records.into_iter().chain(wild).collect())
    }

    /// Follow proxied CNAMEs to other hosts of the same zone within the zone (at most
    /// [`MAX_CNAME_HOPS`]): public DNS answers such a name with Cloudflare's own edge addresses,
    /// so a check of what it resolves to would check Cloudflare, not the origin.
    async fn follow(
        &self,
        zone: &Zone,
        records: &[DnsRecord],
    ) -> (Vec<(String, DnsRecord)>, Vec<Gap>) {
        let mut out: Vec<(String, DnsRecord)> = Vec::new();
        let mut gaps = Vec::new();
        let mut seen: Vec<String> = records
            .iter()
            .map(|r| r.name.to_ascii_lowercase())
            .collect();
        let mut next: Vec<(String, String)> = records
            .iter()
            .filter(|r| convert::in_zone_cname(r, &zone.name))
            .map(|r| (r.name.clone(), convert::bare(&r.content)))
            .collect();
        for _ in 0..MAX_CNAME_HOPS {
            let mut after = Vec::new();
            for (from, target) in next {
                if seen.contains(&target) {
                    continue;
                }
                seen.push(target.clone());
                let path = format!("/zones/{}/dns_records?name={}", zone.id, encode(&target));
                match self.api.get_all::<DnsRecord>(&path, permissions::DNS).await {
                    Ok(found) => {
                        for r in found.into_iter().filter(convert::is_origin_record) {
                            if convert::in_zone_cname(&r, &zone.name) {
                                after.push((from.clone(), convert::bare(&r.content)));
                            }
                            out.push((from.clone(), r));
                        }
                    }
                    Err(e) => gaps.push(gap("cloudflare:dns_records", &e, permissions::DNS)),
                }
            }
            if after.is_empty() {
                break;
            }
            next = after;
        }
        (out, gaps)
    }

    /// Configuration Rules, Origin Rules, Page Rules and Workers routes, and which apply to the
    /// host. A zone without a ruleset in a phase answers 404: no rules. Any other failure is a
    /// gap naming the permission, and the zone-wide settings are used.
    async fn host_rules(&self, zone: &Zone, host: &str) -> HostRead {
        let z = format!("/zones/{}", zone.id);
        let paths = [
            format!("{z}/rulesets/phases/http_config_settings/entrypoint"),
            format!("{z}/rulesets/phases/http_request_origin/entrypoint"),
            format!("{z}/pagerules"),
            format!("{z}/workers/routes"),
        ];
        let (config, origin, pages, workers) = tokio::join!(
            self.api
                .get::<Ruleset>(&paths[0], permissions::CONFIG_RULES),
            self.api
                .get::<Ruleset>(&paths[1], permissions::ORIGIN_RULES),
            self.api
                .get::<Vec<PageRule>>(&paths[2], permissions::PAGE_RULES),
            self.api
                .get::<Vec<WorkerRoute>>(&paths[3], permissions::WORKERS_ROUTES),
        );
        let mut out = HostRead::default();
        let mut take = |scope: &str, permission: &str, r: Result<(), ApiError>| match r {
            Ok(()) | Err(ApiError::Status { status: 404, .. }) => {
                out.read.push(scope.to_owned());
            }
            Err(e) => out.gaps.push(gap(scope, &e, permission)),
        };
        // Split each answer into its value and its outcome (404: no ruleset, no rules).
        fn split<T>(r: Result<T, ApiError>) -> (Option<T>, Result<(), ApiError>) {
            match r {
                Ok(v) => (Some(v), Ok(())),
                Err(e) => (None, Err(e)),
            }
        }
        let (config, r) = split(config);
        take(
            "cloudflare:rulesets/http_config_settings",
            permissions::CONFIG_RULES,
            r,
        );
        let (origin, r) = split(origin);
        take(
            "cloudflare:rulesets/http_request_origin",
            permissions::ORIGIN_RULES,
            r,
        );
        let (pages, r) = split(pages);
        take("cloudflare:pagerules", permissions::PAGE_RULES, r);
        let (workers, r) = split(workers);
        take("cloudflare:workers/routes", permissions::WORKERS_ROUTES, r);
        let mut unknown = Vec::new();
        out.rules.ssl = host_rules::ssl_for(
            host,
            config.as_ref().map_or(&[][..], |r| &r.rules),
            pages.as_deref().unwrap_or(&[]),
            &mut unknown,
        );
        out.rules.origin = host_rules::origin_for(
            host,
            origin.as_ref().map_or(&[][..], |r| &r.rules),
            &mut unknown,
        );
        out.rules.workers = host_rules::workers_for(host, workers.as_deref().unwrap_or(&[]));
        out.rules.unknown = unknown;
        out
    }

    async fn zone(&self) -> Result<Zone, CloudflareError> {
        let result = match &self.v.zone {
            ZoneRef::Id(id) => self
                .api
                .get::<Zone>(&format!("/zones/{id}"), permissions::ZONE)
                .await
                .map(Some),
            ZoneRef::Name(name) => self
                .api
                .get_all::<Zone>(&format!("/zones?name={}", encode(name)), permissions::ZONE)
                .await
                .map(|zones| {
                    zones
                        .into_iter()
                        .find(|z| z.name.eq_ignore_ascii_case(name))
                }),
        };
        let zone = self.v.zone.as_str();
        match result {
            Ok(Some(z)) => Ok(z),
            Ok(None) => Err(CloudflareError::NotFound {
                message: format!("zone {zone:?} not found, or the API token cannot read it"),
                hint: "pass the zone apex (example.com, not www.example.com) and check that the \
                       token's zone resources include it"
                    .to_owned(),
            }),
            Err(e) => Err(self.fatal(e)),
        }
    }

    /// The zone call failed: name the problem and the fix.
    fn fatal(&self, e: ApiError) -> CloudflareError {
        let zone = self.v.zone.as_str();
        let var = self.token_var;
        match &e {
            ApiError::Status { status: 404, .. }
            | ApiError::Status {
                status: 400,
                code: 7003 | 7000,
                ..
            } => CloudflareError::NotFound {
                message: format!("zone {zone:?} not found ({e})"),
                hint: "check --zone: a zone id is the 32-hex id on the zone's Overview page"
                    .to_owned(),
            },
            ApiError::Status {
                code: 6003 | 6111 | 6100..=6103,
                ..
            } => CloudflareError::Credentials {
                message: format!("Cloudflare could not read the API token from {var} ({e})"),
                hint: token_hint(var, e_code(&e)),
            },
            ApiError::Status {
                code: 9109,
                message,
                ..
            } if is_location(message) => CloudflareError::Credentials {
                message: format!("Cloudflare refused the API token from {var} ({e})"),
                hint: token_hint(var, 9109),
            },
            _ if e.is_auth() => CloudflareError::Credentials {
                message: format!("Cloudflare rejected the API token from {var} ({e})"),
                hint: format!(
                    "check {var}: the token must be active and have {} on the zone \
                     (docs/providers/cloudflare.md lists every permission)",
                    permissions::ZONE
                ),
            },
            ApiError::Throttled { .. } => CloudflareError::Unavailable {
                message: format!("Cloudflare API: {e}"),
                hint: "Cloudflare blocks every API call of this user for 5 minutes after a 429: \
                       wait, then run again"
                    .to_owned(),
            },
            _ => CloudflareError::Unavailable {
                message: format!("Cloudflare API: {e}"),
                hint: "check network access to the API (or --api-base) and --timeout".to_owned(),
            },
        }
    }

    /// The load balancer named `host`, its pools and their health.
    async fn load_balancer(&self, zone: &Zone, host: &str) -> Result<Option<LbRead>, Gap> {
        if !self.opts.load_balancers {
            return Ok(None);
        }
        let lbs = self
            .api
            .get_all::<LoadBalancer>(
                &format!("/zones/{}/load_balancers", zone.id),
                permissions::LOAD_BALANCERS,
            )
            .await
            .map_err(|e| gap("cloudflare:load_balancers", &e, permissions::LOAD_BALANCERS))?;
        let Some(lb) = lbs.into_iter().find(|l| l.name.eq_ignore_ascii_case(host)) else {
            return Ok(None);
        };
        let account = &zone.account.id;
        let all = self
            .api
            .get_all::<Pool>(
                &format!("/accounts/{account}/load_balancers/pools"),
                permissions::POOLS,
            )
            .await
            .map_err(|e| gap("cloudflare:pools", &e, permissions::POOLS))?;
        let ids = lb.pool_ids();
        let pools: Vec<Pool> = ids
            .iter()
            .filter_map(|id| all.iter().find(|p| &p.id == id).cloned())
            .collect();
        if pools.len() > MAX_POOLS {
            // Pools past the cap are not read: they are unknown, never counted as healthy.
            let unread: Vec<&str> = pools[MAX_POOLS..].iter().map(|p| p.name.as_str()).collect();
            self.api.cut(Gap {
                scope: "cloudflare:pools".to_owned(),
                kind: GapKind::Truncated,
                message: format!(
                    "health read for {MAX_POOLS} of the load balancer's {} pools; not read: {}",
                    pools.len(),
                    unread.join(", ")
                ),
                hint: Some("check the other pools' health in the dashboard".to_owned()),
            });
        }
        let health = futures_util::future::join_all(pools.iter().take(MAX_POOLS).map(|p| async {
            let r = self
                .api
                .get::<serde_json::Value>(
                    &format!("/accounts/{account}/load_balancers/pools/{}/health", p.id),
                    permissions::POOLS,
                )
                .await
                .map(|v| crate::resources::pool_health(&v))
                .map_err(|e| {
                    gap(
                        &format!("cloudflare:pools/{}/health", p.name),
                        &e,
                        permissions::POOLS,
                    )
                });
            (p.id.clone(), r)
        }))
        .await;
        let monitors = self.monitors(account, &pools).await;
        Ok(Some((lb, pools, health, monitors)))
    }

    /// The monitors the pools name, each read once: a "Response code mismatch error" is traced
    /// to the monitor's expected codes, path, Host header and port.
    async fn monitors(&self, account: &str, pools: &[Pool]) -> (Vec<Monitor>, Vec<Gap>) {
        let mut ids: Vec<&str> = Vec::new();
        for id in pools.iter().filter_map(|p| p.monitor.as_deref()) {
            if !id.is_empty() && !ids.contains(&id) {
                ids.push(id);
            }
        }
        let read =
            futures_util::future::join_all(ids.iter().take(MAX_POOLS).map(|id| async move {
                self.api
                    .get::<Monitor>(
                        &format!("/accounts/{account}/load_balancers/monitors/{id}"),
                        permissions::MONITORS,
                    )
                    .await
            }))
            .await;
        let mut out = (Vec::new(), Vec::new());
        for (id, r) in ids.iter().zip(read) {
            match r {
                Ok(mut m) => {
                    // Keyed by the id the pool names (the answer's own `id` is the same on the
                    // real API; documentation examples put a placeholder there).
                    m.id = (*id).to_owned();
                    out.0.push(m);
                }
                Err(e) => out.1.push(gap(
                    &format!("cloudflare:load_balancers/monitors/{id}"),
                    &e,
                    permissions::MONITORS,
                )),
            }
        }
        out
    }

    async fn health_checks(&self, zone: &Zone) -> Result<Vec<Healthcheck>, Gap> {
        if !self.opts.health_checks {
            return Ok(Vec::new());
        }
        match self
            .api
            .get_all::<Healthcheck>(
                &format!("/zones/{}/healthchecks", zone.id),
                permissions::HEALTH_CHECKS,
            )
            .await
        {
            Ok(h) => Ok(h),
            // Health Checks are not on every plan: that is not a failure of this run.
            Err(ApiError::Status { message, .. })
                if message.to_ascii_lowercase().contains("plan")
                    || message.to_ascii_lowercase().contains("not entitled") =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(gap(
                "cloudflare:healthchecks",
                &e,
                permissions::HEALTH_CHECKS,
            )),
        }
    }

    async fn analytics(&self, zone: &Zone, host: &str) -> Result<Option<LogSummary>, Gap> {
        if !self.opts.analytics {
            return Ok(None);
        }
        let now = time::OffsetDateTime::now_utc();
        // Checked: a library caller's `since` is not bounded by the CLI's 400-day limit.
        let since = time::Duration::try_from(self.opts.since)
            .ok()
            .and_then(|d| now.checked_sub(d))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let fmt = |t: time::OffsetDateTime| {
            t.replace_nanosecond(0)
                .unwrap_or(t)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        let filter = serde_json::json!({
            "datetime_geq": fmt(since),
            "datetime_leq": fmt(now),
            "clientRequestHTTPHost": host,
        });
        let mut errors = filter.clone();
        errors["edgeResponseStatus_geq"] = serde_json::json!(500);
        let variables = serde_json::json!({
            "zoneTag": zone.id,
            "filter": filter,
            "errors": errors,
        });
        let data = self
            .api
            .graphql(ANALYTICS_QUERY, variables, permissions::ANALYTICS)
            .await
            .map_err(|e| analytics_gap(&e))?;
        let z = data.pointer("/viewer/zones/0").ok_or_else(|| Gap {
            scope: "cloudflare:analytics".to_owned(),
            kind: GapKind::InvalidInput,
            message: "GraphQL answered without the zone".to_owned(),
            hint: None,
        })?;
        let rows: Vec<AnalyticsRow> = z
            .get("requests")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| Gap {
                scope: "cloudflare:analytics".to_owned(),
                kind: GapKind::InvalidInput,
                message: format!("unexpected GraphQL rows ({e})"),
                hint: None,
            })?
            .unwrap_or_default();
        if rows.len() >= ANALYTICS_GROUP_LIMIT {
            // Newest first, so what is cut is the start of the window, not the incident.
            let oldest = rows
                .iter()
                .map(|r| r.dimensions.datetime_minute.as_str())
                .min()
                .unwrap_or("?");
            self.api.cut(Gap {
                scope: "cloudflare:analytics".to_owned(),
                kind: GapKind::Truncated,
                message: format!(
                    "analytics reached the {ANALYTICS_GROUP_LIMIT}-group limit: 5xx before {oldest} were not read, and counts are understated"
                ),
                hint: Some(format!(
                    "shorten --since to read the whole window (the groups read start at {oldest})"
                )),
            });
        }
        let total = z
            .pointer("/total/0/count")
            .and_then(|c| c.as_u64())
            .unwrap_or(0);
        Ok(Some(convert::analytics(
            "cloudflare.analytics",
            "cloudflare:graphql httpRequestsAdaptiveGroups",
            &rows,
            total,
        )))
    }

    async fn evidence(&self, zone: &Zone, host: &str, w: Wave) -> Evidence {
        let mut ev = Evidence::new(subject(self.v));
        let mut sources = vec![format!("cloudflare:zones/{}", zone.id)];
        ev.add_item(
            "cloudflare.zone",
            "cloudflare:zones",
            format!(
                "zone {} (id {}) is {}{}, plan {}",
                zone.name,
                zone.id,
                if zone.status.is_empty() {
                    "-"
                } else {
                    &zone.status
                },
                if zone.paused {
                    ", paused (DNS only: Cloudflare does not proxy)"
                } else {
                    ""
                },
                if zone.plan.name.is_empty() {
                    "-"
                } else {
                    &zone.plan.name
                }
            ),
        );
        let zone_ssl = match w.ssl {
            Ok(s) => {
                sources.push("cloudflare:settings/ssl".to_owned());
                Some(s.text())
            }
            Err(g) => {
                ev.gaps.push(g);
                None
            }
        };
        let HostRead {
            rules,
            gaps: rule_gaps,
            read: rules_read,
        } = w.rules;
        ev.gaps.extend(rule_gaps);
        sources.extend(rules_read);
        // A Configuration Rule or Page Rule for this host outranks the zone's setting.
        let ssl = match &rules.ssl {
            Some(o) => {
                ev.add_item(
                    "cloudflare.ssl",
                    "cloudflare:rules",
                    format!(
                        "SSL/TLS encryption mode for {host}: {}, set by {} (per-host rules \
                         outrank the zone's setting, which is {})",
                        ssl_label(&o.value),
                        o.source,
                        zone_ssl.as_deref().map_or("not read".to_owned(), ssl_label)
                    ),
                );
                Some(o.value.clone())
            }
            None => {
                if let Some(v) = &zone_ssl {
                    ev.add_item(
                        "cloudflare.ssl",
                        "cloudflare:settings/ssl",
                        format!("SSL/TLS encryption mode: {}", ssl_label(v)),
                    );
                }
                zone_ssl.clone()
            }
        };
        if rules.origin.is_set() {
            ev.add_item(
                "cloudflare.origin_rule",
                "cloudflare:rulesets/http_request_origin",
                format!(
                    "{} appl{} to {host}: {}; Cloudflare connects to the origin so, and the \
                     checks from here do the same",
                    rules.origin.rules.join(", "),
                    if rules.origin.rules.len() == 1 {
                        "ies"
                    } else {
                        "y"
                    },
                    rules.origin.describe()
                ),
            );
        }
        for (i, r) in rules.workers.iter().enumerate() {
            ev.add_item(
                format!("cloudflare.worker.{i}"),
                "cloudflare:workers/routes",
                format!(
                    "Workers route {} runs Worker {} in front of {host}: the Worker answers \
                     the requests it matches, and its subrequests (fetch) reach the origin",
                    r.pattern, r.script
                ),
            );
        }
        for (i, u) in rules.unknown.iter().enumerate() {
            ev.add_item(
                format!("cloudflare.rules.unknown.{i}"),
                "cloudflare:rules",
                format!("{u}: whether it applies to {host} is not evaluated here"),
            );
            ev.gaps.push(Gap {
                scope: "cloudflare:rules".to_owned(),
                kind: GapKind::Other,
                message: format!(
                    "cannot tell whether a rule applies to {host}: {u} (only `true`, \
                     `http.host eq`, `http.host in` and simple URL patterns are evaluated)"
                ),
                hint: Some(
                    "check the rule in the dashboard (Rules > Overview, or Trace a request for \
                     the host): where it applies, Cloudflare uses its setting, not the one this \
                     report judges with"
                        .to_owned(),
                ),
            });
        }
        let prt = w.prt.map(|s| s.text());
        ev.add_item(
            "cloudflare.proxy_read_timeout",
            "cloudflare:settings/proxy_read_timeout",
            match &prt {
                Some(v) => format!("Proxy Read Timeout {v} s"),
                None => format!(
                    "Proxy Read Timeout: the default {} s (not readable: Enterprise only)",
                    convert::DEFAULT_PROXY_READ_TIMEOUT
                ),
            },
        );
        let records = match w.dns {
            Ok(r) => {
                sources.push("cloudflare:dns_records".to_owned());
                r.into_iter().filter(convert::is_origin_record).collect()
            }
            Err(g) => {
                ev.gaps.push(g);
                Vec::new()
            }
        };
        let (followed, follow_gaps) = w.followed;
        ev.gaps.extend(follow_gaps);
        for (i, r) in records.iter().enumerate() {
            ev.add_item(
                format!("cloudflare.dns.{i}"),
                "cloudflare:dns_records",
                format!(
                    "{} {} {} {}{}",
                    r.name,
                    r.kind,
                    r.content,
                    if r.proxied == Some(true) {
                        "proxied"
                    } else {
                        "DNS only (not proxied)"
                    },
                    if r.name.starts_with("*.") {
                        format!(" (wildcard: covers {host}, which has no record of its own)")
                    } else {
                        String::new()
                    }
                ),
            );
        }
        for (i, (from, r)) in followed.iter().enumerate() {
            ev.add_item(
                format!("cloudflare.dns.followed.{i}"),
                "cloudflare:dns_records",
                format!(
                    "{} {} {} (in the zone, reached from {from}'s CNAME; followed here, not \
                     through public DNS, which answers with Cloudflare's edge)",
                    r.name, r.kind, r.content
                ),
            );
        }
        let tunnels: Vec<(&str, String)> = records
            .iter()
            .chain(followed.iter().map(|(_, r)| r))
            .filter_map(|r| convert::tunnel_id(r).map(|id| (r.name.as_str(), id)))
            .collect();
        for (i, (name, id)) in tunnels.iter().enumerate() {
            ev.add_item(
                format!("cloudflare.tunnel.{i}"),
                "cloudflare:dns_records",
                format!(
                    "{name} is served through Cloudflare Tunnel {id} ({id}.cfargotunnel.com): \
                     cloudflared connects out to Cloudflare and reaches the service itself, so \
                     the tunnel name is not checked from here"
                ),
            );
        }
        let (lb, mut pools, health, monitors) = match w.lb {
            Ok(Some((lb, pools, health, (monitors, gaps)))) => {
                ev.gaps.extend(gaps);
                (Some(lb), pools, health, monitors)
            }
            Ok(None) => (None, Vec::new(), Vec::new(), Vec::new()),
            Err(g) => {
                ev.gaps.push(g);
                (None, Vec::new(), Vec::new(), Vec::new())
            }
        };
        for m in &monitors {
            ev.add_item(
                format!("cloudflare.monitor.{}", m.id),
                "cloudflare:load_balancers/monitors",
                format!(
                    "monitor {}{}: {}",
                    m.id,
                    if m.description.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", m.description)
                    },
                    m.describe()
                ),
            );
        }
        // The pool's monitor as the check it makes, so a pool finding names what it expects.
        for p in &mut pools {
            if let Some(m) = monitors
                .iter()
                .find(|m| Some(m.id.as_str()) == p.monitor.as_deref())
            {
                p.monitor = Some(format!("{}: {}", m.id, m.describe()));
            }
        }
        if let Some(lb) = &lb {
            sources.push("cloudflare:load_balancers".to_owned());
            ev.add_item(
                "cloudflare.lb.0",
                "cloudflare:load_balancers",
                format!(
                    "load balancer {} ({}), pools {}, fallback {}",
                    lb.name,
                    if lb.proxied == Some(true) {
                        "proxied"
                    } else {
                        "DNS only"
                    },
                    lb.default_pools
                        .iter()
                        .map(|id| convert::pool_name(&pools, id))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if lb.fallback_pool.is_empty() {
                        "-".to_owned()
                    } else {
                        convert::pool_name(&pools, &lb.fallback_pool)
                    }
                ),
            );
        }
        for p in &pools {
            let h = health.iter().find(|(id, _)| *id == p.id).map(|(_, h)| h);
            let read = match h {
                Some(Ok(h)) => Some(h.as_slice()),
                Some(Err(g)) => {
                    ev.gaps.push(g.clone());
                    None
                }
                None => None,
            };
            let targets = convert::pool_targets(p, read);
            ev.add_item(
                format!("cloudflare.pool.{}", p.name),
                "cloudflare:load_balancers/pools",
                pool_fact(p, &targets, read.is_some()),
            );
            ev.targets.extend(targets);
        }
        match w.checks {
            Ok(checks) => {
                // The zone's health checks cover every host of it; only those of this host (its
                // name, one of its origin addresses, or its name as the Host header) speak for it.
                let mut ours: Vec<String> = vec![convert::bare(host)];
                ours.extend(records.iter().map(|r| convert::bare(&r.content)));
                ours.extend(followed.iter().map(|(_, r)| convert::bare(&r.content)));
                ours.extend(
                    pools
                        .iter()
                        .flat_map(|p| p.origins.iter().map(|o| convert::bare(&o.address))),
                );
                ours.extend(self.v.origins.iter().map(|o| convert::bare(o)));
                let (checks, others): (Vec<Healthcheck>, Vec<Healthcheck>) =
                    checks.into_iter().partition(|hc| {
                        ours.contains(&convert::bare(&hc.address))
                            || hc
                                .http_config
                                .as_ref()
                                .and_then(|c| c.host())
                                .is_some_and(|h| convert::bare(h) == convert::bare(host))
                    });
                if !others.is_empty() {
                    ev.add_item(
                        "cloudflare.healthchecks.other",
                        "cloudflare:healthchecks",
                        format!(
                            "{} health check(s) of other hosts of the zone not counted for {host}: {}",
                            others.len(),
                            others
                                .iter()
                                .map(|h| format!("{} ({})", h.name, h.address))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                for hc in &checks {
                    let t = convert::healthcheck_target(hc);
                    ev.add_item(
                        format!("cloudflare.healthcheck.{}", hc.name),
                        "cloudflare:healthchecks",
                        format!(
                            "health check {} on {}: {}{}",
                            hc.name,
                            hc.address,
                            t.health.as_str(),
                            t.reason
                                .as_deref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        ),
                    );
                    ev.targets.push(t);
                }
            }
            Err(g) => ev.gaps.push(g),
        }
        match w.analytics {
            Ok(Some(summary)) => {
                ev.add_item(
                    "cloudflare.analytics",
                    "cloudflare:graphql",
                    analytics_fact(&summary, self.opts.since),
                );
                ev.logs.push(summary);
            }
            Ok(None) => {}
            Err(g) => ev.gaps.push(g),
        }
        ev.config = convert::config(&Read {
            zone: Some(zone),
            host,
            ssl: ssl.clone(),
            proxy_read_timeout: prt,
            records: &records,
            lb: lb.as_ref(),
            pools: &pools,
            sources,
        });
        if let Some(o) = &rules.ssl {
            ev.config.settings.push(cloud502_model::Setting {
                name: "ssl.source".to_owned(),
                value: o.source.clone(),
                location: None,
                default: false,
            });
            if let Some(z) = &zone_ssl {
                ev.config.settings.push(cloud502_model::Setting {
                    name: "ssl.zone".to_owned(),
                    value: z.clone(),
                    location: None,
                    default: false,
                });
            }
        }
        for r in &rules.workers {
            ev.config.settings.push(cloud502_model::Setting {
                name: "worker".to_owned(),
                value: format!("{} ({})", r.script, r.pattern),
                location: None,
                default: false,
            });
        }
        if let Some((_, id)) = tunnels.first() {
            ev.config.settings.push(cloud502_model::Setting {
                name: "tunnel".to_owned(),
                value: id.clone(),
                location: None,
                default: false,
            });
        }
        if self.opts.origin_checks {
            let mut candidates =
                self.candidates(&zone.name, &records, &followed, lb.as_ref(), &pools);
            if let (Some(target), true, None) = (
                rules.origin.origin_host.as_deref(),
                self.v.origins.is_empty(),
                lb.as_ref(),
            ) {
                candidates = self.origin_rule_target(zone, target, &rules.origin).await;
            }
            let route = CheckRoute::new(&rules.origin, ssl.as_deref());
            self.check_origins(host, candidates, &route, &mut ev).await;
        }
        // Lists and tables cut at a limit, recorded by the API client as they were read.
        ev.gaps.extend(self.api.take_cuts());
        ev
    }

    /// Without an API token: the `--origin` checks alone, and a gap saying what the API would
    /// have added. Nothing is sent to the API.
    pub async fn origins_only(&self, host: &str) -> Evidence {
        let mut ev = Evidence::new(subject(self.v));
        ev.config = convert::config(&Read {
            zone: None,
            host,
            ssl: None,
            proxy_read_timeout: None,
            records: &[],
            lb: None,
            pools: &[],
            sources: Vec::new(),
        });
        ev.add_item(
            "cloudflare.credential",
            "cloudflare:api",
            "no API token (CLOUDFLARE_API_TOKEN and CF_API_TOKEN unset): only the --origin \
             checks ran, from this machine; nothing was sent to the API",
        );
        ev.gaps.push(Gap {
            scope: "cloudflare:api".to_owned(),
            kind: GapKind::Permission,
            message: "no Cloudflare API token: the zone was not read, only the origin checks ran"
                .to_owned(),
            hint: Some(
                "export CLOUDFLARE_API_TOKEN (read permissions in docs/providers/cloudflare.md) \
                 to add the SSL mode (which port Cloudflare uses, so which check counts), the DNS \
                 records and pools (which origins), pool health and Health Checks, and the \
                 analytics split (whether visitors get a 52x at all, which outranks these checks)"
                    .to_owned(),
            ),
        });
        let candidates = self.candidates("", &[], &[], None, &[]);
        self.check_origins(host, candidates, &CheckRoute::default(), &mut ev)
            .await;
        ev.gaps.extend(self.api.take_cuts());
        ev
    }

    /// Where to check: `--origin`, else the load balancer's enabled origins, else the DNS records.
    fn candidates(
        &self,
        zone: &str,
        records: &[DnsRecord],
        followed: &[(String, DnsRecord)],
        lb: Option<&LoadBalancer>,
        pools: &[Pool],
    ) -> Vec<Candidate> {
        let mut out: Vec<Candidate> = Vec::new();
        let mut push = |address: &str, source: String| {
            if !address.is_empty() && !out.iter().any(|c| c.address.eq_ignore_ascii_case(address)) {
                out.push(Candidate {
                    address: address.to_ascii_lowercase(),
                    source,
                });
            }
        };
        if !self.v.origins.is_empty() {
            for o in &self.v.origins {
                push(o, "--origin".to_owned());
            }
        } else if lb.is_some() {
            // A disabled pool takes no traffic: its origins (often a placeholder 0.0.0.0) are
            // not Cloudflare's path and are not checked.
            for p in pools.iter().filter(|p| p.enabled != Some(false)) {
                for o in p.origins.iter().filter(|o| o.enabled != Some(false)) {
                    push(&o.address, format!("pool {} origin {}", p.name, o.name));
                }
            }
        } else {
            // A tunnel name is not an origin (cloudflared reaches the service), and a CNAME to
            // another host of the zone is replaced by what it leads to in the zone.
            for r in records {
                if convert::tunnel_id(r).is_some() {
                    continue;
                }
                let via: Vec<&DnsRecord> = followed
                    .iter()
                    .filter(|(from, _)| *from == r.name)
                    .map(|(_, f)| f)
                    .collect();
                if convert::in_zone_cname(r, zone) && !via.is_empty() {
                    for f in via.into_iter().filter(|f| {
                        convert::tunnel_id(f).is_none() && !convert::in_zone_cname(f, zone)
                    }) {
                        push(
                            &f.content,
                            format!(
                                "DNS record {} CNAME {}, {} {} in the zone",
                                r.name, f.name, f.name, f.kind
                            ),
                        );
                    }
                    continue;
                }
                push(&r.content, format!("DNS record {} {}", r.name, r.kind));
            }
        }
        if out.len() > MAX_ORIGINS {
            let unchecked: Vec<String> = out[MAX_ORIGINS..]
                .iter()
                .map(|c| c.address.clone())
                .collect();
            self.api.cut(Gap {
                scope: "cloudflare:origin-check".to_owned(),
                kind: GapKind::Truncated,
                message: format!(
                    "checked {MAX_ORIGINS} of {} origin addresses from this machine; not checked: {}",
                    out.len(),
                    unchecked.join(", ")
                ),
                hint: Some("check a given origin with --origin ADDR".to_owned()),
            });
            out.truncate(MAX_ORIGINS);
        }
        out
    }

    /// Where an Origin Rule's DNS target (`origin.host`, a record of the zone) leads: its records
    /// in the zone, read through the API (public DNS would answer with Cloudflare's edge).
    async fn origin_rule_target(
        &self,
        zone: &Zone,
        target: &str,
        route: &host_rules::OriginRoute,
    ) -> Vec<Candidate> {
        let source = format!("{} DNS target {target}", route.rules.join(", "));
        let in_zone = convert::bare(target) == convert::bare(&zone.name)
            || convert::bare(target).ends_with(&format!(".{}", convert::bare(&zone.name)));
        if in_zone {
            let path = format!("/zones/{}/dns_records?name={}", zone.id, encode(target));
            if let Ok(found) = self.api.get_all::<DnsRecord>(&path, permissions::DNS).await {
                let out: Vec<Candidate> = found
                    .iter()
                    .filter(|r| convert::is_origin_record(r) && convert::tunnel_id(r).is_none())
                    .map(|r| Candidate {
                        address: r.content.to_ascii_lowercase(),
                        source: format!("{source}, {} {} in the zone", r.name, r.kind),
                    })
                    .collect();
                if !out.is_empty() {
                    return out;
                }
            }
        }
        vec![Candidate {
            address: target.to_ascii_lowercase(),
            source,
        }]
    }

    async fn check_origins(
        &self,
        host: &str,
        candidates: Vec<Candidate>,
        route: &CheckRoute,
        ev: &mut Evidence,
    ) {
        if candidates.is_empty() {
            return;
        }
        self.cx.progress.message(&format!(
            "checking {} origin address(es) directly",
            candidates.len()
        ));
        // An Origin Rule's port replaces the port of the scheme Cloudflare uses (the SSL mode's).
        let (mut http_port, mut https_port) = (self.opts.http_port, self.opts.https_port);
        if let Some(p) = route.port {
            if route.plain {
                http_port = p;
            } else {
                https_port = p;
            }
        }
        let opts = CheckOptions {
            host: host.to_owned(),
            http_port,
            https_port,
            timeout: self.opts.origin_timeout,
            ca_files: self.opts.ca_files.clone(),
            host_header: route.host_header.clone(),
            sni: route.sni.clone(),
        };
        let resolved = futures_util::future::join_all(candidates.iter().map(|c| {
            origin::resolve(
                &c.address,
                self.opts.origin_timeout.min(Duration::from_secs(5)),
            )
        }))
        .await;
        let mut jobs: Vec<(String, std::net::IpAddr, ProbeScheme, String)> = Vec::new();
        let mut probes: Vec<Probe> = Vec::new();
        let mut skipped = 0;
        let mut next = 0;
        for (c, r) in candidates.iter().zip(resolved) {
            match r {
                Resolved::Failed(message) => {
                    let id = format!("upstream.{next}");
                    next += 1;
                    ev.add_item(
                        format!("{id}.origin"),
                        "cloudflare:origin-check",
                        format!("origin {} (from {}): {message}", c.address, c.source),
                    );
                    probes.push(origin::unresolved(&id, &opts, &c.address, message));
                }
                Resolved::Ips(ips) => {
                    for ip in ips {
                        if origin::is_forbidden(ip) {
                            ev.add_item(
                                format!("cloudflare.origin.skipped.{skipped}"),
                                "cloudflare:origin-check",
                                format!(
                                    "origin {ip} (from {}) not checked: a link-local or cloud \
                                     metadata address is never probed",
                                    c.source
                                ),
                            );
                            skipped += 1;
                            continue;
                        }
                        if origin::is_private(ip) && !self.opts.allow_private {
                            ev.add_item(
                                format!("cloudflare.origin.skipped.{skipped}"),
                                "cloudflare:origin-check",
                                format!(
                                    "origin {ip} (from {}) not checked: a loopback or private \
                                     address (pass --allow-private to check it)",
                                    c.source
                                ),
                            );
                            skipped += 1;
                            continue;
                        }
                        let via = if c.address == ip.to_string() {
                            String::new()
                        } else {
                            format!(" = {}", c.address)
                        };
                        for scheme in [ProbeScheme::Http, ProbeScheme::Https] {
                            let id = format!("upstream.{next}");
                            next += 1;
                            let port = if scheme == ProbeScheme::Https {
                                opts.https_port
                            } else {
                                opts.http_port
                            };
                            let fact = format!(
                                "origin {ip}{via} (from {}), checked over {} on port {port} with {}{}",
                                c.source,
                                if scheme == ProbeScheme::Https {
                                    "https"
                                } else {
                                    "http"
                                },
                                opts.what(),
                                if route.port.is_some()
                                    || route.host_header.is_some()
                                    || route.sni.is_some()
                                {
                                    " (as the Origin Rule sets)"
                                } else {
                                    ""
                                }
                            );
                            jobs.push((id, ip, scheme, fact));
                        }
                    }
                }
            }
        }
        let checked = futures_util::future::join_all(
            jobs.iter()
                .map(|(id, ip, scheme, _)| origin::check(*ip, *scheme, &opts, id)),
        )
        .await;
        for ((id, _, _, fact), p) in jobs.into_iter().zip(checked) {
            ev.add_item(format!("{id}.origin"), "cloudflare:origin-check", fact);
            probes.push(p);
        }
        probes.sort_by_key(|p| {
            p.id.rsplit('.')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(u32::MAX)
        });
        for p in &probes {
            cloud502_probe::describe(p, ev);
        }
        ev.probes.extend(probes);
    }
}

/// What the origin checks take from the Origin Rules that apply: Host header, SNI, and the port
/// of the scheme Cloudflare uses (`plain`: the SSL mode is off or flexible, so HTTP).
#[derive(Debug, Clone, Default)]
struct CheckRoute {
    host_header: Option<String>,
    sni: Option<String>,
    port: Option<u16>,
    plain: bool,
}

impl CheckRoute {
    fn new(o: &host_rules::OriginRoute, ssl: Option<&str>) -> Self {
        CheckRoute {
            host_header: o.host_header.clone(),
            // Overriding the Host header changes the SNI too, unless an SNI is set.
            sni: o.sni.clone().or_else(|| o.host_header.clone()),
            port: o.port,
            plain: matches!(ssl, Some("off" | "flexible")),
        }
    }
}

/// The most groups one analytics query returns (`limit` in [`ANALYTICS_QUERY`]).
const ANALYTICS_GROUP_LIMIT: usize = 5000;

/// Cloudflare's GraphQL query: the 5xx split by edge and origin status, colo and minute, and the
/// total, over the window, for one host (KB 3.2 [C16][C21]).
pub const ANALYTICS_QUERY: &str = "query Cloud502($zoneTag: string, $filter: ZoneHttpRequestsAdaptiveGroupsFilter_InputObject, $errors: ZoneHttpRequestsAdaptiveGroupsFilter_InputObject) {
  viewer {
    zones(filter: {zoneTag: $zoneTag}) {
      total: httpRequestsAdaptiveGroups(limit: 1, filter: $filter) { count }
      requests: httpRequestsAdaptiveGroups(limit: 5000, filter: $errors, orderBy: [datetimeMinute_DESC]) {
        count
        dimensions { edgeResponseStatus originResponseStatus coloCode datetimeMinute }
      }
    }
  }
}";

fn ssl_label(v: &str) -> String {
    match v {
        "off" => "off (no HTTPS)".to_owned(),
        "flexible" => {
            "flexible (HTTPS to visitors, plain HTTP to the origin on port 80)".to_owned()
        }
        "full" => "full (HTTPS to the origin on 443, certificate not validated)".to_owned(),
        "strict" => "full (strict) (HTTPS to the origin on 443, certificate validated)".to_owned(),
        other => other.to_owned(),
    }
}

fn pool_fact(p: &Pool, targets: &[Target], read: bool) -> String {
    use cloud502_model::HealthState as H;
    let unhealthy: Vec<String> = targets
        .iter()
        .filter(|t| t.health == H::Unhealthy)
        .map(|t| {
            format!(
                "{} ({})",
                t.address.as_deref().unwrap_or(&t.id),
                t.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    let healthy = targets.iter().filter(|t| t.health == H::Healthy).count();
    let state = match p.enabled {
        Some(false) => " (disabled)",
        _ => "",
    };
    if !read {
        return format!(
            "pool {}{state}: {} origins, health not read",
            p.name,
            targets.len()
        );
    }
    if unhealthy.is_empty() && healthy == 0 && !targets.is_empty() {
        // An empty `pop_health` (no monitor, or no results yet): nothing is known, and nothing
        // is counted healthy.
        return format!(
            "pool {}{state}: {} origins, health not reported (pool health lists no origin: no \
             monitor results)",
            p.name,
            targets.len()
        );
    }
    if unhealthy.is_empty() {
        format!(
            "pool {}{state}: {healthy} of {} origins healthy",
            p.name,
            targets.len()
        )
    } else {
        format!(
            "pool {}{state}: {healthy} of {} origins healthy; unhealthy: {}{}",
            p.name,
            targets.len(),
            unhealthy.join(", "),
            p.monitor
                .as_deref()
                .filter(|m| m.contains(':'))
                .map(|m| format!("; its monitor {m}"))
                .unwrap_or_default()
        )
    }
}

fn analytics_fact(s: &LogSummary, since: Duration) -> String {
    use cloud502_model::LogClass as C;
    let edge = s.count_of(C::EdgeError);
    let origin: u64 = s
        .groups
        .iter()
        .filter(|g| g.class != C::EdgeError && g.class != C::Status499)
        .map(|g| g.count)
        .sum();
    let top: Vec<String> = s
        .counts
        .iter()
        .take(6)
        .map(|c| format!("{} x{}", c.key, c.count))
        .collect();
    format!(
        "{} requests in the last {}; 5xx made by Cloudflare's edge (OriginResponseStatus 0 or 52x): {edge}; \
         5xx returned by the origin: {origin}; by status: {}",
        s.lines,
        human(since),
        if top.is_empty() {
            "none".to_owned()
        } else {
            top.join(", ")
        }
    )
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s % 86_400 == 0 {
        format!("{} d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Percent-encode a query value (host and zone names need only a few escapes).
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A failed call as a gap, with the fix.
/// Whether a 9109 is the token's Client IP Address Filtering ("Cannot use the access token
/// from location: ADDR", jeessy2/ddns-go#1341) rather than an invalid token.
fn is_location(message: &str) -> bool {
    message.to_ascii_lowercase().contains("from location")
}

/// The v4 error code of a failed call, 0 when it has none.
fn e_code(e: &ApiError) -> i64 {
    match e {
        ApiError::Status { code, .. } => *code,
        _ => 0,
    }
}

/// The fix for a token Cloudflare could not read (6003, 6111, 61xx: a malformed token or
/// header) or does not accept from this address (9109, KB 9.3).
fn token_hint(var: &str, code: i64) -> String {
    if code == 9109 {
        format!(
            "the token in {var} does not accept requests from this machine's address: allow \
             this address in the token's Client IP Address Filtering, or run from an allowed \
             address"
        )
    } else {
        format!(
            "check {var}: it must hold the API token itself (about 40 characters), without \
             \"Bearer \", quotes, spaces or a newline; a Global API Key is not an API token"
        )
    }
}

/// A failed analytics query as a gap. GraphQL's quota (300 queries per 5 minutes) is its own:
/// a 429 or a "rate limiter budget depleted" there says to wait, and stops no REST call.
fn analytics_gap(e: &ApiError) -> Gap {
    let throttled = match e {
        ApiError::Throttled { .. } => true,
        ApiError::GraphQl { message, .. } => {
            let m = message.to_ascii_lowercase();
            m.contains("budget depleted") || m.contains("rate limit") || m.contains("too many")
        }
        _ => false,
    };
    if throttled {
        return Gap {
            scope: "cloudflare:analytics".to_owned(),
            kind: GapKind::Throttled,
            message: e.to_string(),
            hint: Some(
                "GraphQL's own quota (300 queries per 5 minutes per user) is spent: run again \
                 in 5 minutes for the analytics; the REST calls were not affected"
                    .to_owned(),
            ),
        };
    }
    gap("cloudflare:analytics", e, permissions::ANALYTICS)
}

pub(crate) fn gap(scope: &str, e: &ApiError, permission: &str) -> Gap {
    let (kind, hint) = match e {
        ApiError::Status {
            code: code @ (9109 | 6003 | 6111 | 6100..=6103),
            message,
            ..
        } if *code != 9109 || is_location(message) => (
            GapKind::Permission,
            Some(token_hint("CLOUDFLARE_API_TOKEN (or CF_API_TOKEN)", *code)),
        ),
        _ if e.is_auth() => (
            GapKind::Permission,
            Some(format!("give the API token {permission}")),
        ),
        ApiError::Throttled { .. } => (
            GapKind::Throttled,
            Some(
                "Cloudflare blocks every API call of this user for 5 minutes after a 429: wait, \
                 then run again; spread scheduled runs or lower --max-requests"
                    .to_owned(),
            ),
        ),
        ApiError::Budget { .. } => (
            GapKind::Other,
            Some(
                "raise --max-requests (Cloudflare allows 1200 requests per 5 minutes per user)"
                    .to_owned(),
            ),
        ),
        ApiError::Spent(_) => (
            GapKind::Other,
            Some("raise the audit's [budget] cloudflare in audit.toml".to_owned()),
        ),
        ApiError::Timeout { .. } => (GapKind::Timeout, Some("raise --timeout".to_owned())),
        ApiError::Unreachable(_) => (
            GapKind::Unreachable,
            Some("check network access to the API (or --api-base)".to_owned()),
        ),
        ApiError::Status { status: 404, .. } => (GapKind::NotFound, None),
        ApiError::Invalid(_) => (GapKind::InvalidInput, None),
        ApiError::GraphQl { .. } => (
            GapKind::Other,
            Some("shorten --since: the zone's plan limits how far back analytics go".to_owned()),
        ),
        ApiError::Status { .. } => (GapKind::Other, None),
    };
    Gap {
        scope: scope.to_owned(),
        kind,
        message: e.to_string(),
        hint,
    }
}
