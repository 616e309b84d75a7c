//! `audit.toml`: the subjects of an audit across providers, shared defaults, budgets and the
//! layer chains `cloud502 trace` follows. Every problem in the file is reported at once, each
//! with its `file:line`, before anything is called.
//!
//! The format is documented in docs/audit.md; `examples/audit.toml` is a working example. A
//! subject's own keys are its provider's declaration ([`ProviderArgs`], the same one its
//! subcommand's flags come from). The providers a file can name are the caller's list of
//! [`Registered`] declarations (`cloud502::PROVIDERS` for the built-in ones), so a library user's
//! own provider can be audited too.

use cloud502_collect::options::key_duration;
use cloud502_collect::{Common, Provider, ProviderArgs, ProviderError};
use cloud502_diagnose::limits;
use cloud502_model::{FailOn, Layer, ProviderKind};
use serde::Deserialize;
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// Subjects at once, unless the file or `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// A subject's deadline, unless the file says otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);
/// Look-back for logs and metrics, unless the file says otherwise.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(3600);
/// At most this many subjects in one file (checking is linear: 20,000 take well under a second in
/// a release build).
pub const MAX_SUBJECTS: usize = 50_000;

/// The problems of an audit file, each `file:line: what`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    /// Every problem, in file order.
    pub problems: Vec<String>,
}

/// A provider an audit file can name, from its declaration.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    /// `provider = "..."`, its `[...]` defaults table, and its `[budget]` key if it has one.
    pub name: &'static str,
    /// The kind of provider it builds.
    pub kind: ProviderKind,
    /// The layer it inspects in a trace.
    pub layer: Layer,
    /// Whether `[budget]` takes its name (it calls a rate-limited API).
    pub budgeted: bool,
    check: Check,
    flags: fn() -> clap::Command,
}

/// Deserialize a subject's keys as the declaration, resolve and check them.
type Check = fn(&mut Problems<'_>, Spanned<DeValue<'_>>, &str, Common) -> Built;

impl Registered {
    /// The entry of the provider `A` declares.
    pub const fn of<A: ProviderArgs>() -> Registered {
        Registered {
            name: A::NAME,
            kind: A::KIND,
            layer: A::LAYER,
            budgeted: A::BUDGETED,
            check: check::<A>,
            flags: flags::<A>,
        }
    }
}

fn registered(providers: &'static [Registered], name: &str) -> Option<&'static Registered> {
    providers.iter().find(|r| r.name == name)
}

/// The names a file may use, alphabetically.
fn provider_names(providers: &[Registered]) -> String {
    let mut names: Vec<&str> = providers.iter().map(|r| r.name).collect();
    names.sort_unstable();
    names.join(", ")
}

/// A subject's provider: its declaration as the file gave it, checked, with what the file gives
/// every subject. The options are resolved again when the subject starts, so that a log window
/// ends at the run, not at the reading of the file.
#[derive(Debug, Clone)]
pub struct ProviderSpec(Arc<dyn Declared>);

/// [`ProviderSpec`]'s contents, whatever the declaration's type.
trait Declared: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> ProviderKind;
    fn provider(&self, local_offset: time::UtcOffset) -> Result<Box<dyn Provider>, ProviderError>;
    fn as_any(&self) -> &dyn Any;
}

#[derive(Debug)]
struct Checked<A> {
    args: A,
    common: Common,
}

impl<A: ProviderArgs> Declared for Checked<A> {
    fn kind(&self) -> ProviderKind {
        A::KIND
    }

