//! A provider of your own, built only on the public `cloud502` library: "Acme Edge", a made-up
//! in-house gateway, with one rule and one finding code of its own registered at run time.
//!
//! Acme Edge stands for the gateway an internal platform runs: nginx inside, its own admin API
//! outside. Its provider feeds cloud502 evidence the built-in rules already understand (its
//! error.log, read in the nginx error dialect, and its pool members as targets) and adds what
//! only it knows: a pool whose members are all draining, which the built-in rules cannot judge.
//! docs/extending.md walks through the same steps.

use cloud502::collect::describe::describe;
use cloud502::collect::{
    CollectCx, Common, Provider, ProviderArgs, ProviderError, async_trait, limits,
};
use cloud502::logs::{FormatChoice, Options as LogOptions, summarize_path};
use cloud502::model::{
    Confidence, Evidence, Finding, FindingCode, Gap, GapKind, HealthState, Layer, NameError,
    ProviderKind, Remediation, Risk, Severity, Subject, Target, TimeRange,
};
use cloud502::{CustomRule, RunOptions};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The provider's name in reports (`"kind": "acme-edge"`).
pub const KIND: &str = "acme-edge";
/// The code of this example's own rule.
pub const POOL_DRAINED: &str = "acme-pool-drained";

/// The kind every Acme Edge report carries (checked at compile time).
pub const ACME_KIND: ProviderKind = ProviderKind::declared(KIND);
/// The layer its findings blame: the gateway itself.
pub const ACME_LAYER: Layer = Layer::declared(KIND);

/// The `acme-pool-drained` code, registered with its summary and page (what `cloud502 explain`
/// would print).
pub fn pool_drained() -> Result<FindingCode, NameError> {
    FindingCode::register(
        POOL_DRAINED,
        "every member of an Acme Edge pool is draining or down, so the gateway has no upstream and answers 502",
        include_str!("../docs/acme-pool-drained.md"),
    )
}

/// Run options with this example's rule added.
pub fn run_options() -> Result<RunOptions, NameError> {
    Ok(RunOptions {
        rules: vec![Arc::new(PoolDrained::new()?)],
        ..RunOptions::default()
    })
}

/// What to read: the gateway's status (as its admin API `GET /status` returns it, saved to a
/// file) and its error.log.
#[derive(Debug, Clone)]
pub struct AcmeEdge {
    /// The status document.
    pub status: PathBuf,
    /// The gateway's error.log (nginx's format).
    pub error_log: Option<PathBuf>,
}

impl AcmeEdge {
    /// A provider over these files.
    pub fn new(status: PathBuf, error_log: Option<PathBuf>) -> Self {
        AcmeEdge { status, error_log }
    }
}

/// Its options, declared once: `clap` flags for a command line of your own and the keys of an
/// audit file's `[[subject]]` with `provider = "acme-edge"` (field names are the keys).
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeEdgeArgs {
    /// The saved status document (`GET /status` of the gateway's admin API).
    #[arg(long, value_name = "PATH")]
    pub status: PathBuf,
    /// The gateway's error.log.
    #[arg(long, value_name = "PATH")]
    pub error_log: Option<PathBuf>,
}

impl ProviderArgs for AcmeEdgeArgs {
    const NAME: &'static str = KIND;
    const KIND: ProviderKind = ACME_KIND;
    const LAYER: Layer = ACME_LAYER;
    type Options = AcmeEdge;

    fn into_options(self, common: &Common) -> Result<AcmeEdge, ProviderError> {
        // Relative paths in an audit file are relative to the file.
        Ok(AcmeEdge::new(
            common.path(self.status),
            self.error_log.map(|p| common.path(p)),
        ))
    }

    fn provider(options: AcmeEdge) -> Result<Box<dyn Provider>, ProviderError> {
        Ok(Box::new(options))
    }

    fn deadline(_: &AcmeEdge) -> Duration {
        Duration::from_secs(30)
    }
}

/// The status document of the made-up admin API (this project's own invention: no public
/// product has this shape).
#[derive(Debug, Deserialize)]
struct Status {
    gateway: String,
    pools: Vec<StatusPool>,
}

#[derive(Debug, Deserialize)]
struct StatusPool {
    name: String,
    members: Vec<Member>,
}

#[derive(Debug, Deserialize)]
struct Member {
    address: String,
    port: u16,
    state: String,
}

/// The admin API's member states, as cloud502's shared health states. An unknown state is
/// `Unknown`, never `Healthy`.
fn health(state: &str) -> HealthState {
    match state {
        "serving" => HealthState::Healthy,
        "draining" => HealthState::Draining,
        "down" => HealthState::Unhealthy,
        "starting" => HealthState::Initial,
        _ => HealthState::Unknown,
    }
}

/// A gap for a source that could not be used; the rest of the report still stands (exit 3).
fn gap(scope: &str, kind: GapKind, message: String, hint: &str) -> Gap {
    Gap {
        scope: scope.to_owned(),
        kind,
        message,
        hint: Some(hint.to_owned()),
    }
}

