//! Loading an nginx configuration (from files or from `nginx -T` output) and extracting routes, pools and settings.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use cloud502_model::{
    ConfigSnapshot, ForwardKind, Pool, PoolMember, Route, Setting, SourceLocation,
};

pub use crate::parse::Directive;

pub use crate::error::ConfigError;

/// The result of loading a configuration.
pub type Result<T> = std::result::Result<T, ConfigError>;

/// A parsed configuration with every `include` spliced in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxConfig {
    /// The files read, in the order read, each once.
    pub files: Vec<String>,
    /// The main context's directives.
    pub root: Vec<Directive>,
    /// Includes that read nothing, with where they are and what happened: a file that does not
    /// exist (nginx would refuse to start, so the copy is incomplete), or a glob that matched no
    /// file (nginx accepts it, but a copied tree may lack the files). Each is a gap.
    pub unread_includes: Vec<(SourceLocation, String)>,
}

/// Real configs include two or three levels deep; this only stops runaway recursion through paths that
/// name the same file differently.
const MAX_INCLUDE_DEPTH: usize = 32;
/// Files one config may read through includes, counting a file included twice twice: large
/// real configs (one file per virtual host) have a few thousand.
pub const MAX_INCLUDE_FILES: usize = 10_000;
/// Bytes one config may read through includes, counted the same way.
pub const MAX_INCLUDE_BYTES: u64 = 64 * 1024 * 1024;
/// Work of the distinct include globs of one config: in a dump, sections matched against a
/// pattern (about a second's worth); from files, each distinct glob counts as many, so that at
/// most 10,000 distinct globs walk the file system.
const MAX_GLOB_WORK: usize = 5_000_000;

/// Load from files: parse `path`, following `include` directives (with globs) recursively, splicing
/// included directives in place (each keeps its own file:line). Relative include paths resolve against
/// the directory of the main config file (nginx's conf prefix). A glob that matches nothing, and a
/// plain path that does not exist, are read as nothing and listed in
/// [`NginxConfig::unread_includes`].
pub fn load_files(path: &Path) -> Result<NginxConfig> {
    load_files_rooted(path, None)
}

/// [`load_files`], with absolute include paths resolved under `root` when it is given (a config
/// tree copied off its machine: `include /etc/nginx/sites-enabled/*;` reads
/// `ROOT/etc/nginx/sites-enabled/*`, not this machine's).
pub fn load_files_rooted(path: &Path, root: Option<&Path>) -> Result<NginxConfig> {
    let prefix = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut loader = Loader::new(Source::Files {
        prefix,
        root: root.map(Path::to_path_buf),
    });
    let root = loader.load(&path.to_string_lossy())?;
    Ok(NginxConfig {
        files: loader.files,
        root,
        unread_includes: loader.unread,
    })
}

/// Load `path` as a `nginx -T` dump when it looks like one (it has `# configuration file` markers),
/// else as a main config file with its includes.
pub fn load_any(path: &Path) -> Result<NginxConfig> {
    let text = read_text(path)?;
    if text.contains("# configuration file ") {
        load_dump(&text, &path.display().to_string())
    } else {
        load_files(path)
    }
}

/// Read a config file or dump whole, at most [`MAX_CONFIG_BYTES`](cloud502_collect::limits::MAX_CONFIG_BYTES).
fn read_text(path: &Path) -> Result<String> {
    use cloud502_collect::limits;
    let what = "an nginx config file or dump";
    let bytes = limits::read_capped(path, limits::MAX_CONFIG_BYTES, what).map_err(|source| {
        ConfigError::Io {
            path: path.display().to_string(),
            source,
        }
    })?;
    // valid UTF-8 (nearly always) is kept as read, not copied
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Load a saved `nginx -T` dump from `path` (read whole, with the same size cap as config files).
pub fn load_dump_file(path: &Path) -> Result<NginxConfig> {
    load_dump(&read_text(path)?, &path.display().to_string())
}

/// Load from `nginx -T` output (stdout, or stdout and stderr together): split it into files at the
/// `# configuration file PATH:` lines, parse the first as the main config and resolve `include`
/// against the other sections by path. Line numbers are those within each original file.
pub fn load_dump(text: &str, origin: &str) -> Result<NginxConfig> {
    let sections = split_dump(text);
    let Some(main) = sections.first().map(|s| s.name.clone()) else {
        return Err(ConfigError::NotADump {
            path: origin.to_string(),
        });
    };
    // nginx's conf prefix is the main file's directory, with its trailing slash.
    let prefix = main
        .rfind('/')
        .map(|i| main[..=i].to_string())
        .unwrap_or_default();
    // where each file starts in the dump, to name the dump's own line in an error too
    let starts: Vec<(String, u32)> = sections
        .iter()
        .map(|s| (s.name.clone(), s.first_line))
        .collect();
    let mut loader = Loader::new(Source::Dump { prefix, sections });
    let root = loader.load(&main).map_err(|e| match e {
        ConfigError::Syntax {
            file,
            line,
            message,
        } => {
            let at = starts
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, first)| first + line.saturating_sub(1));
            let message = match at {
                Some(n) => format!("{message} (line {n} of the dump {origin})"),
                None => message,
            };
            ConfigError::Syntax {
                file,
                line,
                message,
            }
        }
        other => other,
    })?;
    Ok(NginxConfig {
        files: loader.files,
        root,
        unread_includes: loader.unread,
    })
}

/// Parse a single file's text; `include` is left as a directive, not followed.
pub fn parse_str(text: &str, file: &str) -> Result<NginxConfig> {
    Ok(NginxConfig {
        files: vec![file.to_string()],
        root: crate::parse::parse(text, file)?,
        unread_includes: Vec::new(),
    })
}

#[derive(Debug)]
struct Section<'a> {
    name: String,
    text: &'a str,
    /// The dump's line (1-based) where the file's first line is.
    first_line: u32,
}

#[derive(Debug)]
enum Source<'a> {
    Files {
        prefix: PathBuf,
        root: Option<PathBuf>,
    },
    Dump {
        prefix: String,
        sections: Vec<Section<'a>>,
    },
}

#[derive(Debug)]
struct Loader<'a> {
    source: Source<'a>,
    files: Vec<String>,
    /// `files` as a set: a config of thousands of files must not make each load scan the list.
    seen: HashSet<String>,
    /// The files being parsed, outermost first, by identity (canonical path for files).
    stack: Vec<String>,
    /// Dump sections by name, and by normalized name (first one wins), for includes.
    exact: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    /// Files read so far, and their bytes, a file included twice counted twice.
    loads: usize,
    bytes: u64,
    /// Directives still allowed, over every file read.
    directives_left: usize,
    /// Dump section names, normalized once.
    normalized: Vec<String>,
    /// Glob results by pattern, and the work spent evaluating distinct globs.
    globs: HashMap<String, Vec<String>>,
    glob_work: usize,
    /// Includes that read nothing ([`NginxConfig::unread_includes`]).
    unread: Vec<(SourceLocation, String)>,
}

impl<'a> Loader<'a> {
    fn new(source: Source<'a>) -> Self {
        let mut exact = HashMap::new();
        let mut by_name = HashMap::new();
        let mut normalized = Vec::new();
        if let Source::Dump { sections, .. } = &source {
            for (i, s) in sections.iter().enumerate() {
                let n = normalize(&s.name);
                exact.entry(s.name.clone()).or_insert(i);
                by_name.entry(n.clone()).or_insert(i);
                normalized.push(n);
            }
        }
        Loader {
            source,
            files: Vec::new(),
            seen: HashSet::new(),
            stack: Vec::new(),
            exact,
            by_name,
            loads: 0,
            bytes: 0,
            directives_left: crate::parse::MAX_DIRECTIVES,
            normalized,
            globs: HashMap::new(),
            glob_work: 0,
            unread: Vec::new(),
        }
    }

    fn load(&mut self, name: &str) -> Result<Vec<Directive>> {
        let identity = self.identity(name);
        if self.stack.contains(&identity) {
            return Err(ConfigError::IncludeLoop {
                file: name.to_string(),
            });
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(ConfigError::IncludeTooDeep {
                file: name.to_string(),
                limit: MAX_INCLUDE_DEPTH,
            });
        }
        self.loads += 1;
        if self.loads > MAX_INCLUDE_FILES {
            return Err(ConfigError::TooManyIncludes {
                what: format!("read more than {MAX_INCLUDE_FILES} files"),
                at: name.to_string(),
            });
        }
        let text = self.read(name)?;
        self.bytes += text.len() as u64;
        if self.bytes > MAX_INCLUDE_BYTES {
            return Err(ConfigError::TooManyIncludes {
                what: format!(
                    "read more than {}",
                    cloud502_collect::limits::size(MAX_INCLUDE_BYTES)
                ),
                at: name.to_string(),
            });
        }
        if self.seen.insert(name.to_string()) {
            self.files.push(name.to_string());
        }
        let parsed = crate::parse::parse_limited(&text, name, &mut self.directives_left)?;
        self.stack.push(identity);
        let expanded = self.expand(parsed);
        self.stack.pop();
        expanded
    }

    fn expand(&mut self, directives: Vec<Directive>) -> Result<Vec<Directive>> {
        let mut out = Vec::with_capacity(directives.len());
        for mut directive in directives {
            if directive.name == "include" && directive.block.is_none() {
                let [arg] = directive.args.as_slice() else {
                    return Err(ConfigError::Syntax {
                        file: directive.location.file.clone(),
                        line: directive.location.line,
                        message: "invalid number of arguments in \"include\" directive".into(),
                    });
                };
                let names = self.resolve_cached(arg, &directive.location)?;
                let is_glob = arg.contains(['*', '?', '[']);
                if names.is_empty() && is_glob {
                    self.unread.push((
                        directive.location.clone(),
                        format!("include \"{arg}\" matched no file"),
                    ));
                }
                for name in names {
                    // a named file that is missing from a copied tree is a gap, not the end
                    if !is_glob
                        && matches!(self.source, Source::Files { .. })
                        && !Path::new(&name).exists()
                    {
                        self.unread.push((
                            directive.location.clone(),
                            format!(
                                "include \"{arg}\" names {name}, which does not exist (nginx would refuse to start)"
                            ),
                        ));
                        continue;
                    }
                    out.extend(self.load(&name)?);
                }
            } else {
                if let Some(block) = directive.block.take() {
                    directive.block = Some(self.expand(block)?);
                }
                out.push(directive);
            }
        }
        Ok(out)
    }

