//! Per-host settings (KB 9.3): Configuration Rules (ruleset phase `http_config_settings`, action
//! `set_config` with `ssl`) and Page Rules (action `ssl`) can set the SSL/TLS mode for one host;
//! Origin Rules (phase `http_request_origin`, action `route`) change the Host header, SNI, DNS
//! target and port Cloudflare uses towards the origin; Workers routes put a Worker in front of the
//! host. This module reads their API shapes and decides which apply to the host diagnosed.
//!
//! Precedence, as Cloudflare documents it: within a ruleset phase every matching rule applies in
//! order and the last one that sets a field wins; the Rules products take precedence over Page
//! Rules; of Page Rules only the first match (highest `priority`) applies.
//!
//! Rule expressions are evaluated in their simple, common forms only (`true`, `http.host eq "x"`,
//! `http.host in {"x" "y"}`, `ne`, `or` / `and` of such terms, parentheses). Anything else is
//! reported as "cannot tell whether it applies", never guessed.

use serde::Deserialize;

/// Whether a rule applies to the host's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// To every request of the host.
    All,
    /// To none.
    None,
    /// Cannot tell from the expression (other fields, functions, part of the paths).
    Unknown,
}

/// `GET /zones/{id}/rulesets/phases/{phase}/entrypoint` `result`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ruleset {
    /// Ruleset id.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub id: String,
    /// The rules, in evaluation order.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub rules: Vec<RulesetRule>,
}

/// One rule of a ruleset.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RulesetRule {
    /// Rule id.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub id: String,
    /// `set_config`, `route`, ...
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub action: String,
    /// The filter expression.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub expression: String,
    /// Description (the name the dashboard shows).
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub description: String,
    /// `false` when disabled; absent means enabled.
    pub enabled: Option<bool>,
    /// The action's parameters (`ssl`, `host_header`, `origin`, `sni`).
    pub action_parameters: serde_json::Value,
}

impl RulesetRule {
    /// How the report names the rule: its description, else its id.
    pub fn label(&self) -> String {
        if self.description.trim().is_empty() {
            format!("id {}", self.id)
        } else {
            format!("\"{}\"", self.description.trim())
        }
    }
}

/// `GET /zones/{id}/pagerules` element.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PageRule {
    /// Id.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub id: String,
    /// URL targets.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub targets: Vec<PageRuleTarget>,
    /// Actions (`{"id": "ssl", "value": "flexible"}`).
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub actions: Vec<PageRuleAction>,
    /// Higher is evaluated first.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub priority: i64,
    /// `active` or `disabled`.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub status: String,
}

/// A Page Rule target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PageRuleTarget {
    /// `url`.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub target: String,
    /// `{operator: "matches", value: "*example.com/*"}`.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub constraint: PageRuleConstraint,
}

/// A Page Rule target's constraint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PageRuleConstraint {
    /// `matches`.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub operator: String,
    /// The URL pattern.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub value: String,
}

/// A Page Rule action.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PageRuleAction {
    /// `ssl`, `always_online`, ...
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub id: String,
    /// Its value.
    pub value: serde_json::Value,
}

/// `GET /zones/{id}/workers/routes` element.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WorkerRoute {
    /// Id.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub id: String,
    /// `app1.example.com/*`.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub pattern: String,
    /// The Worker's name; empty on a route that disables Workers for its pattern.
    #[serde(deserialize_with = "crate::resources::null_default")]
    pub script: String,
}

/// What an Origin Rule changes, merged over the rules that apply (the last one wins per field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginRoute {
    /// The rules that set something, as named in the report.
    pub rules: Vec<String>,
    /// `host_header`.
    pub host_header: Option<String>,
    /// `sni.value`.
    pub sni: Option<String>,
    /// `origin.host`: the DNS record Cloudflare resolves instead of the host's.
    pub origin_host: Option<String>,
    /// `origin.port`.
    pub port: Option<u16>,
}

impl OriginRoute {
    /// Whether any field is set.
    pub fn is_set(&self) -> bool {
        self.host_header.is_some()
            || self.sni.is_some()
            || self.origin_host.is_some()
            || self.port.is_some()
    }

    /// `Host header X, SNI Y, DNS target Z, port N`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(h) = &self.host_header {
            parts.push(format!("Host header {h}"));
        }
        if let Some(s) = &self.sni {
            parts.push(format!("SNI {s}"));
        }
        if let Some(o) = &self.origin_host {
            parts.push(format!("DNS target {o}"));
        }
        if let Some(p) = self.port {
            parts.push(format!("port {p}"));
        }
        parts.join(", ")
    }
}

