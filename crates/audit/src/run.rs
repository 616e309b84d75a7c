//! Running an audit: the selected subjects concurrently under a global limit, each with its own
//! deadline, every provider's API requests drawn from one budget; then the roll-up.

use crate::config::{AuditFile, SubjectSpec};
use cloud502_diagnose::{CollectCx, NoProgress, Provider, RequestBudget, RunOptions};
use cloud502_model::{
    AuditReport, Evidence, FailOn, FindingCode, Gap, GapKind, ProviderKind, RequestCount, Severity,
    Shard, Subject, SubjectRun, ToolInfo,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OnceCell, Semaphore};

/// Told about each subject as it finishes (the CLI prints a line on stderr).
pub trait AuditProgress: Send + Sync + std::fmt::Debug {
    /// `run` finished; `done` of `total` subjects are finished.
    fn finished(&self, run: &SubjectRun, done: usize, total: usize);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl AuditProgress for Silent {
    fn finished(&self, _run: &SubjectRun, _done: usize, _total: usize) {}
}

/// How to run an audit: command-line choices over the file's.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Subjects at once (else the file's, else 8).
    pub concurrency: Option<usize>,
    /// Threshold for every subject (else the subject's, else the file's, else warning).
    pub fail_on: Option<FailOn>,
    /// Severity overrides (`--severity CODE=LEVEL`).
    pub severity_overrides: BTreeMap<FindingCode, Severity>,
    /// Run only this shard of the subjects.
    pub shard: Option<Shard>,
    /// Run only these subjects (names); empty for all.
    pub only: Vec<String>,
    /// Offset of nginx error.log timestamps (read at startup, before threads exist).
    pub local_offset: time::UtcOffset,
    /// Where finished subjects are told.
    pub progress: Arc<dyn AuditProgress>,
    /// Rules of your own, run on every subject after the built-in ones.
    pub rules: Vec<Arc<dyn cloud502_diagnose::CustomRule>>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            concurrency: None,
            fail_on: None,
            severity_overrides: BTreeMap::new(),
            shard: None,
            only: Vec::new(),
            local_offset: time::UtcOffset::UTC,
            progress: Arc::new(Silent),
            rules: Vec::new(),
        }
    }
}