    fn identity(&self, name: &str) -> String {
        match &self.source {
            // Canonical so `a/../b.conf` and a symlink to it are seen as the same file in a loop.
            Source::Files { .. } => std::fs::canonicalize(name)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| name.to_string()),
            Source::Dump { .. } => name.to_string(),
        }
    }

    fn read(&self, name: &str) -> Result<Cow<'a, str>> {
        match &self.source {
            Source::Files { .. } => Ok(Cow::Owned(read_text(Path::new(name))?)),
            Source::Dump { sections, .. } => Ok(self
                .exact
                .get(name)
                .map(|&i| Cow::Borrowed(sections[i].text))
                .unwrap_or_default()),
        }
    }

    /// [`Self::resolve`], with each glob evaluated once: a config that repeats `include
    /// snippets/*.conf` in every server block globs once. Distinct globs are bounded too (a dump
    /// matches each against every section).
    fn resolve_cached(&mut self, arg: &str, at: &SourceLocation) -> Result<Vec<String>> {
        if !arg.contains(['*', '?', '[']) {
            return self.resolve(arg, at);
        }
        if let Some(names) = self.globs.get(arg) {
            return Ok(names.clone());
        }
        self.glob_work += match &self.source {
            Source::Dump { sections, .. } => sections.len().max(1),
            Source::Files { .. } => MAX_GLOB_WORK / MAX_INCLUDE_FILES,
        };
        if self.glob_work > MAX_GLOB_WORK {
            return Err(ConfigError::TooManyIncludes {
                what: match &self.source {
                    Source::Dump { sections, .. } => format!(
                        "name more distinct patterns than can be matched against the dump's {} files",
                        sections.len()
                    ),
                    Source::Files { .. } => {
                        format!("name more than {} distinct patterns", MAX_INCLUDE_FILES)
                    }
                },
                at: format!("{at}: include {arg}"),
            });
        }
        let names = self.resolve(arg, at)?;
        self.globs.insert(arg.to_owned(), names.clone());
        Ok(names)
    }

    /// The files an `include` names, in the order nginx reads them.
    fn resolve(&self, arg: &str, at: &SourceLocation) -> Result<Vec<String>> {
        // nginx globs only when the argument has a wildcard; otherwise the file must exist.
        let is_glob = arg.contains(['*', '?', '[']);
        match &self.source {
            Source::Files { prefix, root } => {
                let rooted = root.as_ref().filter(|_| Path::new(arg).is_absolute());
                let full = match rooted {
                    Some(root) => root.join(arg.trim_start_matches('/')),
                    None if Path::new(arg).is_absolute() => PathBuf::from(arg),
                    None => prefix.join(arg),
                };
                if !is_glob {
                    return Ok(vec![full.to_string_lossy().into_owned()]);
                }
                let pattern = if let Some(root) = rooted {
                    PathBuf::from(glob::Pattern::escape(&root.to_string_lossy()))
                        .join(arg.trim_start_matches('/'))
                        .to_string_lossy()
                        .into_owned()
                } else if Path::new(arg).is_absolute() {
                    arg.to_string()
                } else {
                    PathBuf::from(glob::Pattern::escape(&prefix.to_string_lossy()))
                        .join(arg)
                        .to_string_lossy()
                        .into_owned()
                };
                let paths =
                    glob::glob_with(&pattern, glob_options()).map_err(|e| ConfigError::Syntax {
                        file: at.file.clone(),
                        line: at.line,
                        message: format!("invalid include pattern \"{arg}\": {e}"),
                    })?;
                let mut names = Vec::new();
                // A glob over a million files stops one past the cap, which `load` reports.
                for entry in paths.take(MAX_INCLUDE_FILES + 1) {
                    match entry {
                        // nginx would fail on a directory; reading the rest is more useful here.
                        Ok(path) if path.is_dir() => {
                            tracing::warn!(path = %path.display(), "include glob matched a directory; skipped");
                        }
                        Ok(path) => names.push(path.to_string_lossy().into_owned()),
                        // glob(3) as nginx calls it also passes over unreadable directories.
                        Err(e) => {
                            tracing::warn!(path = %e.path().display(), error = %e.error(), "include glob could not read a directory");
                        }
                    }
                }
                // glob(3) in the C locale sorts bytewise, and that is the order nginx reads them in.
                names.sort();
                Ok(names)
            }
            Source::Dump { prefix, sections } => {
                let full = if arg.starts_with('/') {
                    arg.to_string()
                } else {
                    format!("{prefix}{arg}")
                };
                if !is_glob {
                    let found: Vec<String> = self
                        .by_name
                        .get(&normalize(&full))
                        .map(|&i| vec![sections[i].name.clone()])
                        .unwrap_or_default();
                    if found.is_empty() {
                        // A dump comes from a config nginx accepted, so the file existed; the capture
                        // was cut short. Better to report on what is there than on nothing.
                        tracing::warn!(include = %full, at = %at, "included file is not in the nginx -T dump; skipped");
                    }
                    return Ok(found);
                }
                let pattern_text = if arg.starts_with('/') {
                    arg.to_string()
                } else {
                    format!("{}{arg}", glob::Pattern::escape(prefix))
                };
                let pattern = glob::Pattern::new(&normalize(&pattern_text)).map_err(|e| {
                    ConfigError::Syntax {
                        file: at.file.clone(),
                        line: at.line,
                        message: format!("invalid include pattern \"{arg}\": {e}"),
                    }
                })?;
                let mut names: Vec<String> = sections
                    .iter()
                    .zip(&self.normalized)
                    .filter(|(_, n)| pattern.matches_with(n, glob_options()))
                    .map(|(s, _)| s.name.clone())
                    .collect();
                names.sort();
                names.dedup();
                Ok(names)
            }
        }
    }
}

/// glob(3) as nginx calls it: case-sensitive, `*` stops at `/` and does not match a leading dot.
fn glob_options() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    }
}

/// Collapse `//` and `/./` so a path written two ways in include and dump header still matches.
fn normalize(path: &str) -> String {
    let mut out = path.replace("/./", "/");
    while out.contains("//") {
        out = out.replace("//", "/");
    }
    out
}

/// The dump's sections: `# configuration file NAME:` then that file's text.
fn split_dump(text: &str) -> Vec<Section<'_>> {
    let mut sections = Vec::new();
    let mut current: Option<(String, usize, u32)> = None;
    let mut offset = 0;
    let mut line_no: u32 = 0;
    for line in text.split_inclusive('\n') {
        line_no += 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = bare
            .strip_prefix("# configuration file ")
            .and_then(|rest| rest.strip_suffix(':'))
            .filter(|name| !name.is_empty());
        if let Some(name) = marker {
            if let Some((name, start, first_line)) = current.take() {
                sections.push(Section {
                    name,
                    text: &text[start..offset],
                    first_line,
                });
            }
            current = Some((name.to_string(), offset + line.len(), line_no + 1));
        }
        offset += line.len();
    }
    if let Some((name, start, first_line)) = current {
        sections.push(Section {
            name,
            text: strip_trailing_status(&text[start..]),
            first_line,
        });
    }
    sections
}

/// When stderr was captured after stdout, nginx's own status lines end the last file; drop them,
/// and whatever a capture added after them (a shell prompt, `logout`): no config line starts with
/// `nginx: `, and a file nginx loaded ends with `;`, `{`, `}`, a comment or a blank line, so the
/// lines after the last such line are not the file's.
fn strip_trailing_status(text: &str) -> &str {
    let mut start = 0;
    let mut end = text.len();
    for line in text.split_inclusive('\n') {
        if line.starts_with("nginx: ") {
            end = start;
            break;
        }
        start += line.len();
    }
    let mut keep = 0;
    let mut at = 0;
    for line in text[..end].split_inclusive('\n') {
        at += line.len();
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.ends_with([';', '{', '}']) {
            keep = at;
        }
    }
    &text[..keep]
}

/// nginx's version as (major, minor, patch), from `1.22.1`, `nginx/1.22.1` or `1.24.0 (Ubuntu)`.
fn parse_version(version: &str) -> Option<(u32, u32, u32)> {
    let version = version.trim();
    let version = version.strip_prefix("nginx/").unwrap_or(version);
    let core: String = version
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// From this release `proxy_http_version` defaults to 1.1 and explicit upstreams keep 32 idle connections.
const NEW_DEFAULTS_SINCE: (u32, u32, u32) = (1, 29, 7);

fn blocks<'a>(level: &'a [Directive], name: &'a str) -> impl Iterator<Item = &'a Directive> + 'a {
    level
        .iter()
        .filter(move |d| d.name == name && d.block.is_some())
}

/// `map $http_x $var { ... }` as the setting `map $var`: the value `$var` takes for an ordinary
/// request, one without the header (the `''` entry, else `default`, else nginx's empty string).
/// `None` when that cannot be told from the block: a source other than a request header, a regex
/// or an `include` among the entries.
fn map_setting(m: &Directive) -> Option<Setting> {
    let [source, var] = m.args.as_slice() else {
        return None;
    };
    if !source.starts_with("$http_") || !var.starts_with('$') {
        return None;
    }
    let entries = m.children();
    if entries
        .iter()
        .any(|e| e.name.starts_with('~') || e.name == "include" || e.block.is_some())
    {
        return None;
    }
    let value_of = |key: &str| {
        entries
            .iter()
            .find(|e| e.name == key)
            .map(|e| e.args.join(" "))
    };
    let value = value_of("")
        .or_else(|| value_of("default"))
        .unwrap_or_default();
    Some(Setting {
        name: format!("map {var}"),
        value,
        location: Some(m.location.clone()),
        default: false,
    })
}