/// The SSL/TLS mode a rule sets for the host, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslOverride {
    /// `off`, `flexible`, `full`, `strict`, `origin_pull`.
    pub value: String,
    /// `Configuration Rule "name"` or `Page Rule "pattern"`.
    pub source: String,
}

/// What the host's rules decide.
#[derive(Debug, Clone, Default)]
pub struct HostRules {
    /// The SSL/TLS mode set for the host by a rule, when one applies.
    pub ssl: Option<SslOverride>,
    /// What Origin Rules change for the host.
    pub origin: OriginRoute,
    /// Workers routes whose pattern covers the host (with a Worker).
    pub workers: Vec<WorkerRoute>,
    /// Rules that may apply, whose expression or pattern is not evaluated here.
    pub unknown: Vec<String>,
}

/// Decide the host's SSL mode from Configuration Rules, then Page Rules (the Rules products
/// take precedence over Page Rules).
pub fn ssl_for(
    host: &str,
    config_rules: &[RulesetRule],
    page_rules: &[PageRule],
    unknown: &mut Vec<String>,
) -> Option<SslOverride> {
    let mut out: Option<SslOverride> = None;
    for r in config_rules.iter().filter(|r| r.enabled != Some(false)) {
        let Some(ssl) = (r.action == "set_config")
            .then(|| r.action_parameters.get("ssl").and_then(|v| v.as_str()))
            .flatten()
        else {
            continue;
        };
        match expression_applies(&r.expression, host) {
            // The last matching rule wins.
            Applies::All => {
                out = Some(SslOverride {
                    value: ssl.to_owned(),
                    source: format!("Configuration Rule {}", r.label()),
                });
            }
            Applies::None => {}
            Applies::Unknown => unknown.push(format!(
                "Configuration Rule {} sets SSL/TLS mode {ssl} where `{}`",
                r.label(),
                r.expression
            )),
        }
    }
    if out.is_some() {
        return out;
    }
    let mut rules: Vec<&PageRule> = page_rules
        .iter()
        .filter(|p| p.status.is_empty() || p.status == "active")
        .collect();
    // Highest priority first; the first rule that matches a request is the only one applied.
    rules.sort_by_key(|p| std::cmp::Reverse(p.priority));
    for p in rules {
        let pattern = p
            .targets
            .iter()
            .find(|t| t.target == "url" || t.target.is_empty())
            .map(|t| t.constraint.value.as_str())
            .unwrap_or("");
        let ssl = p
            .actions
            .iter()
            .find(|a| a.id == "ssl")
            .and_then(|a| a.value.as_str());
        match url_pattern_applies(pattern, host) {
            Applies::All => {
                return ssl.map(|v| SslOverride {
                    value: v.to_owned(),
                    source: format!("Page Rule \"{pattern}\""),
                });
            }
            Applies::None => {}
            Applies::Unknown => {
                // A Page Rule for part of the host's paths: later rules may still apply to the
                // rest, so go on, and say that this one may decide some requests.
                if let Some(v) = ssl {
                    unknown.push(format!(
                        "Page Rule \"{pattern}\" sets SSL/TLS mode {v} for part of the host's URLs"
                    ));
                }
            }
        }
    }
    None
}

/// Merge the Origin Rules that apply to the host (the last one wins per field).
pub fn origin_for(host: &str, rules: &[RulesetRule], unknown: &mut Vec<String>) -> OriginRoute {
    let mut out = OriginRoute::default();
    for r in rules
        .iter()
        .filter(|r| r.enabled != Some(false) && r.action == "route")
    {
        let p = &r.action_parameters;
        let route = OriginRoute {
            rules: vec![format!("Origin Rule {}", r.label())],
            host_header: p
                .get("host_header")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            sni: p
                .pointer("/sni/value")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            origin_host: p
                .pointer("/origin/host")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            port: p
                .pointer("/origin/port")
                .and_then(|v| v.as_u64())
                .and_then(|v| u16::try_from(v).ok()),
        };
        if !route.is_set() {
            continue;
        }
        match expression_applies(&r.expression, host) {
            Applies::All => {
                out.rules.extend(route.rules);
                out.host_header = route.host_header.or(out.host_header);
                out.sni = route.sni.or(out.sni);
                out.origin_host = route.origin_host.or(out.origin_host);
                out.port = route.port.or(out.port);
            }
            Applies::None => {}
            Applies::Unknown => unknown.push(format!(
                "Origin Rule {} sets {} where `{}`",
                r.label(),
                route.describe(),
                r.expression
            )),
        }
    }
    out
}

/// The Workers routes in front of the host (a route without a script turns Workers off for its
/// pattern and is left out).
pub fn workers_for(host: &str, routes: &[WorkerRoute]) -> Vec<WorkerRoute> {
    routes
        .iter()
        .filter(|r| !r.script.is_empty())
        .filter(|r| url_pattern_host_matches(&r.pattern, host))
        .cloned()
        .collect()
}