    fn provider(&self, local_offset: time::UtcOffset) -> Result<Box<dyn Provider>, ProviderError> {
        let common = Common {
            local_offset,
            ..self.common.clone()
        };
        A::provider(self.args.clone().into_options(&common)?)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl ProviderSpec {
    /// The provider kind.
    pub fn kind(&self) -> ProviderKind {
        self.0.kind()
    }

    /// The provider, its options resolved now, error.log timestamps read in `local_offset`.
    pub fn provider(
        &self,
        local_offset: time::UtcOffset,
    ) -> Result<Box<dyn Provider>, ProviderError> {
        self.0.provider(local_offset)
    }

    /// The options, resolved now, when the subject's provider is the one `A` declares.
    pub fn options<A: ProviderArgs>(&self) -> Option<Result<A::Options, ProviderError>> {
        let checked = self.0.as_any().downcast_ref::<Checked<A>>()?;
        Some(checked.args.clone().into_options(&checked.common))
    }
}

/// One `[[subject]]`.
#[derive(Debug, Clone)]
pub struct SubjectSpec {
    /// Unique name.
    pub name: String,
    /// Line of its `[[subject]]` header.
    pub line: usize,
    /// The whole collection must finish within this (plus a 5 s grace).
    pub deadline: Duration,
    /// The subject's own threshold, if it sets one.
    pub fail_on: Option<FailOn>,
    /// Provider and options.
    pub spec: ProviderSpec,
}

/// One `[[chain]]`: the layers in front of a host, from the edge inward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The host name requests carry.
    pub host: String,
    /// Subject names, edge first.
    pub layers: Vec<String>,
    /// Line of its `[[chain]]` header.
    pub line: usize,
}

/// A checked audit file.
#[derive(Debug, Clone)]
pub struct AuditFile {
    /// The file, as given.
    pub path: PathBuf,
    /// Subjects at once.
    pub concurrency: usize,
    /// The threshold of `[audit] fail_on`, if set.
    pub fail_on: Option<FailOn>,
    /// API requests per provider for the whole run.
    pub budgets: BTreeMap<&'static str, u64>,
    /// Subjects in file order.
    pub subjects: Vec<SubjectSpec>,
    /// Layer chains for `cloud502 trace`.
    pub chains: Vec<Chain>,
    /// The providers the file could name.
    pub providers: &'static [Registered],
}

impl AuditFile {
    /// Read and check `path`; its subjects may name the providers of `providers`.
    pub fn load(path: &Path, providers: &'static [Registered]) -> Result<AuditFile, ConfigError> {
        let bytes =
            limits::read_capped(path, limits::MAX_CONFIG_BYTES, "an audit file").map_err(|e| {
                ConfigError {
                    problems: vec![match e.kind() {
                        std::io::ErrorKind::InvalidData => {
                            format!(
                                "cannot read {}: {e}; split the subjects over several audit files",
                                path.display()
                            )
                        }
                        _ => format!("cannot read {}: {e}", path.display()),
                    }],
                }
            })?;
        let src = String::from_utf8(bytes).map_err(|_| ConfigError {
            problems: vec![format!(
                "{} is not UTF-8 text; an audit file is TOML",
                path.display()
            )],
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut file = parse(&src, &path.display().to_string(), base, providers)?;
        file.path = path.to_path_buf();
        Ok(file)
    }

    /// The budget of a provider kind.
    pub fn budget(&self, kind: ProviderKind) -> Option<u64> {
        self.budget_key(kind)
            .and_then(|k| self.budgets.get(k).copied())
    }

    /// The `[budget]` key of a provider kind (`aws`, `azure`, `cloudflare`).
    pub fn budget_key(&self, kind: ProviderKind) -> Option<&'static str> {
        self.providers
            .iter()
            .find(|r| r.kind == kind && r.budgeted)
            .map(|r| r.name)
    }

    /// The layer a provider inspects, as its declaration says ([`Layer::Unknown`] for the probe
    /// and for kinds the file's providers do not include).
    pub fn layer_of(&self, kind: ProviderKind) -> Layer {
        self.providers
            .iter()
            .find(|r| r.kind == kind)
            .map_or(Layer::Unknown, |r| r.layer)
    }

    /// The subject named `name`.
    pub fn subject(&self, name: &str) -> Option<&SubjectSpec> {
        self.subjects.iter().find(|s| s.name == name)
    }
}

/// Collects problems with their lines.
struct Problems<'a> {
    name: &'a str,
    /// The providers the file may name.
    providers: &'static [Registered],
    /// Byte offset of every `\n`, in order: a span's line is a binary search, so naming the line of
    /// each of 10,000 subjects does not rescan the file each time.
    newlines: Vec<usize>,
    list: Vec<(usize, String)>,
}

impl<'a> Problems<'a> {
    fn new(src: &str, name: &'a str, providers: &'static [Registered]) -> Self {
        Problems {
            name,
            providers,
            newlines: src
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
            list: Vec::new(),
        }
    }