/// The first plain directive of this name at one level (nginx rejects most duplicates anyway).
fn plain<'a>(level: &'a [Directive], name: &str) -> Option<&'a Directive> {
    level.iter().find(|d| d.name == name && d.block.is_none())
}

fn set_from(name: impl Into<String>, directive: &Directive) -> Setting {
    Setting {
        name: name.into(),
        value: directive.args.join(" "),
        location: Some(directive.location.clone()),
        default: false,
    }
}

fn default_setting(name: impl Into<String>, value: &str) -> Setting {
    Setting {
        name: name.into(),
        value: value.to_string(),
        location: None,
        default: true,
    }
}

fn pass_kind(name: &str) -> Option<ForwardKind> {
    match name {
        "proxy_pass" => Some(ForwardKind::Proxy),
        "fastcgi_pass" => Some(ForwardKind::Fastcgi),
        "uwsgi_pass" => Some(ForwardKind::Uwsgi),
        "grpc_pass" => Some(ForwardKind::Grpc),
        _ => None,
    }
}

/// The scheme a target speaks, as nginx reads it for each module.
fn target_scheme(kind: ForwardKind, target: &str) -> Option<String> {
    let scheme = target
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match kind {
        ForwardKind::Proxy => scheme.filter(|s| s == "http" || s == "https"),
        // grpc_pass without a scheme is plain gRPC.
        ForwardKind::Grpc => match scheme.as_deref() {
            Some("grpcs") => Some("grpcs".into()),
            Some("grpc") | None => Some("grpc".into()),
            Some(_) => None,
        },
        // Only the TLS variant is worth naming: it is the one that can fail a handshake.
        ForwardKind::Uwsgi => scheme.filter(|s| s == "suwsgi"),
        ForwardKind::Fastcgi => None,
    }
}