/// Whether a rule expression applies to every request of `host`.
pub fn expression_applies(expression: &str, host: &str) -> Applies {
    let e = strip_parens(expression.trim());
    if e.is_empty() {
        return Applies::Unknown;
    }
    let ors = split_top(e, "or").or_else(|| split_top(e, "||"));
    if let Some(terms) = ors {
        let got: Vec<Applies> = terms.iter().map(|t| expression_applies(t, host)).collect();
        return if got.contains(&Applies::All) {
            Applies::All
        } else if got.iter().all(|a| *a == Applies::None) {
            Applies::None
        } else {
            Applies::Unknown
        };
    }
    let ands = split_top(e, "and").or_else(|| split_top(e, "&&"));
    if let Some(terms) = ands {
        let got: Vec<Applies> = terms.iter().map(|t| expression_applies(t, host)).collect();
        return if got.contains(&Applies::None) {
            Applies::None
        } else if got.iter().all(|a| *a == Applies::All) {
            Applies::All
        } else {
            Applies::Unknown
        };
    }
    term(e, host)
}

/// One comparison on `http.host`.
fn term(e: &str, host: &str) -> Applies {
    if e == "true" {
        return Applies::All;
    }
    if e == "false" {
        return Applies::None;
    }
    let (negate, e) = match e.strip_prefix("not ") {
        Some(rest) => (true, strip_parens(rest.trim())),
        None => (false, e),
    };
    let Some(rest) = e.strip_prefix("http.host") else {
        return Applies::Unknown;
    };
    let rest = rest.trim_start();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let found = if let Some(v) = rest.strip_prefix("eq ").or_else(|| rest.strip_prefix("==")) {
        quoted(v.trim()).map(|q| q.eq_ignore_ascii_case(&host))
    } else if let Some(v) = rest.strip_prefix("ne ").or_else(|| rest.strip_prefix("!=")) {
        quoted(v.trim()).map(|q| !q.eq_ignore_ascii_case(&host))
    } else if let Some(v) = rest.strip_prefix("in ") {
        set(v.trim()).map(|items| items.iter().any(|i| i.eq_ignore_ascii_case(&host)))
    } else {
        None
    };
    match found {
        Some(m) if m != negate => Applies::All,
        Some(_) => Applies::None,
        None => Applies::Unknown,
    }
}

/// `"text"` as text, when the whole of `s` is one string literal.
fn quoted(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then(|| inner.replace("\\\\", "\\"))
}

/// `{"a" "b"}` as its strings.
fn set(s: &str) -> Option<Vec<String>> {
    let inner = s.strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    for part in inner.split('"').skip(1).step_by(2) {
        out.push(part.to_owned());
    }
    // Only quoted strings and spaces between them.
    let rest: String = inner.split('"').step_by(2).collect();
    (rest.trim().is_empty() && !out.is_empty()).then_some(out)
}

/// Remove parentheses around the whole expression.
fn strip_parens(mut e: &str) -> &str {
    loop {
        let Some(inner) = e.strip_prefix('(').and_then(|s| s.strip_suffix(')')) else {
            return e;
        };
        // Only when the first `(` closes at the end.
        let mut depth = 0i32;
        let mut in_str = false;
        for (i, c) in e.char_indices() {
            match c {
                '"' => in_str = !in_str,
                '(' if !in_str => depth += 1,
                ')' if !in_str => {
                    depth -= 1;
                    if depth == 0 && i != e.len() - 1 {
                        return e;
                    }
                }
                _ => {}
            }
        }
        e = inner.trim();
    }
}