    /// The 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < offset) + 1
    }

    fn at(&mut self, offset: usize, message: impl Into<String>) {
        let line = self.line(offset);
        self.list.push((line, message.into()));
    }

    fn toml(&mut self, fallback: usize, context: &str, e: &toml::de::Error) {
        let offset = e.span().map_or(fallback, |s| s.start);
        let message = e.message().trim().replace('\n', " ");
        self.at(offset, format!("{context}{message}"));
    }

    fn finish(mut self) -> Result<(), ConfigError> {
        if self.list.is_empty() {
            return Ok(());
        }
        self.list.sort_by_key(|(line, _)| *line);
        Err(ConfigError {
            problems: self
                .list
                .into_iter()
                .map(|(line, m)| format!("{}:{line}: {}", self.name, one_line(&m)))
                .collect(),
        })
    }
}

/// A problem quotes values from the file, which may hold a newline (`"a\nb"`) or other control
/// characters: escape them so that each problem stays one line a terminal shows as written.
fn one_line(m: &str) -> std::borrow::Cow<'_, str> {
    if !m.contains(char::is_control) {
        return m.into();
    }
    m.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_debug().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect::<String>()
        .into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditSection {
    concurrency: Option<Spanned<i64>>,
    deadline: Option<Spanned<String>>,
    fail_on: Option<Spanned<String>>,
    since: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

/// Keys every subject may set, whatever its provider.
#[derive(Debug, Deserialize)]
struct CommonKeys {
    name: Spanned<String>,
    provider: Spanned<String>,
    deadline: Option<Spanned<String>>,
    fail_on: Option<Spanned<String>>,
    since: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

const COMMON_KEYS: &[&str] = &[
    "name", "provider", "deadline", "fail_on", "since", "timeout",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainKeys {
    host: Spanned<String>,
    layers: Spanned<Vec<Spanned<String>>>,
}

/// A duration key, at most `max` (see [`cloud502_diagnose::limits`]): a bigger one would overflow the
/// deadlines and windows computed from it.
fn duration(
    p: &mut Problems<'_>,
    what: &str,
    v: &Spanned<String>,
    max: Duration,
) -> Option<Duration> {
    key_duration(what, v.get_ref(), max)
        .map_err(|e| p.at(v.span().start, e))
        .ok()
}

fn fail_on(p: &mut Problems<'_>, v: &Spanned<String>) -> Option<FailOn> {
    match v.get_ref().as_str() {
        "info" => Some(FailOn::Info),
        "warning" => Some(FailOn::Warning),
        "critical" => Some(FailOn::Critical),
        "never" => Some(FailOn::Never),
        other => {
            p.at(
                v.span().start,
                format!("fail_on `{other}` is not one of info, warning, critical, never"),
            );
            None
        }
    }
}

fn positive(p: &mut Problems<'_>, what: &str, v: &Spanned<i64>) -> Option<u64> {
    match u64::try_from(*v.get_ref()) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            p.at(
                v.span().start,
                format!("{what} must be a whole number above 0"),
            );
            None
        }
    }
}

/// Deserialize a table value, recording the problem on failure.
fn typed<T: for<'de> Deserialize<'de>>(
    p: &mut Problems<'_>,
    value: Spanned<DeValue<'_>>,
    context: &str,
) -> Option<T> {
    let start = value.span().start;
    match T::deserialize(ValueDeserializer::from(value)) {
        Ok(t) => Some(t),
        Err(e) => {
            p.toml(start, context, &e);
            None
        }
    }
}

/// Parse and check an audit file's text. `name` prefixes every problem; relative paths in the
/// file resolve against `base`.
pub fn parse(
    src: &str,
    name: &str,
    base: &Path,
    providers: &'static [Registered],
) -> Result<AuditFile, ConfigError> {
    let mut p = Problems::new(src, name, providers);
    let doc = match DeTable::parse(src) {
        Ok(doc) => doc,
        Err(e) => {
            p.toml(0, "", &e);
            return Err(p.finish().err().unwrap_or(ConfigError { problems: vec![] }));
        }
    };
    let doc_span = doc.span();
    let doc = doc.into_inner();

    let mut audit = AuditSection::default();
    let mut budget = None;
    let mut defaults: BTreeMap<&'static str, DeTable<'_>> = BTreeMap::new();
    let mut subjects = Vec::new();
    let mut chains = Vec::new();
    for (key, value) in doc {
        let k = key.get_ref().as_ref();
        match k {
            "audit" => {
                if let Some(a) = typed(&mut p, value, "[audit]: ") {
                    audit = a;
                }
            }
            "budget" => budget = Some(value),
            "subject" | "chain" => match value.into_inner() {
                DeValue::Array(items) => {
                    if k == "subject" {
                        subjects = items.into_iter().collect();
                    } else {
                        chains = items.into_iter().collect();
                    }
                }
                _ => p.at(
                    key.span().start,
                    format!("`{k}` must be an array of tables: write [[{k}]]"),
                ),
            },
            other => match registered(providers, other) {
                Some(provider) => match value.into_inner() {
                    DeValue::Table(t) => {
                        defaults.insert(provider.name, t);
                    }
                    _ => p.at(
                        key.span().start,
                        format!("`{other}` must be a table of defaults: write [{other}]"),
                    ),
                },
                None => p.at(
                    key.span().start,
                    format!(
                        "unknown section `{other}` (expected audit, budget, subject, chain, or \
                         provider defaults: {})",
                        provider_names(providers)
                    ),
                ),
            },
        }
    }

    let concurrency = audit
        .concurrency
        .as_ref()
        .and_then(|c| positive(&mut p, "[audit] concurrency", c))
        .map_or(DEFAULT_CONCURRENCY, |c| c.min(1024) as usize);
    let deadline = audit
        .deadline
        .as_ref()
        .and_then(|d| duration(&mut p, "deadline", d, limits::MAX_DEADLINE))
        .unwrap_or(DEFAULT_DEADLINE);
    let since = audit
        .since
        .as_ref()
        .and_then(|d| duration(&mut p, "since", d, limits::MAX_SINCE))
        .unwrap_or(DEFAULT_SINCE);
    let timeout = audit
        .timeout
        .as_ref()
        .and_then(|d| duration(&mut p, "timeout", d, limits::MAX_TIMEOUT));
    let file_fail_on = audit.fail_on.as_ref().and_then(|f| fail_on(&mut p, f));
    let budgets = budgets(&mut p, budget);

    let shared = Shared {
        deadline,
        since,
        timeout,
        base,
    };
    let mut specs = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    if subjects.len() > MAX_SUBJECTS {
        p.at(
            doc_span.start,
            format!(
                "{} subjects; at most {MAX_SUBJECTS}: split them over several audit files",
                subjects.len()
            ),
        );
        // Checking each of them would only say more of the same, slowly.
        return Err(p.finish().err().unwrap_or(ConfigError { problems: vec![] }));
    }
    // Chains may name a subject whose options have problems: those are reported once, there.
    let declared: BTreeSet<String> = subjects
        .iter()
        .filter_map(|item| {
            item.get_ref()
                .as_table()?
                .get("name")?
                .get_ref()
                .as_str()
                .map(|n| n.trim().to_owned())
        })
        .collect();
    for item in subjects {
        let start = item.span().start;
        let line = p.line(start);
        let DeValue::Table(table) = item.into_inner() else {
            p.at(start, "a [[subject]] must be a table");
            continue;
        };
        if let Some(spec) = subject(&mut p, table, start, line, &defaults, &shared) {
            if let Some(first) = names.get(&spec.name) {
                p.at(
                    start,
                    format!(
                        "subject name `{}` is used twice (first at line {first}); names must be unique",
                        spec.name
                    ),
                );
            } else {
                names.insert(spec.name.clone(), line);
                specs.push(spec);
            }
        }
    }
    let mut chain_specs = Vec::new();
    let mut hosts = BTreeSet::new();
    for item in chains {
        let start = item.span().start;
        let Some(keys) = typed::<ChainKeys>(&mut p, item, "[[chain]]: ") else {
            continue;
        };
        let host = keys.host.get_ref().trim().to_ascii_lowercase();
        if host.is_empty() || host.contains('/') || host.contains(':') {
            p.at(
                keys.host.span().start,
                format!(
                    "chain host `{}` must be a host name like shop.example.com, without scheme, port or path",
                    keys.host.get_ref()
                ),
            );
        } else if !hosts.insert(host.clone()) {
            p.at(
                keys.host.span().start,
                format!("chain host `{host}` is declared twice"),
            );
        }
        if keys.layers.get_ref().is_empty() {
            p.at(
                keys.layers.span().start,
                "chain layers is empty: list the subjects in front of the host, edge first",
            );
        }
        for layer in keys.layers.get_ref() {
            if !declared.contains(layer.get_ref().trim()) {
                p.at(
                    layer.span().start,
                    format!(
                        "chain layer `{}` is not the name of a [[subject]]",
                        layer.get_ref()
                    ),
                );
            }
        }
        chain_specs.push(Chain {
            host,
            layers: keys
                .layers
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            line: p.line(start),
        });
    }
    p.finish()?;
    Ok(AuditFile {
        path: PathBuf::from(name),
        concurrency,
        fail_on: file_fail_on,
        budgets,
        subjects: specs,
        chains: chain_specs,
        providers,
    })
}

/// `[budget]`: a request count above 0 per provider that calls a rate-limited API; every wrong key
/// or value is reported.
fn budgets(
    p: &mut Problems<'_>,
    section: Option<Spanned<DeValue<'_>>>,
) -> BTreeMap<&'static str, u64> {
    let mut budgets = BTreeMap::new();
    let Some(section) = section else {
        return budgets;
    };
    let start = section.span().start;
    let DeValue::Table(table) = section.into_inner() else {
        p.at(start, "`budget` must be a table: write [budget]");
        return budgets;
    };
    let budgeted = || p.providers.iter().filter(|r| r.budgeted);
    for (key, value) in table {
        let Some(provider) = budgeted().find(|r| r.name == key.get_ref().as_ref()) else {
            let expected: Vec<String> = budgeted().map(|r| format!("`{}`", r.name)).collect();
            p.at(
                key.span().start,
                format!(
                    "[budget]: unknown field `{}`, expected one of {}",
                    key.get_ref(),
                    expected.join(", ")
                ),
            );
            continue;
        };
        let span = value.span();
        if let Some(n) = typed::<i64>(p, value, "[budget]: ")
            && let Some(n) = positive(
                p,
                &format!("[budget] {}", provider.name),
                &Spanned::new(span, n),
            )
        {
            budgets.insert(provider.name, n);
        }
    }
    budgets
}