#[async_trait]
impl Provider for AcmeEdge {
    fn kind(&self) -> ProviderKind {
        ACME_KIND
    }

    fn subject(&self) -> Subject {
        Subject {
            kind: ACME_KIND,
            id: self.status.display().to_string(),
        }
    }

    async fn collect(&self, _cx: &CollectCx) -> Result<Evidence, ProviderError> {
        let mut ev = Evidence::new(self.subject());
        // Every read is bounded: a status document is small, so a huge one is a mistake.
        let status = limits::read_capped(
            &self.status,
            limits::MAX_SMALL_FILE_BYTES,
            "an Acme Edge status document",
        );
        match status.map(|b| serde_json::from_slice::<Status>(&b)) {
            Ok(Ok(status)) => {
                for pool in status.pools {
                    for m in pool.members {
                        ev.targets.push(Target {
                            id: format!("{}/{}:{}", status.gateway, m.address, m.port),
                            address: Some(m.address),
                            port: Some(m.port),
                            group: Some(pool.name.clone()),
                            health: health(&m.state),
                            reason: Some(m.state),
                            detail: None,
                        });
                    }
                }
            }
            Ok(Err(e)) => ev.gaps.push(gap(
                "acme-status",
                GapKind::InvalidInput,
                format!(
                    "{} is not an Acme Edge status document: {e}",
                    self.status.display()
                ),
                "save it with `curl -s http://<gateway>:9000/status`",
            )),
            Err(e) => ev.gaps.push(gap(
                "acme-status",
                GapKind::NotFound,
                format!("cannot read {}: {e}", self.status.display()),
                "check the path",
            )),
        }
        if let Some(path) = &self.error_log {
            // The built-in nginx error.log reader: its groups are what the nginx rules judge.
            match summarize_path(
                path,
                "acme.error",
                FormatChoice::NginxError,
                &[],
                &LogOptions::default(),
                &mut |_| {},
            ) {
                Ok(summary) => ev.logs.push(summary),
                Err(e) => ev.gaps.push(gap(
                    "acme-logs",
                    GapKind::NotFound,
                    format!("cannot read {}: {e}", path.display()),
                    "check the path",
                )),
            }
        }
        if ev.targets.is_empty() && ev.logs.is_empty() {
            return Err(ProviderError::Unavailable {
                message: "nothing could be read from the Acme Edge status or error.log".to_owned(),
                hint: Some("check the paths".to_owned()),
            });
        }
        // One evidence item per target and log group, so findings can cite them.
        describe(&mut ev);
        Ok(ev)
    }
}

/// The rule: a pool with members, none of them serving and at least one draining.
#[derive(Debug)]
pub struct PoolDrained {
    code: FindingCode,
}

impl PoolDrained {
    /// The rule, with its code registered.
    pub fn new() -> Result<Self, NameError> {
        Ok(PoolDrained {
            code: pool_drained()?,
        })
    }
}

impl CustomRule for PoolDrained {
    fn name(&self) -> &str {
        "acme_pool_drained"
    }

    fn codes(&self) -> Vec<FindingCode> {
        vec![self.code]
    }

    fn check(&self, ev: &Evidence, out: &mut Vec<Finding>) {
        if ev.subject.kind.as_str() != KIND {
            return;
        }
        let mut pools: Vec<&str> = ev
            .targets
            .iter()
            .filter_map(|t| t.group.as_deref())
            .collect();
        pools.dedup();
        for pool in pools {
            // Evidence ids are the targets' positions (`target.N`), as describe() named them.
            let members: Vec<(usize, &Target)> = ev
                .targets
                .iter()
                .enumerate()
                .filter(|(_, t)| t.group.as_deref() == Some(pool))
                .collect();
            let serving = members
                .iter()
                .any(|(_, t)| t.health == HealthState::Healthy);
            let draining = members
                .iter()
                .filter(|(_, t)| t.health == HealthState::Draining)
                .count();
            if serving || draining == 0 {
                continue;
            }
            out.push(Finding {
                code: self.code,
                severity: Severity::Critical,
                confidence: Confidence::High,
                layer: Some(ACME_LAYER),
                title: format!("Acme Edge pool `{pool}` has no serving member: {draining} of {} draining", members.len()),
                explanation: format!(
                    "The gateway's status lists {} member(s) in pool `{pool}` and none is serving, so every request routed to it gets the gateway's own 502.",
                    members.len()
                ),
                evidence: members
                    .iter()
                    .map(|(i, _)| cloud502::collect::describe::target_id(*i))
                    .collect(),
                locations: Vec::new(),
                disproved_by: "a member of the pool shows `serving` in a fresh `GET /status`".to_owned(),
                remediation: vec![Remediation {
                    step: format!("Finish or cancel the drain of pool `{pool}` so at least one member serves"),
                    command: Some(format!("acmectl pool undrain {pool}")),
                    expected_time: TimeRange {
                        min_minutes: 1,
                        max_minutes: 5,
                    },
                    risk: Risk::Medium,
                }],
                next_command: None,
            });
        }
    }
}