/// `e` split at the top-level operator `op` (a word surrounded by spaces, or a symbol), when it
/// occurs outside strings, sets and parentheses.
fn split_top<'a>(e: &'a str, op: &str) -> Option<Vec<&'a str>> {
    let needle = if op.chars().all(|c| c.is_ascii_alphabetic()) {
        format!(" {op} ")
    } else {
        op.to_owned()
    };
    let bytes = e.as_bytes();
    let mut parts = Vec::new();
    let (mut depth, mut in_str, mut start, mut i) = (0i32, false, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_str = !in_str,
            b'(' | b'{' if !in_str => depth += 1,
            b')' | b'}' if !in_str => depth -= 1,
            _ if !in_str && depth == 0 && e[i..].starts_with(&needle) => {
                parts.push(e[start..i].trim());
                i += needle.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if parts.is_empty() {
        return None;
    }
    parts.push(e[start..].trim());
    Some(parts)
}

/// Whether a Page Rule URL pattern (`*example.com/*`, `www.example.com/*`,
/// `https://www.example.com/images/*`) applies to every URL of the host: its host part matches
/// and its path part is empty or `*`.
pub fn url_pattern_applies(pattern: &str, host: &str) -> Applies {
    if !url_pattern_host_matches(pattern, host) {
        return Applies::None;
    }
    let rest = strip_scheme(pattern.trim());
    match rest.split_once('/') {
        None => Applies::All,
        Some((_, path)) if path.is_empty() || path == "*" => Applies::All,
        Some(_) => Applies::Unknown,
    }
}

fn strip_scheme(p: &str) -> &str {
    let lower = p.to_ascii_lowercase();
    if lower.starts_with("https://") {
        &p[8..]
    } else if lower.starts_with("http://") {
        &p[7..]
    } else if lower.starts_with("*://") {
        &p[4..]
    } else {
        p
    }
}

/// Whether the host part of a URL pattern (`*` a wildcard) matches the host.
pub fn url_pattern_host_matches(pattern: &str, host: &str) -> bool {
    let rest = strip_scheme(pattern.trim());
    let host_part = rest.split('/').next().unwrap_or("");
    let host_part = host_part.split(':').next().unwrap_or("");
    wildcard(
        &host_part.to_ascii_lowercase(),
        &host.trim_end_matches('.').to_ascii_lowercase(),
    )
}

/// `*` matches any run of characters.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            if !text.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 {
            return text.len() >= pos + part.len() && text.ends_with(part);
        } else {
            match text[pos..].find(part) {
                Some(at) => pos += at + part.len(),
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const H: &str = "www.example.com";

    #[test]
    fn simple_expressions_are_evaluated() {
        assert_eq!(expression_applies("true", H), Applies::All);
        assert_eq!(
            expression_applies("(http.host eq \"www.example.com\")", H),
            Applies::All
        );
        assert_eq!(
            expression_applies("http.host == \"api.example.com\"", H),
            Applies::None
        );
        assert_eq!(
            expression_applies("http.host in {\"api.example.com\" \"www.example.com\"}", H),
            Applies::All
        );
        assert_eq!(
            expression_applies(
                "(http.host eq \"a.example.com\") or (http.host eq \"www.example.com\")",
                H
            ),
            Applies::All
        );
        assert_eq!(
            expression_applies("http.host ne \"www.example.com\"", H),
            Applies::None
        );
        // Other fields: cannot tell.
        assert_eq!(
            expression_applies("starts_with(http.request.uri.path, \"/team/calendar/\")", H),
            Applies::Unknown
        );
        assert_eq!(
            expression_applies(
                "http.host eq \"www.example.com\" and http.request.uri.path contains \"/api\"",
                H
            ),
            Applies::Unknown
        );
        assert_eq!(
            expression_applies(
                "http.host eq \"api.example.com\" and http.request.uri.path contains \"/api\"",
                H
            ),
            Applies::None
        );
        assert_eq!(
            expression_applies("(http.host contains \"example.com\")", H),
            Applies::Unknown
        );
    }

    #[test]
    fn page_rule_patterns() {
        assert_eq!(url_pattern_applies("*example.com/*", H), Applies::All);
        assert_eq!(url_pattern_applies("www.example.com/*", H), Applies::All);
        assert_eq!(
            url_pattern_applies("https://www.example.com/images/*", H),
            Applies::Unknown
        );
        assert_eq!(url_pattern_applies("api.example.com/*", H), Applies::None);
        assert!(url_pattern_host_matches(
            "app1.example.com/*",
            "app1.example.com"
        ));
        assert!(!url_pattern_host_matches(
            "app2.example.com/*",
            "app1.example.com"
        ));
    }

    #[test]
    fn configuration_rules_outrank_page_rules_and_the_last_match_wins() {
        let rule = |ssl: &str, expr: &str| RulesetRule {
            id: "r".into(),
            action: "set_config".into(),
            expression: expr.into(),
            description: format!("ssl {ssl}"),
            enabled: None,
            action_parameters: serde_json::json!({ "ssl": ssl }),
        };
        let page: PageRule = serde_json::from_value(serde_json::json!({
            "id": "p", "targets": [{"target": "url", "constraint": {"operator": "matches", "value": "*example.com/*"}}],
            "actions": [{"id": "ssl", "value": "flexible"}], "priority": 1, "status": "active"
        }))
        .unwrap();
        let mut unknown = Vec::new();
        let got = ssl_for(H, &[], std::slice::from_ref(&page), &mut unknown).unwrap();
        assert_eq!(got.value, "flexible");
        let got = ssl_for(
            H,
            &[
                rule("full", "true"),
                rule("strict", "http.host eq \"www.example.com\""),
            ],
            &[page],
            &mut unknown,
        )
        .unwrap();
        assert_eq!(got.value, "strict");
        assert!(got.source.contains("ssl strict"), "{}", got.source);
        assert!(unknown.is_empty());
    }
}