struct Shared<'a> {
    deadline: Duration,
    since: Duration,
    timeout: Option<Duration>,
    base: &'a Path,
}

fn subject(
    p: &mut Problems<'_>,
    table: DeTable<'_>,
    start: usize,
    line: usize,
    defaults: &BTreeMap<&'static str, DeTable<'_>>,
    shared: &Shared<'_>,
) -> Option<SubjectSpec> {
    // Split the keys every subject has from the provider's own.
    let mut common = DeTable::new();
    let mut own = DeTable::new();
    for (k, v) in table {
        if COMMON_KEYS.contains(&k.get_ref().as_ref()) {
            common.insert(k, v);
        } else {
            own.insert(k, v);
        }
    }
    let span = start..start;
    let common: CommonKeys = typed(
        p,
        Spanned::new(span.clone(), DeValue::Table(common)),
        "[[subject]]: ",
    )?;
    let name = common.name.get_ref().trim().to_owned();
    let name_ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c));
    if !name_ok {
        p.at(
            common.name.span().start,
            format!(
                "subject name `{}` must be 1-128 characters of letters, digits and - _ . : / @",
                common.name.get_ref()
            ),
        );
    }
    let ctx = format!("subject `{name}`: ");
    let provider = common.provider.get_ref().as_str();
    let Some(provider) = registered(p.providers, provider) else {
        p.at(
            common.provider.span().start,
            format!(
                "{ctx}provider `{provider}` is not one of {}",
                provider_names(p.providers)
            ),
        );
        return None;
    };
    // The provider's defaults, then the subject's own keys over them.
    let mut merged = defaults.get(provider.name).cloned().unwrap_or_default();
    for (k, v) in own {
        merged.insert(k, v);
    }
    let merged = Spanned::new(span, DeValue::Table(merged));
    let deadline = common
        .deadline
        .as_ref()
        .and_then(|d| duration(p, &format!("{ctx}deadline"), d, limits::MAX_DEADLINE))
        .unwrap_or(shared.deadline);
    let since = common
        .since
        .as_ref()
        .and_then(|d| duration(p, &format!("{ctx}since"), d, limits::MAX_SINCE))
        .unwrap_or(shared.since);
    let timeout = common
        .timeout
        .as_ref()
        .and_then(|d| duration(p, &format!("{ctx}timeout"), d, limits::MAX_TIMEOUT))
        .or(shared.timeout);
    let fail_on = common.fail_on.as_ref().and_then(|f| fail_on(p, f));
    let errors_before = p.list.len();
    let common = Common {
        since: Some(since),
        timeout,
        base: Some(shared.base.to_path_buf()),
        ..Common::default()
    };
    let built = (provider.check)(p, merged, &ctx, common);
    // A provider's own check names no line: point it at the subject.
    let built = match built {
        Ok(spec) => spec,
        Err(problems) => {
            for m in problems {
                p.list.push((line, format!("{ctx}{m}")));
            }
            return None;
        }
    };
    if p.list.len() > errors_before || !name_ok {
        return None;
    }
    Some(SubjectSpec {
        name,
        line,
        deadline,
        fail_on,
        spec: built?,
    })
}

