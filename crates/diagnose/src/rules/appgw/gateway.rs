//! The gateway itself (KB 2.1): `operationalState` other than Running means no instance serves
//! traffic; `provisioningState` Failed means the last change did not apply, so the running
//! configuration may not be the one in the portal (a pool left empty, a probe half changed).
//!
//! The check gathers a `NotRunning` fact; its text is beside it.

use crate::remediation::{check_backend, restart, review_config};
use crate::rules::Rule;
use crate::rules::appgw::shared::{az_args, finding, gateway, is_appgw, setting_items};
use cloud502_model::{Confidence, Evidence, Finding, FindingCode, Layer, Remediation, Severity};

pub(crate) const RULE: Rule = Rule {
    name: "appgw_gateway",
    codes: &[FindingCode::AppgwNotRunning],
    check,
};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    if !is_appgw(ev) {
        return;
    }
    let op = ev
        .config
        .setting("operationalState")
        .map(|s| s.value.as_str());
    let prov = ev
        .config
        .setting("provisioningState")
        .map(|s| s.value.as_str());
    let stopped = op.filter(|o| !o.eq_ignore_ascii_case("Running"));
    let failed = prov.filter(|p| p.eq_ignore_ascii_case("Failed"));
    if stopped.is_none() && failed.is_none() {
        return;
    }
    out.push(Finding::from(NotRunning {
        stopped,
        failed,
        gateway: gateway(ev),
        args: az_args(ev),
        evidence: setting_items(ev, &["operationalState", "provisioningState"]),
    }));
}

// ---- facts ----

/// The gateway is not running, or its last update failed.
struct NotRunning<'a> {
    /// operationalState, when not Running.
    stopped: Option<&'a str>,
    /// provisioningState, when Failed.
    failed: Option<&'a str>,
    /// (resource group, gateway name), and the `az` arguments that name it.
    gateway: (String, String),
    args: String,
    evidence: Vec<String>,
}

// ---- text ----

impl NotRunning<'_> {
    fn title(&self) -> String {
        let gw = &self.gateway.1;
        match (self.stopped, self.failed) {
            (Some(op), Some(_)) => format!(
                "gateway {gw} is {op} and its last update failed: it does not serve traffic"
            ),
            (Some(op), None) => format!("gateway {gw} is {op}: it does not serve traffic"),
            _ => format!(
                "the last update of gateway {gw} failed (provisioningState Failed): the running configuration may not be the one you see"
            ),
        }
    }

    fn explanation(&self) -> String {
        let mut facts = Vec::new();
        if let Some(op) = self.stopped {
            facts.push(format!("operationalState is {op}"));
        }
        if let Some(p) = self.failed {
            facts.push(format!("provisioningState is {p}"));
        }
        let mut explanation = format!("{}. ", facts.join(" and "));
        if let Some(op) = self.stopped {
            explanation.push_str(&format!(
                "A gateway that is {op} has no running instance: its listeners do not answer, so \
                 clients time out or are refused rather than getting this gateway's 502. A 502 \
                 seen meanwhile is made by a layer in front of it (Front Door, Cloudflare, a \
                 proxy) that cannot reach it. "
            ));
        }
        if self.failed.is_some() {
            explanation.push_str(
                "A failed provisioning leaves the last change (a pool, a probe, a certificate, a \
                 listener) partly applied: backends added to a pool may not be there, and the \
                 gateway can be stuck until the change is re-applied. The Activity log names the \
                 failed operation and its error.",
            );
        }
        explanation.trim_end().to_owned()
    }

    fn remediation(&self) -> Vec<Remediation> {
        let ((rg, gw), args) = (&self.gateway, &self.args);
        let mut steps = Vec::new();
        if self.stopped.is_some() {
            steps.push(restart(
                "Start the gateway (a start takes several minutes; it keeps its configuration and public IP)",
                Some(&format!("az network application-gateway start {args}")),
            ));
        }
        if self.failed.is_some() {
            steps.push(check_backend(
                "Read the failed operation and its error in the Activity log",
                Some(&format!(
                    "az monitor activity-log list --resource-group {rg} --status Failed --offset 1d --query \"[?contains(resourceId, '{gw}')].{{op:operationName.localizedValue,status:status.value,msg:properties.statusMessage}}\" -o table"
                )),
            ));
            steps.push(review_config(
                "Fix what the error names (a Key Vault certificate the gateway's identity cannot read, a subnet too small, a conflicting NSG), then re-apply the configuration with an update",
                Some(&format!("az network application-gateway update {args}")),
            ));
        }
        steps
    }
}

impl From<NotRunning<'_>> for Finding {
    fn from(f: NotRunning<'_>) -> Finding {
        finding(
            FindingCode::AppgwNotRunning,
            Severity::Critical,
            if f.stopped.is_some() {
                Confidence::High
            } else {
                Confidence::Medium
            },
            Layer::AzureAppgw,
            f.title(),
            f.explanation(),
            f.evidence.clone(),
            "`az network application-gateway show` reports operationalState Running and \
             provisioningState Succeeded (the state changed since it was read).",
            f.remediation(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::appgw::shared::tests_support::*;
    use crate::rules::test_support::run_rule;

    fn set(ev: &mut Evidence, name: &str, value: &str) {
        ev.config
            .settings
            .iter_mut()
            .filter(|x| x.name == name)
            .for_each(|x| x.value = value.into());
    }

    #[test]
    fn a_running_gateway_is_no_finding() {
        assert!(run_rule(check, &appgw(&[healthy("10.0.1.4")])).is_empty());
    }

    #[test]
    fn a_stopped_gateway_is_critical_and_says_how_to_start_it() {
        let mut ev = appgw(&[]);
        set(&mut ev, "operationalState", "Stopped");
        ev.add_item(
            "config.setting.operationalState",
            "azure:applicationGateways",
            "operationalState: Stopped",
        );
        let f = run_rule(check, &ev);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::AppgwNotRunning);
        assert_eq!(
            (f[0].severity, f[0].confidence),
            (Severity::Critical, Confidence::High)
        );
        assert!(f[0].title.contains("gw-web is Stopped"), "{}", f[0].title);
        assert_eq!(f[0].evidence, vec!["config.setting.operationalState"]);
        assert!(
            f[0].remediation[0]
                .command
                .as_deref()
                .unwrap()
                .contains("start -g rg-web -n gw-web")
        );
    }

    #[test]
    fn a_failed_provisioning_on_a_running_gateway_is_medium_confidence() {
        let mut ev = appgw(&[]);
        set(&mut ev, "provisioningState", "Failed");
        let f = run_rule(check, &ev);
        assert_eq!(f[0].code, FindingCode::AppgwNotRunning);
        assert_eq!(f[0].confidence, Confidence::Medium);
        assert!(f[0].title.contains("provisioningState Failed"));
        // Updating is a change in progress, not a failure
        set(&mut ev, "provisioningState", "Updating");
        assert!(run_rule(check, &ev).is_empty());
    }

    #[test]
    fn logs_only_evidence_says_nothing_about_the_gateway() {
        let ev = logs_only(vec![]);
        assert!(run_rule(check, &ev).is_empty());
    }
}
