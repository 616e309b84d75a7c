//! A variable in proxy_pass makes nginx resolve the name per request, which needs a `resolver`
//! (KB 4.5, 4.7 #11, 8.1: "no resolver defined to resolve ...").
//!
//! The check gathers a `NoResolver` fact; its text is beside it.

use crate::describe::route_id;
use crate::remediation::review_config;
use crate::rules::Rule;
use crate::rules::nginx::shared::{Seen, finding, seen};
use cloud502_model::{
    Confidence, Evidence, Finding, FindingCode, LogClass, Route, Severity, SourceLocation,
};

pub(crate) const RULE: Rule = Rule {
    name: "nginx_resolver",
    codes: &[FindingCode::NginxDynamicPassWithoutResolver],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    let logs = seen(ev, &[LogClass::NoResolver], None);
    let routes: Vec<&Route> = ev
        .config
        .routes
        .iter()
        .filter(|r| {
            // a variable that only names upstream{} blocks needs no resolver (the provider
            // records those names as `pass upstreams`)
            r.dynamic
                && r.setting("pass upstreams").is_none()
                && r.setting("resolver")
                    .is_none_or(|s| s.value.trim().is_empty())
        })
        .collect();
    if routes.is_empty() && logs.is_empty() {
        return;
    }
    let mut evidence = logs.items.clone();
    evidence.extend(
        routes
            .iter()
            .map(|r| route_id(r))
            .filter(|id| ev.item(id).is_some()),
    );
    out.push(Finding::from(NoResolver {
        locations: routes.iter().filter_map(|r| r.location.clone()).collect(),
        routes,
        logs,
        evidence,
    }));
}

// ---- facts ----

/// Routes that proxy to a variable with no resolver, or error.log lines that say so.
struct NoResolver<'a> {
    routes: Vec<&'a Route>,
    /// The "no resolver defined to resolve" lines.
    logs: Seen,
    evidence: Vec<String>,
    locations: Vec<SourceLocation>,
}

// ---- text ----

impl NoResolver<'_> {
    /// `location / (`http://$backend`)` for each route.
    fn passes(&self) -> Vec<String> {
        self.routes
            .iter()
            .map(|r| format!("{} (`{}`)", r.label(), r.target))
            .collect()
    }

    fn title(&self) -> String {
        if self.logs.is_empty() {
            format!(
                "proxy_pass with a variable and no resolver: {}",
                self.passes().join(", ")
            )
        } else {
            format!(
                "nginx answers 502: no resolver defined to resolve {}",
                self.logs.upstream_list()
            )
        }
    }

    fn confidence(&self) -> Confidence {
        if self.logs.is_empty() {
            // A variable holding an IP address or an upstream{} name needs no resolver.
            Confidence::Medium
        } else {
            Confidence::High
        }
    }

    fn explanation(&self) -> String {
        let passes = self.passes();
        format!(
            "When proxy_pass contains a variable, nginx resolves the host name for each request \
             with its own `resolver`, not /etc/resolv.conf; with none configured, every such \
             request gets 502 and error.log says \"no resolver defined to resolve\".{}{}",
            if passes.is_empty() {
                String::new()
            } else {
                format!(" Routes: {}.", passes.join(", "))
            },
            if self.logs.is_empty() {
                String::new()
            } else {
                format!(
                    " {} request(s) failed this way; first: {}.",
                    self.logs.count(),
                    self.logs.quote()
                )
            }
        )
    }
}

impl From<NoResolver<'_>> for Finding {
    fn from(f: NoResolver<'_>) -> Finding {
        finding(
            FindingCode::NginxDynamicPassWithoutResolver,
            Severity::Critical,
            f.confidence(),
            f.title(),
            f.explanation(),
            f.evidence,
            f.locations,
            "The variable always holds an IP address or the name of an upstream{} block, or \
             requests through the route succeed.",
            vec![review_config(
                "Add `resolver <dns-ip> valid=30s;` (e.g. 127.0.0.53 or the VPC resolver) to the \
                 http or server block, or proxy to a fixed upstream{} instead",
                None,
            )],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;

    #[test]
    fn a_variable_pass_needs_a_resolver_and_log_lines_raise_confidence() {
        let mut ev = nginx(&["10.0.0.5:8080"], Vec::new(), Vec::new());
        assert!(run_rule(check, &ev).is_empty());
        ev.config.routes[0].dynamic = true;
        ev.config.routes[0].target = "http://$backend".into();
        let out = run_rule(check, &ev);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, Confidence::Medium);
        assert_eq!(out[0].locations[0].line, 20);
        ev.logs
            .push(error_log(&[(LogClass::NoResolver, "backend.invalid", 3)]));
        crate::describe::describe(&mut ev);
        let out = run_rule(check, &ev);
        assert_eq!(out[0].confidence, Confidence::High);
        assert!(out[0].title.contains("backend.invalid"), "{}", out[0].title);
        // A resolver in force silences the config check.
        ev.logs.clear();
        ev.config.routes[0]
            .settings
            .push(setting("resolver", "127.0.0.53"));
        assert!(run_rule(check, &ev).is_empty());
    }
}