/// Parse `I/N` (`--shard`): I from 0 to N-1.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("--shard `{s}` is not I/N with 0 <= I < N, like 0/4");
    let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
    let index: u32 = i.trim().parse().map_err(|_| bad())?;
    let count: u32 = n.trim().parse().map_err(|_| bad())?;
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// The subjects a run covers, in file order: subject k (from 0, in file order) belongs to shard
/// k mod N, so every copy of a sharded job agrees without talking to the others; then `only`.
/// Unknown names in `only` are returned as the error.
pub fn select<'a>(
    file: &'a AuditFile,
    shard: Option<Shard>,
    only: &[String],
) -> Result<Vec<&'a SubjectSpec>, Vec<String>> {
    // Sets, so that a job listing thousands of subjects with --only stays linear.
    let names: std::collections::HashSet<&str> =
        file.subjects.iter().map(|s| s.name.as_str()).collect();
    let unknown: Vec<String> = only
        .iter()
        .filter(|n| !names.contains(n.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let only: std::collections::HashSet<&str> = only.iter().map(String::as_str).collect();
    Ok(file
        .subjects
        .iter()
        .enumerate()
        .filter(|(k, _)| shard.is_none_or(|s| *k as u64 % u64::from(s.count) == u64::from(s.index)))
        .map(|(_, s)| s)
        .filter(|s| only.is_empty() || only.contains(s.name.as_str()))
        .collect())
}

/// AWS clients shared by every subject that points at the same region, profile, endpoint and
/// timeout: one credential resolution and one connection pool instead of one per target group, and
/// one set of per-load-balancer and per-VPC facts ([`cloud502_aws::Facts`]): the clients are told
/// which target groups the run will inspect through them, and read those together.
#[derive(Debug, Default)]
struct AwsClients {
    cells: Mutex<HashMap<String, Arc<ClientsCell>>>,
    fleets: HashMap<String, Vec<cloud502_aws::FleetMember>>,
}

fn clients_key(opts: &cloud502_aws::ClientOptions) -> String {
    format!(
        "{:?}|{:?}|{:?}|{}",
        opts.region,
        opts.profile,
        opts.endpoint_url,
        opts.call_timeout.as_millis()
    )
}

/// Clients loaded once, or why they could not be.
type ClientsCell = OnceCell<Result<cloud502_aws::Clients, Gap>>;

impl AwsClients {
    async fn get(&self, opts: &cloud502_aws::ClientOptions) -> Result<cloud502_aws::Clients, Gap> {
        let key = clients_key(opts);
        let cell = match self.cells.lock() {
            Ok(mut cells) => cells.entry(key.clone()).or_default().clone(),
            Err(_) => Arc::new(OnceCell::new()),
        };
        cell.get_or_init(|| async {
            let clients = cloud502_aws::Clients::load(opts, cloud502_aws::CallLog::default())
                .await
                .map_err(|e| cloud502_diagnose::ProviderError::from(e).to_gap("aws-alb"))?;
            if let Some(fleet) = self.fleets.get(&key) {
                clients.facts.expect(fleet.iter().cloned());
            }
            Ok(clients)
        })
        .await
        .clone()
    }
}

/// What the subjects of one run share.
#[derive(Debug)]
struct Shared {
    budgets: HashMap<ProviderKind, Arc<RequestBudget>>,
    aws: AwsClients,
    severity_overrides: BTreeMap<FindingCode, Severity>,
    rules: Vec<Arc<dyn cloud502_diagnose::CustomRule>>,
    local_offset: time::UtcOffset,
    generated_at: String,
}

/// Run the audit: the selected subjects, at most `concurrency` at once, each within its deadline.
/// Never fails: a subject that cannot be inspected is a report with a gap saying why.
pub async fn run(file: &AuditFile, subjects: &[&SubjectSpec], opts: &AuditOptions) -> AuditReport {
    let started = Instant::now();
    let generated_at = crate::now_rfc3339();
    let concurrency = opts.concurrency.unwrap_or(file.concurrency).max(1);
    let default_fail_on = opts.fail_on.or(file.fail_on).unwrap_or_default();
    // Every provider gets a budget, unlimited when the file sets none: it is also the count of
    // requests sent.
    let mut budgets = HashMap::new();
    for s in subjects {
        let kind = s.spec.kind();
        budgets
            .entry(kind)
            .or_insert_with(|| RequestBudget::new(file.budget(kind).unwrap_or(u64::MAX)));
    }
    // The AWS target groups of this run, by the clients they will share.
    let mut aws = AwsClients::default();
    for s in subjects {
        if let Some(Ok(options)) = s.spec.options::<cloud502_aws::AwsArgs>()
            && let Ok(p) = cloud502_aws::AwsProvider::new(options)
            && let Some(member) = p.fleet_member()
        {
            aws.fleets
                .entry(clients_key(&p.client_options()))
                .or_default()
                .push(member);
        }
    }
    let shared = Arc::new(Shared {
        budgets,
        aws,
        severity_overrides: opts.severity_overrides.clone(),
        rules: opts.rules.clone(),
        local_offset: opts.local_offset,
        generated_at: generated_at.clone(),
    });
    // The flag wins, then the subject's own threshold, then the file's.
    let fail_on_of = |spec: &SubjectSpec| opts.fail_on.or(spec.fail_on).unwrap_or(default_fail_on);
    let semaphore = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let mut ids = HashMap::new();
    for (index, spec) in subjects.iter().enumerate() {
        let spec = (*spec).clone();
        let shared = shared.clone();
        let semaphore = semaphore.clone();
        let fail_on = fail_on_of(&spec);
        let handle = tasks.spawn(async move {
            // The semaphore is never closed; a failed acquire only means run without a slot.
            let _permit = semaphore.acquire_owned().await.ok();
            let t0 = Instant::now();
            let report = run_subject(&spec, &shared, fail_on).await;
            (
                index,
                SubjectRun {
                    name: spec.name.clone(),
                    provider: spec.spec.kind(),
                    report,
                    duration_ms: ms(t0.elapsed()),
                },
            )
        });
        ids.insert(handle.id(), index);
    }
    let total = subjects.len();
    let mut runs: Vec<Option<SubjectRun>> = vec![None; total];
    let mut done = 0;
    while let Some(joined) = tasks.join_next_with_id().await {
        let (index, run) = match joined {
            Ok((_, (index, run))) => (index, run),
            Err(e) => {
                // A panic in one subject is that subject's gap, not the audit's end.
                let Some(&index) = ids.get(&e.id()) else {
                    continue;
                };
                let spec = subjects[index];
                let gap = Gap {
                    scope: spec.spec.kind().as_str().to_owned(),
                    kind: GapKind::Other,
                    message: format!("internal error while inspecting this subject: {e}"),
                    hint: Some("please report this with the subject's options".to_owned()),
                };
                let report = failed(spec, &shared, fail_on_of(spec), gap);
                (
                    index,
                    SubjectRun {
                        name: spec.name.clone(),
                        provider: spec.spec.kind(),
                        report,
                        duration_ms: 0.0,
                    },
                )
            }
        };
        done += 1;
        opts.progress.finished(&run, done, total);
        runs[index] = Some(run);
    }
    let runs: Vec<SubjectRun> = runs.into_iter().flatten().collect();
    let mut requests: Vec<RequestCount> = shared
        .budgets
        .iter()
        .filter(|(kind, _)| file.budget_key(**kind).is_some())
        .map(|(kind, b)| RequestCount {
            provider: *kind,
            sent: b.used(),
            budget: file.budget(*kind),
        })
        .collect();
    requests.sort_by_key(|r| r.provider.as_str());
    let rollup = cloud502_diagnose::outcome::rollup(&runs, default_fail_on, requests);
    AuditReport {
        schema_version: cloud502_model::SCHEMA_VERSION,
        tool: ToolInfo {
            name: "cloud502".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        generated_at,
        config: file.path.display().to_string(),
        shard: opts.shard,
        rollup,
        subjects: runs,
        duration_ms: ms(started.elapsed()),
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The subject a spec names, as its provider names it, for reports of subjects that never
/// started (the spec was validated when the file was read, so the provider builds).
fn subject_of(spec: &SubjectSpec, shared: &Shared) -> Subject {
    match construct(spec, shared) {
        Ok(Ready::Aws(p)) => p.subject(),
        Ok(Ready::Other(p)) => p.subject(),
        Err(_) => Subject {
            kind: spec.spec.kind(),
            id: spec.name.clone(),
        },
    }
}

/// The report of a subject that could not be inspected: no findings, one gap, exit 4.
fn failed(
    spec: &SubjectSpec,
    shared: &Shared,
    fail_on: FailOn,
    gap: Gap,
) -> cloud502_model::Report {
    let mut evidence = Evidence::new(subject_of(spec, shared));
    evidence.gaps.push(gap);
    let opts = RunOptions {
        fail_on,
        severity_overrides: shared.severity_overrides.clone(),
        rules: shared.rules.clone(),
    };
    cloud502_diagnose::build_report(evidence, &opts, shared.generated_at.clone())
}

async fn run_subject(
    spec: &SubjectSpec,
    shared: &Shared,
    fail_on: FailOn,
) -> cloud502_model::Report {
    let kind = spec.spec.kind();
    let cx = CollectCx {
        deadline: spec.deadline,
        progress: Arc::new(NoProgress),
        budget: shared.budgets.get(&kind).cloned(),
    };
    let opts = RunOptions {
        fail_on,
        severity_overrides: shared.severity_overrides.clone(),
        rules: shared.rules.clone(),
    };
    let provider: Box<dyn Provider> = match build(spec, shared).await {
        Ok(p) => p,
        Err(gap) => return failed(spec, shared, fail_on, gap),
    };
    match cloud502_diagnose::run(provider.as_ref(), &cx, &opts).await {
        Ok(report) => report,
        // A usage error found only at run time (the target group does not exist): this subject
        // is not inspected; the others go on.
        Err(e) => failed(spec, shared, fail_on, {
            let mut gap = e.to_gap(kind.as_str());
            if gap.message.contains("not found") || gap.message.contains("does not exist") {
                gap.kind = GapKind::NotFound;
            }
            gap
        }),
    }
}

/// A spec's provider, ready to collect, except that AWS clients are attached by [`build`].
enum Ready {
    Aws(Box<cloud502_aws::AwsProvider>),
    Other(Box<dyn Provider>),
}

fn construct(
    spec: &SubjectSpec,
    shared: &Shared,
) -> Result<Ready, cloud502_diagnose::ProviderError> {
    // AWS subjects share clients (see [`AwsClients`]): the only provider built here by name.
    if let Some(options) = spec.spec.options::<cloud502_aws::AwsArgs>() {
        return Ok(Ready::Aws(Box::new(cloud502_aws::AwsProvider::new(
            options?,
        )?)));
    }
    Ok(Ready::Other(spec.spec.provider(shared.local_offset)?))
}

async fn build(spec: &SubjectSpec, shared: &Shared) -> Result<Box<dyn Provider>, Gap> {
    match construct(spec, shared).map_err(|e| e.to_gap(spec.spec.kind().as_str()))? {
        Ready::Aws(provider) => {
            let clients = shared.aws.get(&provider.client_options()).await?;
            Ok(Box::new((*provider).using(clients)))
        }
        Ready::Other(provider) => Ok(provider),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn file(n: usize) -> AuditFile {
        let mut src = String::new();
        for i in 0..n {
            src.push_str(&format!(
                "[[subject]]\nname = \"s{i}\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:9/{i}\"\n\n"
            ));
        }
        crate::config::parse(
            &src,
            "audit.toml",
            Path::new("."),
            crate::config::TEST_PROVIDERS,
        )
        .unwrap()
    }

    #[test]
    fn shards_cover_every_subject_exactly_once() {
        let f = file(23);
        for count in 1..=7u32 {
            let mut seen = Vec::new();
            for index in 0..count {
                let part = select(&f, Some(Shard { index, count }), &[]).unwrap();
                seen.extend(part.iter().map(|s| s.name.clone()));
            }
            seen.sort();
            let mut all: Vec<_> = f.subjects.iter().map(|s| s.name.clone()).collect();
            all.sort();
            assert_eq!(seen, all, "count {count}");
        }
        // Deterministic: the same shard picks the same subjects every time.
        let a = select(&f, Some(Shard { index: 1, count: 3 }), &[]).unwrap();
        assert_eq!(
            a.iter().map(|s| &s.name).collect::<Vec<_>>(),
            ["s1", "s4", "s7", "s10", "s13", "s16", "s19", "s22"]
        );
    }

    #[test]
    fn only_and_bad_shards_are_checked() {
        let f = file(3);
        let picked = select(&f, None, &["s2".to_owned()]).unwrap();
        assert_eq!(picked.len(), 1);
        assert_eq!(select(&f, None, &["zz".to_owned()]).unwrap_err(), ["zz"]);
        assert_eq!(parse_shard("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