/// A pass target as it may appear in reports: query values and a URL password are secrets
/// (`proxy_pass http://api/?token=...`), so they are registered (an error.log line that quotes
/// the upstream URL is masked too) and replaced by `<redacted>`; nginx variables are kept.
fn redact_target(target: &str) -> String {
    let (base, query) = match target.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (target, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = match userinfo.split_once(':') {
                        Some((user, password)) => {
                            cloud502_model::secret::register(password);
                            format!("{user}:{}", cloud502_model::secret::MASK)
                        }
                        None => userinfo.to_owned(),
                    };
                    format!("{scheme}://{user}@{host}{path}")
                }
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if !v.is_empty() && !v.starts_with('$') => {
                    cloud502_model::secret::register(v);
                    format!("{k}={}", cloud502_model::secret::MASK)
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// The host part of a target: what nginx matches against `upstream` names.
fn target_host(target: &str) -> &str {
    let rest = target.split_once("://").map_or(target, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

#[derive(Debug)]
struct ServerInfo {
    names: Vec<String>,
    listen: Vec<String>,
}

#[derive(Debug)]
struct RouteBuilder<'a> {
    upstreams: HashSet<&'a str>,
    /// Each `map`'s variable and the values its entries give, for variable `proxy_pass` hosts.
    maps: HashMap<&'a str, Vec<&'a str>>,
    new_defaults: bool,
    routes: Vec<Route>,
    levels: Levels<'a>,
}

/// The plain directives of each level by name, built once per level: every route looks up
/// twenty-odd settings through its chain, and the `http` level of a config with 50,000 servers
/// must not be scanned twenty times per route.
#[derive(Debug, Default)]
struct Levels<'a> {
    /// By the level's address and length; the tree is borrowed for the builder's life, so an
    /// address names one level.
    index: HashMap<(usize, usize), ByName<'a>, Fx>,
}

/// One level's plain directives by name.
type ByName<'a> = HashMap<&'a str, Vec<&'a Directive>, Fx>;

/// The Firefox/rustc hash (multiply and rotate a word at a time): these maps are keyed by
/// directive names and addresses from the config itself and looked up a few hundred thousand
/// times for a large config, where SipHash's resistance to chosen keys buys nothing and cost
/// several percent of the whole read.
#[derive(Debug, Default, Clone, Copy)]
struct Fx;

impl std::hash::BuildHasher for Fx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

#[derive(Debug)]
struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let mut w = [0u8; 8];
        let rest = chunks.remainder();
        w[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(w));
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl<'a> Levels<'a> {
    fn of(&mut self, level: &'a [Directive]) -> &ByName<'a> {
        self.index
            .entry((level.as_ptr() as usize, level.len()))
            .or_insert_with(|| {
                let mut by_name = ByName::default();
                for d in level.iter().filter(|d| d.block.is_none()) {
                    by_name.entry(d.name.as_str()).or_default().push(d);
                }
                by_name
            })
    }

    /// An ordinary directive in force: the innermost level that sets it wins.
    fn inherited(&mut self, chain: &[&'a [Directive]], name: &str) -> Option<&'a Directive> {
        chain
            .iter()
            .rev()
            .find_map(|level| self.of(level).get(name).and_then(|v| v.first().copied()))
    }

    /// An array directive (`proxy_set_header`) in force: the innermost level that has any of
    /// them, and only that level, since nginx inherits the outer list only when the inner level
    /// defines none.
    fn inherited_array(&mut self, chain: &[&'a [Directive]], name: &str) -> Vec<&'a Directive> {
        chain
            .iter()
            .rev()
            .find_map(|level| self.of(level).get(name).filter(|v| !v.is_empty()).cloned())
            .unwrap_or_default()
    }
}

impl<'a> RouteBuilder<'a> {
    /// Walk one level (a server, a location, an `if` in a location), emitting a route per pass directive.
    fn walk(
        &mut self,
        level: &'a [Directive],
        chain: &mut Vec<&'a [Directive]>,
        path: Option<&str>,
        server: &ServerInfo,
    ) {
        chain.push(level);
        for directive in level {
            if let Some(kind) = pass_kind(&directive.name) {
                if directive.block.is_none() {
                    self.route(directive, kind, chain, path, server);
                }
                continue;
            }
            let Some(block) = &directive.block else {
                continue;
            };
            match directive.name.as_str() {
                "location" => {
                    let nested = directive.args.join(" ");
                    self.walk(block, chain, Some(&nested), server);
                }
                // Conditional parts of a location: their own settings level, but the location's path.
                "if" | "limit_except" if path.is_some() => self.walk(block, chain, path, server),
                _ => {}
            }
        }
        chain.pop();
    }

    fn route(
        &mut self,
        pass: &Directive,
        kind: ForwardKind,
        chain: &[&'a [Directive]],
        path: Option<&str>,
        server: &ServerInfo,
    ) {
        let target = redact_target(pass.arg().unwrap_or_default());
        let dynamic = target.contains('$');
        let host = target_host(&target);
        let pool = (!dynamic && self.upstreams.contains(host)).then(|| host.to_string());
        let mut settings = route_settings(kind, chain, self.new_defaults, &mut self.levels);
        if dynamic {
            if let Some(s) = self.upstream_variable(host, chain) {
                settings.push(s);
            }
        }
        self.routes.push(Route {
            id: format!("route.{}", self.routes.len()),
            server_names: server.names.clone(),
            listen: server.listen.clone(),
            path: path.map(str::to_string),
            kind,
            scheme: target_scheme(kind, &target),
            target,
            pool,
            dynamic,
            location: Some(pass.location.clone()),
            settings,
        });
    }

    /// A pass whose host is one variable that only ever holds names of `upstream {}` blocks
    /// (from `set $v name;` in the route's levels, or every value of a `map` to `$v`) needs no
    /// resolver: the setting `pass upstreams` names them, where they were set. `None` when the
    /// variable may hold anything else, or its values cannot be told.
    fn upstream_variable(&self, host: &str, chain: &[&'a [Directive]]) -> Option<Setting> {
        let name = host_variable(host)?;
        let sets: Vec<&Directive> = chain
            .iter()
            .flat_map(|level| level.iter())
            .filter(|d| d.name == "set" && d.args.first().is_some_and(|v| *v == name))
            .collect();
        let (values, location) = if sets.is_empty() {
            (self.maps.get(name.as_str())?.clone(), None)
        } else {
            let values = sets
                .iter()
                .map(|d| d.args.get(1).map_or("", String::as_str))
                .collect();
            (values, sets.last().map(|d| d.location.clone()))
        };
        let all_upstreams = !values.is_empty() && values.iter().all(|v| self.upstreams.contains(v));
        all_upstreams.then(|| Setting {
            name: "pass upstreams".to_owned(),
            value: values.join(" "),
            location,
            default: false,
        })
    }
}

/// The variable a pass's host part is, alone (`$backend`, `${backend}`, both `$backend`),
/// possibly followed by a path variable (`$backend$request_uri`).
fn host_variable(host: &str) -> Option<String> {
    let rest = host.strip_prefix('$')?;
    let (name, after) = match rest.strip_prefix('{') {
        Some(r) => {
            let close = r.find('}')?;
            (&r[..close], &r[close + 1..])
        }
        None => {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        }
    };
    let path_only = matches!(after, "" | "$request_uri" | "$uri" | "$uri$is_args$args");
    (path_only && !name.is_empty()).then(|| format!("${name}"))
}

/// The settings in force for a route of this kind, innermost level last in `chain`.
fn route_settings<'a>(
    kind: ForwardKind,
    chain: &[&'a [Directive]],
    new_defaults: bool,
    levels: &mut Levels<'a>,
) -> Vec<Setting> {
    let p = kind.as_str();
    let mut out = Vec::new();
    let mut put = |name: String, default: Option<&str>| match levels.inherited(chain, &name) {
        Some(directive) => out.push(set_from(name, directive)),
        None => {
            if let Some(value) = default {
                out.push(default_setting(name, value));
            }
        }
    };
    put(format!("{p}_connect_timeout"), Some("60s"));
    put(format!("{p}_send_timeout"), Some("60s"));
    put(format!("{p}_read_timeout"), Some("60s"));
    // One memory page: 4k on x86, 8k on some other platforms.
    put(format!("{p}_buffer_size"), Some("4k|8k"));
    // The gRPC module streams responses and has no response buffers to configure.
    if kind != ForwardKind::Grpc {
        put(format!("{p}_buffers"), Some("8 4k|8k"));
        put(format!("{p}_busy_buffers_size"), Some("8k|16k"));
    }
    put(format!("{p}_next_upstream"), Some("error timeout"));
    put(format!("{p}_next_upstream_tries"), Some("0"));
    put(format!("{p}_intercept_errors"), Some("off"));
    if kind == ForwardKind::Proxy {
        let http_version = if new_defaults { "1.1" } else { "1.0" };
        put("proxy_http_version".into(), Some(http_version));
    }
    if kind != ForwardKind::Fastcgi {
        put(format!("{p}_ssl_server_name"), Some("off"));
        let ssl_name_default = (kind == ForwardKind::Proxy).then_some("$proxy_host");
        put(format!("{p}_ssl_name"), ssl_name_default);
        put(format!("{p}_ssl_verify"), Some("off"));
        put(format!("{p}_ssl_trusted_certificate"), None);
        put(format!("{p}_ssl_protocols"), None);
        put(format!("{p}_ssl_certificate"), None);
        put(format!("{p}_ssl_session_reuse"), Some("on"));
    }
    put("resolver".into(), None);
    put("resolver_timeout".into(), None);
    put("keepalive_timeout".into(), Some("75s"));

    let header_directive = match kind {
        ForwardKind::Proxy => Some("proxy_set_header"),
        ForwardKind::Grpc => Some("grpc_set_header"),
        ForwardKind::Fastcgi | ForwardKind::Uwsgi => None,
    };
    if let Some(header_directive) = header_directive {
        for directive in levels.inherited_array(chain, header_directive) {
            let Some((header, value)) = directive.args.split_first() else {
                continue;
            };
            out.push(Setting {
                name: format!("{header_directive} {header}"),
                value: value.join(" "),
                location: Some(directive.location.clone()),
                default: false,
            });
        }
    }
    out
}

/// Load-balancing methods; round robin is what is left when none is set.
const BALANCING: &[&str] = &["least_conn", "ip_hash", "hash", "random", "least_time"];

fn pool(upstream: &Directive, new_defaults: bool) -> Pool {
    let level = upstream.children();
    let members = level
        .iter()
        .filter(|d| d.name == "server" && d.block.is_none())
        .filter_map(member)
        .collect();

    let mut settings = Vec::new();
    let keepalive = match plain(level, "keepalive") {
        Some(d) => Some(set_from("keepalive", d)),
        None => new_defaults.then(|| default_setting("keepalive", "32")),
    };
    let keepalive_on = keepalive.as_ref().is_some_and(|k| k.value != "0");
    settings.extend(keepalive);
    match plain(level, "keepalive_timeout") {
        Some(d) => settings.push(set_from("keepalive_timeout", d)),
        None if keepalive_on => settings.push(default_setting("keepalive_timeout", "60s")),
        None => {}
    }
    for name in ["keepalive_requests", "keepalive_time"] {
        if let Some(d) = plain(level, name) {
            settings.push(set_from(name, d));
        }
    }
    if let Some(d) = level.iter().find(|d| BALANCING.contains(&d.name.as_str())) {
        let mut value = d.name.clone();
        for arg in &d.args {
            value.push(' ');
            value.push_str(arg);
        }
        settings.push(Setting {
            name: "balancing".into(),
            value,
            location: Some(d.location.clone()),
            default: false,
        });
    }
    if let Some(d) = plain(level, "zone") {
        settings.push(set_from("zone", d));
    }

    Pool {
        name: upstream.arg().unwrap_or_default().to_string(),
        location: Some(upstream.location.clone()),
        members,
        settings,
    }
}

fn member(server: &Directive) -> Option<PoolMember> {
    let (address, params) = server.args.split_first()?;
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|p| p.split_once('=').unwrap_or((p.as_str(), "on")))
        .collect();
    let at = |name: &str, value: &str| Setting {
        name: name.to_string(),
        value: value.to_string(),
        location: Some(server.location.clone()),
        default: false,
    };
    let mut settings = Vec::new();
    let with_defaults = [("max_fails", "1"), ("fail_timeout", "10s"), ("weight", "1")];
    for (name, default) in with_defaults {
        match params.iter().find(|(k, _)| *k == name) {
            Some((_, value)) => settings.push(at(name, value)),
            None => settings.push(default_setting(name, default)),
        }
    }
    for (name, value) in &params {
        if !with_defaults.iter().any(|(n, _)| n == name) {
            settings.push(at(name, value));
        }
    }
    Some(PoolMember {
        address: address.clone(),
        location: Some(server.location.clone()),
        settings,
    })
}

/// Log destinations that are not files one could read.
fn is_special_error_log(path: &str) -> bool {
    path == "stderr"
        || path == "/dev/null"
        || path.starts_with("syslog:")
        || path.starts_with("memory:")
}

impl NginxConfig {
    fn http(&self) -> impl Iterator<Item = &Directive> {
        blocks(&self.root, "http")
    }

    fn events_directive(&self, name: &str) -> Option<&Directive> {
        blocks(&self.root, "events").find_map(|events| plain(events.children(), name))
    }

    /// Routes, pools and global settings for the report. `version`: the nginx version if known
    /// (`1.22.1`), to choose defaults that changed between releases; unknown means the older ones.
    pub fn snapshot(&self, version: Option<&str>) -> ConfigSnapshot {
        let new_defaults = version
            .and_then(parse_version)
            .is_some_and(|v| v >= NEW_DEFAULTS_SINCE);

        let upstreams: Vec<&Directive> = self
            .http()
            .flat_map(|http| blocks(http.children(), "upstream"))
            .collect();
        let mut builder = RouteBuilder {
            upstreams: upstreams.iter().filter_map(|u| u.arg()).collect(),
            maps: self
                .http()
                .flat_map(|http| blocks(http.children(), "map"))
                .filter_map(|m| {
                    let var = m.args.get(1)?;
                    let values = m
                        .children()
                        .iter()
                        .filter(|e| !matches!(e.name.as_str(), "hostnames" | "volatile"))
                        .map(|e| e.args.first().map_or("", String::as_str))
                        .collect();
                    Some((var.as_str(), values))
                })
                .collect(),
            new_defaults,
            routes: Vec::new(),
            levels: Levels::default(),
        };
        for http in self.http() {
            for server in blocks(http.children(), "server") {
                let level = server.children();
                let info = ServerInfo {
                    names: level
                        .iter()
                        .filter(|d| d.name == "server_name" && d.block.is_none())
                        .flat_map(|d| d.args.iter().cloned())
                        .collect(),
                    listen: level
                        .iter()
                        .filter(|d| d.name == "listen" && d.block.is_none())
                        .map(|d| d.args.join(" "))
                        .collect(),
                };
                let mut chain = vec![http.children()];
                builder.walk(level, &mut chain, None, &info);
            }
        }

        let mut settings = Vec::new();
        settings.push(match self.events_directive("worker_connections") {
            Some(d) => set_from("worker_connections", d),
            None => default_setting("worker_connections", "512"),
        });
        settings.push(match plain(&self.root, "worker_processes") {
            Some(d) => set_from("worker_processes", d),
            None => default_setting("worker_processes", "1"),
        });
        if let Some(d) = plain(&self.root, "worker_rlimit_nofile") {
            settings.push(set_from("worker_rlimit_nofile", d));
        }
        let http_level = |name: &str| self.http().find_map(|http| plain(http.children(), name));
        if let Some(d) = http_level("resolver") {
            settings.push(set_from("resolver", d));
        }
        // what each `map` on a request header yields for a request without that header, for the
        // rules that read a variable's value (ingress-nginx's `Connection $connection_upgrade`)
        for http in self.http() {
            settings.extend(blocks(http.children(), "map").filter_map(map_setting));
        }
        settings.push(match http_level("server_tokens") {
            Some(d) => set_from("server_tokens", d),
            None => default_setting("server_tokens", "on"),
        });

        ConfigSnapshot {
            sources: self.files.clone(),
            version: version.map(|v| {
                if v.starts_with("nginx/") {
                    v.to_string()
                } else {
                    format!("nginx/{v}")
                }
            }),
            routes: builder.routes,
            pools: upstreams.iter().map(|u| pool(u, new_defaults)).collect(),
            settings,
        }
    }

    /// `error_log` files at main, http and server level, in config order; stderr, syslog, memory and
    /// /dev/null are left out since there is nothing to read. Relative paths are returned as written
    /// (nginx resolves them against its prefix).
    pub fn error_logs(&self) -> Vec<(String, SourceLocation)> {
        fn walk(level: &[Directive], depth: usize, out: &mut Vec<(String, SourceLocation)>) {
            for d in level {
                if d.name == "error_log" && d.block.is_none() {
                    if let Some(path) = d.arg().filter(|p| !is_special_error_log(p)) {
                        out.push((path.to_string(), d.location.clone()));
                    }
                }
                let descend = match depth {
                    0 => d.name == "http",
                    1 => d.name == "server",
                    _ => false,
                };
                if descend {
                    walk(d.children(), depth + 1, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, 0, &mut out);
        out
    }

    /// `access_log` directives anywhere, as (path, format name when given, where); `off` and syslog
    /// are left out. No format name means nginx's `combined`.
    pub fn access_logs(&self) -> Vec<(String, Option<String>, SourceLocation)> {
        let mut out = Vec::new();
        visit(&self.root, &mut |d| {
            if d.name != "access_log" || d.block.is_some() {
                return;
            }
            let Some(path) = d.arg() else {
                return;
            };
            if path == "off" || path.starts_with("syslog:") {
                return;
            }
            out.push((path.to_string(), d.args.get(1).cloned(), d.location.clone()));
        });
        out
    }

    /// Each `log_format` as (name, format), the format's pieces concatenated with nothing between them,
    /// as nginx does.
    pub fn log_formats(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        visit(&self.root, &mut |d| {
            if d.name != "log_format" || d.block.is_some() {
                return;
            }
            let Some((name, rest)) = d.args.split_first() else {
                return;
            };
            let rest = match rest.split_first() {
                Some((first, tail)) if first.starts_with("escape=") => tail,
                _ => rest,
            };
            out.push((name.clone(), rest.concat()));
        });
        out
    }

    /// Each `log_format` as (name, format, where the directive is), the format's pieces
    /// concatenated as nginx does: so that a format that cannot be used is named by its file and
    /// line.
    pub fn log_format_directives(&self) -> Vec<(String, String, SourceLocation)> {
        let mut out = Vec::new();
        visit(&self.root, &mut |d| {
            if d.name != "log_format" || d.block.is_some() {
                return;
            }
            let Some((name, rest)) = d.args.split_first() else {
                return;
            };
            let rest = match rest.split_first() {
                Some((first, tail)) if first.starts_with("escape=") => tail,
                _ => rest,
            };
            out.push((name.clone(), rest.concat(), d.location.clone()));
        });
        out
    }

    /// `worker_connections` from `events`, when set to a number.
    pub fn worker_connections(&self) -> Option<(u64, SourceLocation)> {
        let d = self.events_directive("worker_connections")?;
        Some((d.arg()?.parse().ok()?, d.location.clone()))
    }

    /// `worker_rlimit_nofile`, when set to a number.
    pub fn worker_rlimit_nofile(&self) -> Option<(u64, SourceLocation)> {
        let d = plain(&self.root, "worker_rlimit_nofile")?;
        Some((d.arg()?.parse().ok()?, d.location.clone()))
    }

    /// `worker_processes` as written (a number or `auto`), when set.
    pub fn worker_processes(&self) -> Option<(String, SourceLocation)> {
        let d = plain(&self.root, "worker_processes")?;
        Some((d.args.join(" "), d.location.clone()))
    }
}

/// Every directive, depth first in config order.
fn visit<'a>(level: &'a [Directive], f: &mut impl FnMut(&'a Directive)) {
    for d in level {
        f(d);
        visit(d.children(), f);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pass_targets_lose_query_values_and_passwords_but_keep_variables() {
        assert_eq!(
            redact_target("http://api.internal/v1?token=s3cr3t-nginx-q&v=$arg_v"),
            "http://api.internal/v1?token=<redacted>&v=$arg_v"
        );
        assert_eq!(
            redact_target("https://svc:hunter2pw@up:8443/x"),
            "https://svc:<redacted>@up:8443/x"
        );
        assert_eq!(redact_target("http://$target"), "http://$target");
        // Registered: an error.log line quoting the upstream URL is masked as well.
        assert_eq!(
            cloud502_model::secret::mask(
                "upstream: \"http://api.internal/v1?token=s3cr3t-nginx-q\""
            ),
            "upstream: \"http://api.internal/v1?token=<redacted>\""
        );
    }

    const FULL: &str = include_str!("../tests/fixtures/config/full.conf");
    const DEBIAN_DUMP: &str =
        include_str!("../tests/fixtures/config/debian-1.22.1-default.nginx-T.txt");

    /// The 1-based line of the only line containing `needle`, so tests do not hard-code numbers.
    fn line_of(text: &str, needle: &str) -> u32 {
        let lines: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains(needle))
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(lines.len(), 1, "{needle:?} should be on exactly one line");
        u32::try_from(lines[0]).unwrap()
    }

    fn at(file: &str, line: u32) -> Option<SourceLocation> {
        Some(SourceLocation {
            file: file.to_string(),
            line,
        })
    }

    fn full() -> ConfigSnapshot {
        parse_str(FULL, "full.conf")
            .unwrap()
            .snapshot(Some("1.22.1"))
    }

    fn value<'a>(settings: &'a [Setting], name: &str) -> Option<&'a str> {
        settings
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value.as_str())
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn routes_in_order_with_kind_target_scheme_pool() {
        let snap = full();
        type Summary<'a> = (
            &'a str,
            Option<&'a str>,
            ForwardKind,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            bool,
        );
        let summary: Vec<Summary<'_>> = snap
            .routes
            .iter()
            .map(|r| {
                (
                    r.id.as_str(),
                    r.path.as_deref(),
                    r.kind,
                    r.target.as_str(),
                    r.scheme.as_deref(),
                    r.pool.as_deref(),
                    r.dynamic,
                )
            })
            .collect();
        use ForwardKind::*;
        assert_eq!(
            summary,
            [
                (
                    "route.0",
                    Some("/"),
                    Proxy,
                    "http://app",
                    Some("http"),
                    Some("app"),
                    false
                ),
                (
                    "route.1",
                    Some("/api/"),
                    Proxy,
                    "https://api.example.net:8443/v1/",
                    Some("https"),
                    None,
                    false
                ),
                (
                    "route.2",
                    Some("/api/slow/"),
                    Proxy,
                    "http://app",
                    Some("http"),
                    Some("app"),
                    false
                ),
                (
                    "route.3",
                    Some("~ \\.php$"),
                    Fastcgi,
                    "unix:/run/php/php8.2-fpm.sock",
                    None,
                    None,
                    false
                ),
                (
                    "route.4",
                    Some("/dyn"),
                    Proxy,
                    "http://$backend:8080",
                    Some("http"),
                    None,
                    true
                ),
                (
                    "route.5",
                    Some("/dyn"),
                    Proxy,
                    "http://legacy",
                    Some("http"),
                    Some("legacy"),
                    false
                ),
                (
                    "route.6",
                    Some("/"),
                    Grpc,
                    "grpcs://10.0.0.9:50051",
                    Some("grpcs"),
                    None,
                    false
                ),
                (
                    "route.7",
                    Some("/u"),
                    Uwsgi,
                    "suwsgi://legacy",
                    Some("suwsgi"),
                    Some("legacy"),
                    false
                ),
                (
                    "route.8",
                    Some("/q"),
                    Proxy,
                    "http://legacy",
                    Some("http"),
                    Some("legacy"),
                    false
                ),
                (
                    "route.9",
                    Some("/p"),
                    Proxy,
                    "http://legacy/",
                    Some("http"),
                    Some("legacy"),
                    false
                ),
            ]
        );
        let r0 = &snap.routes[0];
        assert_eq!(r0.server_names, ["example.com", "www.example.com"]);
        assert_eq!(r0.listen, ["80", "[::]:80 default_server"]);
        assert_eq!(
            r0.location,
            // The pass sits on the line before the location's own read timeout.
            at("full.conf", line_of(FULL, "proxy_read_timeout 120s;") - 1)
        );
        assert_eq!(snap.routes[6].server_names, ["grpc.example.com"]);
        assert_eq!(snap.routes[6].listen, ["8443 ssl http2"]);
        assert_eq!(
            snap.routes[5].location,
            at("full.conf", line_of(FULL, "proxy_read_timeout 5s;") - 1)
        );
    }

    #[test]
    fn ordinary_directives_inherit_innermost_wins() {
        let snap = full();
        let read = |i: usize| {
            snap.routes[i]
                .setting("proxy_read_timeout")
                .unwrap()
                .clone()
        };
        let http_line = line_of(FULL, "proxy_read_timeout 30s;");
        assert_eq!(read(0).value, "120s");
        assert_eq!(
            read(0).location,
            at("full.conf", line_of(FULL, "proxy_read_timeout 120s;"))
        );
        assert!(!read(0).default);
        // Set at http level only: the http line is the one in force.
        assert_eq!(read(1).value, "30s");
        assert_eq!(read(1).location, at("full.conf", http_line));
        // Nested location: own connect timeout, read timeout from http, SNI from the outer location.
        let nested = &snap.routes[2];
        assert_eq!(nested.setting("proxy_connect_timeout").unwrap().value, "5s");
        assert_eq!(read(2).location, at("full.conf", http_line));
        let sni = nested.setting("proxy_ssl_server_name").unwrap();
        assert_eq!(sni.value, "on");
        assert_eq!(
            sni.location,
            at("full.conf", line_of(FULL, "proxy_ssl_server_name on;"))
        );
        // The `if` block's own setting applies to its pass only, not to the location's.
        assert_eq!(read(5).value, "5s");
        assert_eq!(read(4).value, "30s");
        // Client keepalive_timeout: server level in the second server, default in the first.
        assert_eq!(
            snap.routes[8].setting("keepalive_timeout").unwrap().value,
            "30s"
        );
        let ka = snap.routes[0].setting("keepalive_timeout").unwrap();
        assert_eq!(
            (ka.value.as_str(), ka.default, ka.location.as_ref()),
            ("75s", true, None)
        );
        // resolver is inherited from http, resolver_timeout has no default.
        assert_eq!(
            snap.routes[4].setting("resolver").unwrap().value,
            "10.0.0.2 valid=30s"
        );
        assert!(snap.routes[4].setting("resolver_timeout").is_none());
    }

    #[test]
    fn proxy_set_header_is_inherited_only_when_none_defined() {
        let snap = full();
        let headers = |i: usize| -> Vec<(String, String)> {
            snap.routes[i]
                .settings
                .iter()
                .filter(|s| s.name.starts_with("proxy_set_header "))
                .map(|s| (s.name.clone(), s.value.clone()))
                .collect()
        };
        let pair = |n: &str, v: &str| (format!("proxy_set_header {n}"), v.to_string());
        // The location sets one header, so http's two are not inherited at all.
        assert_eq!(headers(0), [pair("Connection", "")]);
        assert!(
            snap.routes[0]
                .setting("proxy_set_header Connection")
                .is_some()
        );
        assert!(snap.routes[0].setting("proxy_set_header Host").is_none());
        // None at server or location level: http's list in force.
        assert_eq!(
            headers(1),
            [pair("X-Real-IP", "$remote_addr"), pair("Host", "$host")]
        );
        assert!(
            snap.routes[1]
                .setting("proxy_set_header Connection")
                .is_none()
        );
        assert_eq!(headers(2), headers(1));
        // The second server has its own list: http's is hidden, the server's is inherited by /q...
        assert_eq!(headers(8), [pair("X-Server-Level", "yes")]);
        // ...and hidden in /p by the location's own.
        assert_eq!(headers(9), [pair("X-Only", "here")]);
        let only = snap.routes[9].setting("proxy_set_header X-Only").unwrap();
        assert_eq!(only.location, at("full.conf", line_of(FULL, "X-Only here")));
    }

    #[test]
    fn module_specific_settings_and_defaults() {
        let snap = full();
        let php = &snap.routes[3];
        assert_eq!(value(&php.settings, "fastcgi_read_timeout"), Some("300"));
        let connect = php.setting("fastcgi_connect_timeout").unwrap();
        assert_eq!(
            (
                connect.value.as_str(),
                connect.default,
                connect.location.as_ref()
            ),
            ("60s", true, None)
        );
        assert_eq!(value(&php.settings, "fastcgi_buffer_size"), Some("4k|8k"));
        assert_eq!(value(&php.settings, "fastcgi_buffers"), Some("8 4k|8k"));
        assert_eq!(
            value(&php.settings, "fastcgi_next_upstream"),
            Some("error timeout")
        );
        // http-level proxy settings do not leak into another module's route.
        assert!(php.settings.iter().all(|s| !s.name.starts_with("proxy_")));
        assert!(php.setting("fastcgi_ssl_verify").is_none());
        assert!(php.setting("proxy_http_version").is_none());

        let grpc = &snap.routes[6];
        assert!(grpc.setting("grpc_read_timeout").unwrap().default);
        assert!(grpc.setting("grpc_buffers").is_none());
        assert_eq!(value(&grpc.settings, "grpc_ssl_server_name"), Some("off"));

        let api = &snap.routes[1];
        for (name, expected) in [
            ("proxy_connect_timeout", "60s"),
            ("proxy_send_timeout", "60s"),
            ("proxy_buffer_size", "4k|8k"),
            ("proxy_buffers", "8 4k|8k"),
            ("proxy_next_upstream", "error timeout"),
            ("proxy_http_version", "1.0"),
            ("proxy_ssl_verify", "off"),
            ("keepalive_timeout", "75s"),
        ] {
            let s = api
                .setting(name)
                .unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(s.value, expected, "{name}");
            assert!(s.default, "{name} should be a default");
            assert!(s.location.is_none(), "{name}");
        }
        assert!(api.setting("proxy_ssl_trusted_certificate").is_none());
        let version = snap.routes[0].setting("proxy_http_version").unwrap();
        assert_eq!((version.value.as_str(), version.default), ("1.1", false));
    }

    #[test]
    fn proxy_http_version_default_follows_nginx_version() {
        let conf = parse_str(
            "http { server { location / { proxy_pass http://a; } } }",
            "v.conf",
        )
        .unwrap();
        let default_for = |v: Option<&str>| {
            let snap = conf.snapshot(v);
            let s = snap.routes[0]
                .setting("proxy_http_version")
                .unwrap()
                .clone();
            assert!(s.default);
            s.value
        };
        assert_eq!(default_for(None), "1.0");
        assert_eq!(default_for(Some("1.22.1")), "1.0");
        assert_eq!(default_for(Some("1.29.6")), "1.0");
        assert_eq!(default_for(Some("1.29.7")), "1.1");
        assert_eq!(default_for(Some("1.30.0")), "1.1");
        assert_eq!(default_for(Some("nginx/2.0.1 (Ubuntu)")), "1.1");
        assert_eq!(default_for(Some("garbage")), "1.0");
        assert_eq!(
            conf.snapshot(Some("1.22.1")).version.as_deref(),
            Some("nginx/1.22.1")
        );
        assert_eq!(
            conf.snapshot(Some("nginx/1.22.1")).version.as_deref(),
            Some("nginx/1.22.1")
        );
        assert_eq!(conf.snapshot(None).version, None);
    }

    #[test]
    fn upstreams_with_params_and_defaults() {
        let snap = full();
        assert_eq!(snap.pools.len(), 2);
        let app = snap.pool("app").unwrap();
        assert_eq!(
            app.location,
            at("full.conf", line_of(FULL, "upstream app {"))
        );
        assert_eq!(value(&app.settings, "balancing"), Some("least_conn"));
        assert_eq!(value(&app.settings, "zone"), Some("app 64k"));
        let keepalive = app.setting("keepalive").unwrap();
        assert_eq!(keepalive.value, "16");
        assert_eq!(
            keepalive.location,
            at("full.conf", line_of(FULL, "keepalive 16;"))
        );
        let timeout = app.setting("keepalive_timeout").unwrap();
        assert_eq!((timeout.value.as_str(), timeout.default), ("60s", true));

        let members: Vec<&str> = app.members.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(
            members,
            ["10.0.0.5:8080", "10.0.0.6:8080", "app.internal:8080"]
        );
        let first = &app.members[0];
        assert_eq!(
            first.location,
            at("full.conf", line_of(FULL, "server 10.0.0.5:8080"))
        );
        let max_fails = first.setting("max_fails").unwrap();
        assert_eq!((max_fails.value.as_str(), max_fails.default), ("3", false));
        assert_eq!(max_fails.location, first.location);
        assert_eq!(first.setting("fail_timeout").unwrap().value, "30s");
        let weight = first.setting("weight").unwrap();
        assert_eq!(
            (
                weight.value.as_str(),
                weight.default,
                weight.location.as_ref()
            ),
            ("1", true, None)
        );
        assert!(first.setting("backup").is_none());

        let second = &app.members[1];
        assert_eq!(second.setting("weight").unwrap().value, "5");
        assert_eq!(second.setting("backup").unwrap().value, "on");
        let max_fails = second.setting("max_fails").unwrap();
        assert_eq!((max_fails.value.as_str(), max_fails.default), ("1", true));
        assert_eq!(second.setting("fail_timeout").unwrap().value, "10s");

        let third = &app.members[2];
        assert_eq!(third.setting("resolve").unwrap().value, "on");
        assert_eq!(third.setting("max_conns").unwrap().value, "100");
        assert!(third.setting("down").is_none());

        // Before 1.29.7 an upstream without `keepalive` keeps no idle connections.
        let legacy = snap.pool("legacy").unwrap();
        assert!(legacy.setting("keepalive").is_none());
        assert!(legacy.setting("keepalive_timeout").is_none());
        assert!(legacy.setting("balancing").is_none());
    }

    #[test]
    fn upstream_keepalive_default_from_1_29_7() {
        let text = "http { upstream a { server 127.0.0.1:1; } upstream b { keepalive 0; server 127.0.0.1:2 down; } }";
        let conf = parse_str(text, "k.conf").unwrap();
        let snap = conf.snapshot(Some("1.29.7"));
        let a = snap.pool("a").unwrap();
        let keepalive = a.setting("keepalive").unwrap();
        assert_eq!((keepalive.value.as_str(), keepalive.default), ("32", true));
        assert_eq!(a.setting("keepalive_timeout").unwrap().value, "60s");
        let b = snap.pool("b").unwrap();
        assert_eq!(b.setting("keepalive").unwrap().value, "0");
        assert!(!b.setting("keepalive").unwrap().default);
        assert!(
            b.setting("keepalive_timeout").is_none(),
            "no idle timeout when keepalive is off"
        );
        assert_eq!(b.members[0].setting("down").unwrap().value, "on");
        let hash = parse_str(
            "http { upstream h { hash $request_uri consistent; server a:1; } }",
            "h.conf",
        )
        .unwrap()
        .snapshot(None);
        assert_eq!(
            value(&hash.pools[0].settings, "balancing"),
            Some("hash $request_uri consistent")
        );
    }

    #[test]
    fn global_settings() {
        let snap = full();
        let wc = snap.setting("worker_connections").unwrap();
        assert_eq!(wc.value, "4096");
        assert_eq!(
            wc.location,
            at("full.conf", line_of(FULL, "worker_connections 4096"))
        );
        assert_eq!(snap.setting("worker_processes").unwrap().value, "auto");
        assert_eq!(snap.setting("worker_rlimit_nofile").unwrap().value, "65535");
        assert_eq!(
            snap.setting("resolver").unwrap().value,
            "10.0.0.2 valid=30s"
        );
        assert_eq!(snap.setting("server_tokens").unwrap().value, "off");
        assert_eq!(snap.sources, ["full.conf"]);

        let conf = parse_str("events {} http {}", "bare.conf").unwrap();
        let bare = conf.snapshot(None);
        for (name, expected) in [
            ("worker_connections", "512"),
            ("worker_processes", "1"),
            ("server_tokens", "on"),
        ] {
            let s = bare.setting(name).unwrap();
            assert_eq!(
                (s.value.as_str(), s.default, s.location.as_ref()),
                (expected, true, None),
                "{name}"
            );
        }
        assert!(bare.setting("worker_rlimit_nofile").is_none());
        assert!(bare.setting("resolver").is_none());
        assert!(bare.routes.is_empty() && bare.pools.is_empty());
        assert_eq!(conf.worker_connections(), None);
        assert_eq!(conf.worker_processes(), None);
    }

    #[test]
    fn typed_worker_accessors() {
        let conf = parse_str(FULL, "full.conf").unwrap();
        assert_eq!(
            conf.worker_connections(),
            Some((
                4096,
                at("full.conf", line_of(FULL, "worker_connections")).unwrap()
            ))
        );
        assert_eq!(
            conf.worker_rlimit_nofile(),
            Some((
                65535,
                at("full.conf", line_of(FULL, "worker_rlimit_nofile")).unwrap()
            ))
        );
        assert_eq!(
            conf.worker_processes(),
            Some((
                "auto".to_string(),
                at("full.conf", line_of(FULL, "worker_processes")).unwrap()
            ))
        );
    }

    #[test]
    fn error_logs_at_main_http_server_only() {
        let conf = parse_str(FULL, "full.conf").unwrap();
        let logs: Vec<(String, u32)> = conf
            .error_logs()
            .into_iter()
            .map(|(p, l)| (p, l.line))
            .collect();
        assert_eq!(
            logs,
            [
                (
                    "/var/log/nginx/main-error.log".to_string(),
                    line_of(FULL, "main-error.log")
                ),
                (
                    "/var/log/nginx/error.log".to_string(),
                    line_of(FULL, "/var/log/nginx/error.log;")
                ),
                (
                    "logs/example.error.log".to_string(),
                    line_of(FULL, "example.error.log")
                ),
            ]
        );
        let special = parse_str(
            "error_log memory:32m debug; error_log /dev/null; error_log stderr; error_log syslog:server=x;",
            "s.conf",
        )
        .unwrap();
        assert!(special.error_logs().is_empty());
    }

    #[test]
    fn access_logs_anywhere() {
        let conf = parse_str(FULL, "full.conf").unwrap();
        let logs: Vec<(String, Option<String>, u32)> = conf
            .access_logs()
            .into_iter()
            .map(|(p, f, l)| (p, f, l.line))
            .collect();
        assert_eq!(
            logs,
            [
                (
                    "/var/log/nginx/access.log".into(),
                    Some("main".into()),
                    line_of(FULL, "access.log main")
                ),
                (
                    "/var/log/nginx/api.log".into(),
                    None,
                    line_of(FULL, "api.log")
                ),
            ]
        );
        let syslog = parse_str(
            "http { access_log syslog:server=10.0.0.1 main; access_log off; }",
            "s.conf",
        )
        .unwrap();
        assert!(syslog.access_logs().is_empty());
    }

    #[test]
    fn log_format_pieces_are_concatenated() {
        let conf = parse_str(FULL, "full.conf").unwrap();
        assert_eq!(
            conf.log_formats(),
            [
                (
                    "main".to_string(),
                    r#"{"time":"$time_iso8601","status":$status,"upstream":"$upstream_addr"}"#.to_string()
                ),
                (
                    "timed".to_string(),
                    r#"$remote_addr [$time_local] "$request" $status uct=$upstream_connect_time urt=$upstream_response_time"#
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn server_level_pass_has_no_path_and_unknown_pool_is_none() {
        let text = "http {\n upstream up { server 10.0.0.1; }\n server {\n  proxy_pass http://up;\n  location /x { proxy_pass http://up:8080; }\n  location /y { proxy_pass http://unix:/run/app.sock:/; }\n  location /z { proxy_pass $scheme://up; }\n }\n}";
        let snap = parse_str(text, "s.conf").unwrap().snapshot(None);
        assert_eq!(snap.routes.len(), 4);
        assert_eq!(snap.routes[0].path, None);
        assert_eq!(snap.routes[0].pool.as_deref(), Some("up"));
        assert_eq!(snap.routes[0].label(), "_");
        // With a port the name is a host name, not the upstream (nginx rejects the combination anyway).
        assert_eq!(snap.routes[1].pool, None);
        assert_eq!(snap.routes[2].pool, None);
        assert_eq!(snap.routes[2].scheme.as_deref(), Some("http"));
        assert!(snap.routes[3].dynamic);
        assert_eq!(snap.routes[3].scheme, None);
        assert_eq!(snap.routes[3].pool, None);
    }

    #[test]
    fn includes_follow_globs_relative_to_main_dir_and_keep_lines() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(
            dir.path(),
            "nginx.conf",
            "events {}\nhttp {\n    include conf.d/*.conf;\n    include sites-enabled/*;\n    proxy_read_timeout 7s;\n}\n",
        );
        write(
            dir.path(),
            "conf.d/b.conf",
            "# b\nserver {\n    server_name b.test;\n    location / {\n        proxy_pass http://b;\n    }\n}\n",
        );
        write(
            dir.path(),
            "conf.d/a.conf",
            "server {\n    server_name a.test;\n    location / {\n        include snippets/proxy.conf;\n        proxy_pass http://a;\n    }\n}\n",
        );
        write(
            dir.path(),
            "conf.d/ignored.txt",
            "this is not nginx syntax {",
        );
        write(dir.path(), "conf.d/.hidden.conf", "also not nginx syntax {");
        write(
            dir.path(),
            "snippets/proxy.conf",
            "\n\nproxy_set_header Connection \"\";\nproxy_connect_timeout 3s;\n",
        );

        let conf = load_files(&main).unwrap();
        let d = dir.path().display().to_string();
        assert_eq!(
            conf.files,
            [
                format!("{d}/nginx.conf"),
                format!("{d}/conf.d/a.conf"),
                format!("{d}/snippets/proxy.conf"),
                format!("{d}/conf.d/b.conf"),
            ]
        );
        let snap = conf.snapshot(None);
        assert_eq!(snap.sources, conf.files);
        assert_eq!(snap.routes.len(), 2);
        let a = &snap.routes[0];
        assert_eq!(a.server_names, ["a.test"]);
        assert_eq!(a.location, at(&format!("{d}/conf.d/a.conf"), 5));
        let connect = a.setting("proxy_connect_timeout").unwrap();
        assert_eq!(connect.location, at(&format!("{d}/snippets/proxy.conf"), 4));
        assert_eq!(a.setting("proxy_set_header Connection").unwrap().value, "");
        let b = &snap.routes[1];
        assert_eq!(b.location, at(&format!("{d}/conf.d/b.conf"), 5));
        // http-level setting after the includes, from the main file.
        assert_eq!(
            b.setting("proxy_read_timeout").unwrap().location,
            at(&format!("{d}/nginx.conf"), 5)
        );
    }

    #[test]
    fn absolute_include_and_repeated_file() {
        let dir = tempfile::tempdir().unwrap();
        let common = write(dir.path(), "common.conf", "proxy_read_timeout 11s;\n");
        let main = write(
            dir.path(),
            "nginx.conf",
            &format!(
                "http {{ server {{\n location /a {{ include {0}; proxy_pass http://a; }}\n location /b {{ include {0}; proxy_pass http://b; }}\n}} }}\n",
                common.display()
            ),
        );
        let conf = load_files(&main).unwrap();
        assert_eq!(conf.files.len(), 2, "a file included twice is listed once");
        let snap = conf.snapshot(None);
        for route in &snap.routes {
            assert_eq!(route.setting("proxy_read_timeout").unwrap().value, "11s");
        }
    }

    #[test]
    fn a_syntax_error_in_a_dump_names_the_dumps_own_line_too() {
        let dump = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { include conf.d/*.conf; }\n\n# configuration file /etc/nginx/conf.d/a.conf:\nserver {\n  listen 80;\n}\n}\n";
        let err = load_dump(dump, "nginx-T.txt").unwrap_err();
        let ConfigError::Syntax {
            file,
            line,
            message,
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!((file.as_str(), *line), ("/etc/nginx/conf.d/a.conf", 4));
        assert!(
            message.ends_with("(line 9 of the dump nginx-T.txt)"),
            "{message}"
        );
    }

    #[test]
    fn missing_includes_are_read_as_nothing_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(
            dir.path(),
            "nginx.conf",
            "http {\n  include missing.conf;\n  include sites/*.conf;\n  server_tokens off;\n}\n",
        );
        let c = load_files(&main).unwrap();
        assert_eq!(c.root[0].children().len(), 1, "the rest is still read");
        let notes: Vec<(u32, &str)> = c
            .unread_includes
            .iter()
            .map(|(at, what)| (at.line, what.as_str()))
            .collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(notes[0].0, 2);
        assert!(
            notes[0].1.contains(&format!(
                "{}/missing.conf, which does not exist",
                dir.path().display()
            )),
            "{notes:?}"
        );
        assert_eq!(notes[1], (3, "include \"sites/*.conf\" matched no file"));

        // the main file itself missing is still an error, one line long
        let err = load_files(&dir.path().join("nope.conf")).unwrap_err();
        assert!(!err.to_string().contains("hint"), "{err}");
        assert_eq!(err.hint(), "pass --config PATH or --dump PATH");
    }

    #[test]
    fn include_loops_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(dir.path(), "nginx.conf", "http { include loop/*.conf; }\n");
        write(dir.path(), "loop/one.conf", "include loop/two.conf;\n");
        write(dir.path(), "loop/two.conf", "include loop/one.conf;\n");
        let err = load_files(&main).unwrap_err();
        let ConfigError::IncludeLoop { file } = &err else {
            panic!("expected IncludeLoop, got {err:?}");
        };
        assert!(file.ends_with("loop/one.conf"), "{file}");
        assert!(err.to_string().contains("include loop"), "{err}");

        let itself = write(dir.path(), "self.conf", "include self.conf;\n");
        assert!(matches!(
            load_files(&itself),
            Err(ConfigError::IncludeLoop { .. })
        ));
    }

    #[test]
    fn syntax_error_in_an_included_file_names_that_file() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(
            dir.path(),
            "nginx.conf",
            "http {\n include conf.d/*.conf;\n}\n",
        );
        write(
            dir.path(),
            "conf.d/bad.conf",
            "server {\n  listen 80;\n}\n}\n",
        );
        let err = load_files(&main).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}/conf.d/bad.conf:4: unexpected \"}}\"",
                dir.path().display()
            )
        );
        let err = parse_str("http {\n  include\n}", "x.conf").unwrap_err();
        assert!(
            matches!(err, ConfigError::Syntax { line: 3, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn include_with_wrong_arity_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let main = write(
            dir.path(),
            "nginx.conf",
            "http {\n include a.conf b.conf;\n}\n",
        );
        let err = load_files(&main).unwrap_err();
        assert!(
            matches!(err, ConfigError::Syntax { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn parse_str_does_not_follow_includes() {
        let conf = parse_str("http { include /nonexistent/*.conf; }", "p.conf").unwrap();
        assert_eq!(conf.root[0].children()[0].name, "include");
        assert_eq!(conf.files, ["p.conf"]);
    }

    #[test]
    fn debian_default_dump() {
        let conf = load_dump(DEBIAN_DUMP, "nginx-T.txt").unwrap();
        assert_eq!(
            conf.files,
            [
                "/etc/nginx/nginx.conf",
                "/etc/nginx/modules-enabled/50-mod-http-echo.conf",
                "/etc/nginx/mime.types",
                "/etc/nginx/sites-enabled/default",
            ]
        );
        let main = "/etc/nginx/nginx.conf";
        assert_eq!(conf.root[0].name, "user");
        assert_eq!(conf.root[0].location, at(main, 1).unwrap());
        // The module include was spliced in place at the main level.
        assert_eq!(conf.root[4].name, "load_module");
        assert_eq!(
            conf.root[4].location,
            at("/etc/nginx/modules-enabled/50-mod-http-echo.conf", 1).unwrap()
        );
        assert_eq!(conf.worker_connections(), Some((768, at(main, 8).unwrap())));
        assert_eq!(
            conf.worker_processes(),
            Some(("auto".into(), at(main, 2).unwrap()))
        );
        assert_eq!(
            conf.error_logs(),
            [("/var/log/nginx/error.log".to_string(), at(main, 4).unwrap())]
        );
        assert_eq!(
            conf.access_logs(),
            [(
                "/var/log/nginx/access.log".to_string(),
                None,
                at(main, 40).unwrap()
            )]
        );
        let http = conf.root.iter().find(|d| d.name == "http").unwrap();
        let types = http.children().iter().find(|d| d.name == "types").unwrap();
        assert_eq!(types.location.file, "/etc/nginx/mime.types");
        assert!(
            types
                .children()
                .iter()
                .any(|d| d.name == "text/html" && d.args == ["html", "htm", "shtml"])
        );
        let server = http.children().iter().find(|d| d.name == "server").unwrap();
        assert_eq!(
            server.location,
            at("/etc/nginx/sites-enabled/default", 21).unwrap()
        );
        assert_eq!(server.children()[0].args, ["80", "default_server"]);
        let snap = conf.snapshot(Some("1.22.1"));
        assert!(snap.routes.is_empty());
        assert_eq!(snap.setting("server_tokens").unwrap().value, "on");
        assert_eq!(snap.sources.len(), 4);
    }

    #[test]
    fn dump_without_markers_is_not_a_dump() {
        let err = load_dump("http { server { } }\n", "capture.txt").unwrap_err();
        assert!(matches!(&err, ConfigError::NotADump { path } if path == "capture.txt"));
        let message = err.to_string();
        assert!(
            message.starts_with("capture.txt is not `nginx -T` output"),
            "{message}"
        );
        assert!(!message.contains("hint:"), "{message}");
        assert!(
            err.hint().contains("nginx -T > FILE 2>&1"),
            "{}",
            err.hint()
        );
        let failed = "nginx: [emerg] unknown directive \"foo\" in /etc/nginx/nginx.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n";
        assert!(matches!(
            load_dump(failed, "-"),
            Err(ConfigError::NotADump { .. })
        ));
    }

    #[test]
    fn dump_with_status_lines_after_and_crlf() {
        let text = "# configuration file /etc/nginx/nginx.conf:\r\nhttp {\r\n  include conf.d/*.conf;\r\n  include /etc/nginx/missing.conf;\r\n}\r\n\r\n# configuration file /etc/nginx/conf.d/app.conf:\r\nserver {\r\n  location / { proxy_pass http://127.0.0.1:3000; }\r\n}\r\n\r\nnginx: the configuration file /etc/nginx/nginx.conf syntax is ok\r\nnginx: configuration file /etc/nginx/nginx.conf test is successful\r\n";
        let conf = load_dump(text, "dump.txt").unwrap();
        assert_eq!(
            conf.files,
            ["/etc/nginx/nginx.conf", "/etc/nginx/conf.d/app.conf"]
        );
        let snap = conf.snapshot(None);
        assert_eq!(snap.routes.len(), 1);
        assert_eq!(snap.routes[0].location, at("/etc/nginx/conf.d/app.conf", 2));
    }

    #[test]
    fn dump_include_loop_is_caught() {
        let text = "# configuration file /x/nginx.conf:\ninclude a.conf;\n# configuration file /x/a.conf:\ninclude nginx.conf;\n";
        assert!(matches!(
            load_dump(text, "d"),
            Err(ConfigError::IncludeLoop { .. })
        ));
    }

    fn find_nginx() -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
            .map(|dir| dir.join("nginx"))
            .find(|p| p.is_file())
    }

    #[test]
    #[allow(clippy::print_stderr)]
    fn real_nginx_dump_matches_files() {
        let Some(nginx) = find_nginx() else {
            eprintln!("skipped: nginx is not installed (apt-get install nginx-light)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let main = write(
            d,
            "nginx.conf",
            "worker_processes 2;\nerror_log error.log;\npid nginx.pid;\nevents {\n    worker_connections 64;\n}\nhttp {\n    log_format up '$remote_addr \"$request\" $status '\n                  'ua=\"$upstream_addr\" us=$upstream_status';\n    access_log access.log up;\n    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    upstream app {\n        server 127.0.0.1:9001 max_fails=2 fail_timeout=5s;\n        server 127.0.0.1:9002 backup;\n        keepalive 8;\n    }\n    include conf.d/*.conf;\n    include extra.conf;\n}\n",
        );
        write(
            d,
            "conf.d/10-app.conf",
            "server {\n    listen 127.0.0.1:18080;\n    server_name app.test;\n\n    location / {\n        include snippets/keepalive.conf;\n        proxy_pass http://app;\n    }\n    location /dyn/ {\n        resolver 127.0.0.1 valid=10s;\n        set $target \"127.0.0.1:9003\";\n        proxy_pass http://$target;\n    }\n}\n",
        );
        write(
            d,
            "conf.d/20-php.conf",
            "server {\n    listen 127.0.0.1:18081;\n    location ~ \\.php$ {\n        fastcgi_pass unix:/run/php/php-fpm.sock;\n        fastcgi_read_timeout 120s;\n    }\n}\n",
        );
        write(
            d,
            "snippets/keepalive.conf",
            "proxy_http_version 1.1;\nproxy_set_header Connection \"\";\nproxy_read_timeout 90s;\n",
        );
        write(d, "extra.conf", "server_tokens off;\n");

        // One file for both streams, as `nginx -T > FILE 2>&1` gives it.
        let capture = d.join("dump.txt");
        let out = std::fs::File::create(&capture).unwrap();
        let status = std::process::Command::new(&nginx)
            .arg("-T")
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(&main)
            .arg("-e")
            .arg(d.join("startup-error.log"))
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .status()
            .unwrap();
        let text = std::fs::read_to_string(&capture).unwrap();
        assert!(status.success(), "nginx -T failed:\n{text}");
        assert!(text.contains("test is successful"), "{text}");

        let from_dump = load_dump(&text, &capture.display().to_string()).unwrap();
        let from_files = load_files(&main).unwrap();
        assert_eq!(from_dump.files, from_files.files);
        assert_eq!(from_dump.root, from_files.root);
        assert_eq!(
            from_dump.snapshot(Some("1.22.1")),
            from_files.snapshot(Some("1.22.1"))
        );
        assert_eq!(from_dump.log_formats(), from_files.log_formats());
        assert_eq!(from_dump.access_logs(), from_files.access_logs());

        let snap = from_dump.snapshot(Some("1.22.1"));
        let app_conf = format!("{}/conf.d/10-app.conf", d.display());
        let snippet = format!("{}/snippets/keepalive.conf", d.display());
        assert_eq!(snap.routes.len(), 3);
        assert_eq!(snap.routes[0].location, at(&app_conf, 7));
        assert_eq!(snap.routes[0].pool.as_deref(), Some("app"));
        assert_eq!(
            snap.routes[0]
                .setting("proxy_read_timeout")
                .unwrap()
                .location,
            at(&snippet, 3)
        );
        assert_eq!(
            snap.routes[0]
                .setting("proxy_set_header Connection")
                .unwrap()
                .value,
            ""
        );
        assert!(
            snap.routes[0]
                .setting("proxy_set_header X-Forwarded-For")
                .is_none()
        );
        assert_eq!(snap.routes[1].location, at(&app_conf, 12));
        assert!(snap.routes[1].dynamic);
        assert!(
            snap.routes[1]
                .setting("proxy_set_header X-Forwarded-For")
                .is_some()
        );
        assert_eq!(
            snap.routes[1].setting("resolver").unwrap().location,
            at(&app_conf, 10)
        );
        assert_eq!(snap.routes[2].kind, ForwardKind::Fastcgi);
        assert_eq!(snap.routes[2].path.as_deref(), Some("~ \\.php$"));
        assert_eq!(
            snap.setting("server_tokens").unwrap().location,
            at(&format!("{}/extra.conf", d.display()), 1)
        );
        assert_eq!(
            from_dump.log_formats(),
            [(
                "up".to_string(),
                "$remote_addr \"$request\" $status ua=\"$upstream_addr\" us=$upstream_status"
                    .to_string()
            )]
        );
    }
}