/// `Ok(None)` when the problem was already recorded with its line; `Err` for a provider's own
/// validation messages.
type Built = Result<Option<ProviderSpec>, Vec<String>>;

/// `A`'s keys from the subject's table, resolved and checked as `A`'s provider checks them.
fn check<A: ProviderArgs>(
    p: &mut Problems<'_>,
    merged: Spanned<DeValue<'_>>,
    ctx: &str,
    common: Common,
) -> Built {
    let Some(args) = typed::<A>(p, merged, ctx) else {
        return Ok(None);
    };
    let providers = p.providers;
    let options = args
        .clone()
        .into_options(&common)
        .map_err(|e| provider_error(providers, e))?;
    A::provider(options).map_err(|e| provider_error(providers, e))?;
    Ok(Some(ProviderSpec(Arc::new(Checked { args, common }))))
}

/// `A`'s subcommand with its flags, to name the file's key of each.
fn flags<A: ProviderArgs>() -> clap::Command {
    A::augment_args(clap::Command::new(A::NAME))
}

/// A provider's own validation message, in the file's terms: its flags (`--endpoint-url`) become
/// the file's keys (`endpoint_url`), and hints pointing at `--help` are dropped.
fn provider_error(providers: &[Registered], e: ProviderError) -> Vec<String> {
    let keys = flag_keys(providers);
    let hint = e
        .hint()
        .filter(|h| !h.contains("--help"))
        .map(|h| format!(" (hint: {})", as_keys(&keys, h)))
        .unwrap_or_default();
    vec![format!("{}{hint}", as_keys(&keys, &e.to_string()))]
}

