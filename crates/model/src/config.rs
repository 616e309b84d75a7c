//! Gateway configuration as evidence: routes that forward traffic, the pools they forward to, and the
//! settings on each, every one with the file:line it came from when the source is a file.
//!
//! The shape is shared by providers so one rule can serve several of them: an nginx `location` with
//! `proxy_pass` and an ALB listener rule are both a [`Route`]; an nginx `upstream{}` block and an ALB
//! target group are both a [`Pool`]. Provider-specific knobs are [`Setting`]s named as the provider
//! names them (`proxy_read_timeout`, `idle_timeout.timeout_seconds`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a setting was read: a config file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct SourceLocation {
    /// The file, as the config names it (for a `nginx -T` dump, the file the dump says it came from).
    pub file: String,
    /// 1-based line number.
    pub line: u32,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One named setting with its value as written (or the default in force when `default` is true).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Setting {
    /// The provider's own name for it (`proxy_read_timeout`, `keepalive`, `idle_timeout.timeout_seconds`).
    pub name: String,
    /// The value, verbatim (several arguments joined by one space).
    pub value: String,
    /// Where it was set; absent for API-sourced settings and defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// True when nothing set it and this is the provider's documented default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

/// How a route hands requests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardKind {
    /// HTTP(S) reverse proxy (nginx `proxy_pass`, ALB forward, AppGW rule).
    Proxy,
    /// FastCGI (`fastcgi_pass`).
    Fastcgi,
    /// uwsgi (`uwsgi_pass`).
    Uwsgi,
    /// gRPC (`grpc_pass`).
    Grpc,
}

impl ForwardKind {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardKind::Proxy => "proxy",
            ForwardKind::Fastcgi => "fastcgi",
            ForwardKind::Uwsgi => "uwsgi",
            ForwardKind::Grpc => "grpc",
        }
    }
}

/// A frontend path that forwards to a backend: an nginx `location` with a `*_pass`, an ALB listener
/// rule, an AppGW routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Route {
    /// Stable id within the report (`route.0`).
    pub id: String,
    /// The server names it answers for (empty: the default server).
    #[serde(default)]
    pub server_names: Vec<String>,
    /// The listen addresses (`80`, `127.0.0.1:8080 ssl`).
    #[serde(default)]
    pub listen: Vec<String>,
    /// The matched path (`/`, `~ \.php$`); absent when the pass sits in the server block itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How it forwards.
    pub kind: ForwardKind,
    /// The target as written (`http://app`, `unix:/run/php.sock`, `https://$backend`).
    pub target: String,
    /// The scheme of the target (`http`, `https`, `grpcs`, ... ; `fastcgi` and `uwsgi` have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The pool it forwards to, when the target names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// True when the target contains a variable, so names are resolved at request time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dynamic: bool,
    /// Where the pass directive is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// The settings in force for this route (own, inherited and the relevant defaults).
    #[serde(default)]
    pub settings: Vec<Setting>,
}

impl Route {
    /// The setting of this name in force, if any.
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }

    /// A short label: `server_name location` or the target.
    pub fn label(&self) -> String {
        let server = self.server_names.first().map(String::as_str).unwrap_or("_");
        match &self.path {
            Some(path) => format!("{server} location {path}"),
            None => server.to_string(),
        }
    }
}

/// One member of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PoolMember {
    /// The address as written (`10.0.0.5:8080`, `app.internal`, `unix:/run/app.sock`).
    pub address: String,
    /// Where it is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// Member parameters (`max_fails`, `fail_timeout`, `weight`, `backup`, `down`), with defaults filled in.
    #[serde(default)]
    pub settings: Vec<Setting>,
}

impl PoolMember {
    /// The setting of this name, if any.
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }
}

/// A group of backends a route forwards to: an nginx `upstream{}`, an ALB target group, an AppGW backend pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Pool {
    /// Its name.
    pub name: String,
    /// Where it is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// Its members.
    #[serde(default)]
    pub members: Vec<PoolMember>,
    /// Pool-wide settings (`keepalive`, `keepalive_timeout`, `idle_timeout.timeout_seconds`).
    #[serde(default)]
    pub settings: Vec<Setting>,
}

impl Pool {
    /// The setting of this name, if any.
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }
}

/// The configuration a provider read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ConfigSnapshot {
    /// The files (or API resources) it was read from, in the order read.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The product version, when known (`nginx/1.22.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Routes that forward traffic.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Pools the routes forward to.
    #[serde(default)]
    pub pools: Vec<Pool>,
    /// Global settings (`worker_connections`, `error_log`, `resolver` at http level, ...).
    #[serde(default)]
    pub settings: Vec<Setting>,
}

impl ConfigSnapshot {
    /// The pool of this name.
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The global setting of this name.
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }

    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty() && self.routes.is_empty() && self.pools.is_empty()
    }
}

/// The outcome of one check run on the gateway's host (`nginx -t`, open-files limit, unit state, port listening).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostCheck {
    /// Stable id within the report (`host.nginx-t`, `host.listening.127.0.0.1:8080`).
    pub id: String,
    /// What was checked, in a few words.
    pub name: String,
    /// The result.
    pub status: CheckStatus,
    /// What was seen, in one line.
    pub detail: String,
}

/// The result of a host check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// The check passed.
    Pass,
    /// The check found a problem.
    Fail,
    /// The check could not run here (no binary, no systemd, not permitted).
    Skipped,
}

impl CheckStatus {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::Skipped => "skipped",
        }
    }
}