/// Every declared flag's key: `--tg` → `tg`, `--gw` → `gateway`, `--origin` → `origins`,
/// `--no-origin-check` → `origin_check = false`. Flags mean the same in every provider.
fn flag_keys(providers: &[Registered]) -> HashMap<String, String> {
    let mut keys = HashMap::new();
    for provider in providers {
        for arg in (provider.flags)().get_arguments() {
            let id = arg.get_id().as_str();
            let key = match arg.get_action() {
                clap::ArgAction::SetFalse => format!("{id} = false"),
                _ => id.to_owned(),
            };
            for long in arg
                .get_long()
                .into_iter()
                .chain(arg.get_all_aliases().into_iter().flatten())
            {
                keys.entry(long.to_owned()).or_insert_with(|| key.clone());
            }
        }
    }
    keys
}

/// `--max-requests` → `max_requests`; `--tg` → `tg`; a flag no provider declares, snake_case.
fn as_keys(keys: &HashMap<String, String>, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("--") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
            .unwrap_or(after.len());
        let flag = &after[..len];
        match keys.get(flag) {
            _ if len == 0 => out.push_str("--"),
            Some(key) => out.push_str(key),
            None => out.push_str(&flag.replace('-', "_")),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The built-in providers, for this crate's own tests (the binary's list is `cloud502::PROVIDERS`).
#[cfg(test)]
pub(crate) const TEST_PROVIDERS: &[Registered] = &[
    Registered::of::<cloud502_aws::AwsArgs>(),
    Registered::of::<cloud502_azure::AzureArgs>(),
    Registered::of::<cloud502_cloudflare::CloudflareArgs>(),
    Registered::of::<cloud502_nginx::NginxArgs>(),
    Registered::of::<cloud502_probe::ProbeArgs>(),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Result<AuditFile, ConfigError> {
        parse(
            src,
            "audit.toml",
            Path::new("/etc/cloud502"),
            TEST_PROVIDERS,
        )
    }

    const TG: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";

    #[test]
    fn a_valid_file_gives_subjects_in_order_with_defaults_merged() {
        let src = format!(
            r#"
[audit]
concurrency = 3
deadline = "45s"
fail_on = "critical"

[budget]
aws = 500

[aws]
region = "us-east-1"
metrics = false

[[subject]]
name = "web"
provider = "aws"
tg = "{TG}"

[[subject]]
name = "edge"
provider = "nginx"
config = "nginx.conf"
deadline = "10s"
fail_on = "never"

[[chain]]
host = "Shop.Example.com"
layers = ["edge", "web"]
"#
        );
        let file = check(&src).unwrap();
        assert_eq!(file.concurrency, 3);
        assert_eq!(file.fail_on, Some(FailOn::Critical));
        assert_eq!(file.budget(ProviderKind::AwsAlb), Some(500));
        assert_eq!(file.budget(ProviderKind::Cloudflare), None);
        let names: Vec<_> = file.subjects.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["web", "edge"]);
        assert_eq!(file.subjects[0].deadline, Duration::from_secs(45));
        assert_eq!(file.subjects[0].line, 14);
        let Some(Ok(aws)) = file.subjects[0].spec.options::<cloud502_aws::AwsArgs>() else {
            panic!("aws")
        };
        assert_eq!(aws.region.as_deref(), Some("us-east-1"));
        assert!(!aws.metrics);
        assert_eq!(file.subjects[1].deadline, Duration::from_secs(10));
        assert_eq!(file.subjects[1].fail_on, Some(FailOn::Never));
        let Some(Ok(n)) = file.subjects[1].spec.options::<cloud502_nginx::NginxArgs>() else {
            panic!("nginx")
        };
        assert_eq!(
            n.config.as_deref(),
            Some(Path::new("/etc/cloud502/nginx.conf"))
        );
        assert_eq!(file.chains[0].host, "shop.example.com");
        assert_eq!(file.chains[0].layers, ["edge", "web"]);
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_line() {
        let src = r#"[audit]
concurrency = 0
deadline = "soon"

[budget]
gcp = 3

[[subject]]
name = "a"
provider = "aws"
tg = "arn:aws:elasticloadbalancing:us-east-1:42:tg"

[[subject]]
name = "b"
provider = "gcp"

[[subject]]
name = "a"
provider = "nginx"
confg = "x"

[[subject]]
provider = "nginx"

[[chain]]
host = "shop.example.com"
layers = ["a", "nope"]

[extra]
"#;
        let err = check(src).unwrap_err();
        let text = err.problems.join("\n");
        let expect = [
            "audit.toml:2: [audit] concurrency must be a whole number above 0",
            "audit.toml:3: deadline `soon` is not a duration",
            "audit.toml:6: [budget]: unknown field `gcp`",
            "audit.toml:8: subject `a`: ",
            "audit.toml:15: subject `b`: provider `gcp` is not one of",
            "audit.toml:20: subject `a`: unknown field `confg`",
            "audit.toml:22: [[subject]]: missing field `name`",
            "audit.toml:27: chain layer `nope` is not the name of a [[subject]]",
            "audit.toml:29: unknown section `extra`",
        ];
        for e in expect {
            assert!(text.contains(e), "missing {e:?} in:\n{text}");
        }
        assert!(text.contains("targetgroup/NAME/ID"), "{text}");
        // The provider's own message speaks of the file's keys, not of command-line flags.
        assert!(text.contains("subject `a`: tg: malformed ARN"), "{text}");
        assert!(!text.contains("--"), "{text}");
        assert_eq!(err.problems.len(), expect.len(), "{text}");
    }

    #[test]
    fn duplicate_names_and_syntax_errors_name_their_lines() {
        let src = "[[subject]]\nname = \"x\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:1/\"\n\n[[subject]]\nname = \"x\"\nprovider = \"probe\"\nurl = \"http://127.0.0.1:2/\"\n";
        let err = check(src).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(
            err.problems[0]
                .starts_with("audit.toml:6: subject name `x` is used twice (first at line 1)"),
            "{err}"
        );
        let err = check("[audit]\nconcurrency = = 3\n").unwrap_err();
        assert!(err.problems[0].starts_with("audit.toml:2: "), "{err}");
    }

    #[test]
    fn binary_or_unreadable_files_are_one_clear_problem() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("audit.toml");
        std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x01]).unwrap();
        let err = AuditFile::load(&bin, TEST_PROVIDERS).unwrap_err();
        assert!(err.problems[0].contains("not UTF-8"), "{err}");
        let err = AuditFile::load(&dir.path().join("missing.toml"), TEST_PROVIDERS).unwrap_err();
        assert!(err.problems[0].contains("cannot read"), "{err}");
    }
}

#[cfg(test)]
mod key_tests {
    #[test]
    fn every_provider_has_its_keys_documented() {
        let docs = include_str!("../../../docs/audit.md");
        for provider in super::TEST_PROVIDERS {
            let row = format!("| `{}` |", provider.name);
            assert!(docs.contains(&row), "docs/audit.md has no {row} row");
        }
    }

    #[test]
    fn flags_become_keys() {
        assert_eq!(
            super::as_keys(
                &super::flag_keys(super::TEST_PROVIDERS),
                "--endpoint-url x and --gw y, --tg; a -- b --no-origin-check"
            ),
            "endpoint_url x and gateway y, tg; a -- b origin_check = false"
        );
    }
}
