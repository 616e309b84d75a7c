//! Checks run on the nginx host (`cloud502 nginx --local`): `nginx -t`, worker_connections against
//! the open-files limit, and the systemd unit's state.
//!
//! The check names which check `Failed`; a `HostCheckFailed` words its finding, one arm per check.

use crate::remediation::{check_backend, restart, review_config};
use crate::rules::Rule;
use crate::rules::nginx::shared::finding;
use cloud502_model::{
    CheckStatus, Confidence, Evidence, Finding, FindingCode, HostCheck, Severity, SourceLocation,
};

pub(crate) const RULE: Rule = Rule {
    name: "nginx_host",
    codes: &[
        FindingCode::NginxConfigTestFailed,
        FindingCode::NginxWorkerConnectionsOverLimit,
        FindingCode::NginxServiceNotActive,
    ],
    check,
};

pub use crate::describe::{CHECK_CONFIG_TEST, CHECK_NOFILE, CHECK_SYSTEMD};

fn check(ev: &Evidence, out: &mut Vec<Finding>) {
    for c in ev.checks.iter().filter(|c| c.status == CheckStatus::Fail) {
        let failed = match c.id.as_str() {
            CHECK_CONFIG_TEST => Failed::ConfigTest,
            CHECK_NOFILE => Failed::Nofile(
                ev.config
                    .setting("worker_connections")
                    .and_then(|s| s.location.clone()),
            ),
            CHECK_SYSTEMD => Failed::Systemd,
            _ => continue,
        };
        out.push(Finding::from(HostCheckFailed { check: c, failed }));
    }
}

// ---- facts ----

/// A host check that failed.
struct HostCheckFailed<'a> {
    check: &'a HostCheck,
    failed: Failed,
}

/// Which check failed.
enum Failed {
    /// `nginx -t`.
    ConfigTest,
    /// worker_connections against the open-files limit, with where worker_connections is set.
    Nofile(Option<SourceLocation>),
    /// The systemd unit's state.
    Systemd,
}

// ---- text ----

impl From<HostCheckFailed<'_>> for Finding {
    fn from(f: HostCheckFailed<'_>) -> Finding {
        let (id, detail) = (f.check.id.clone(), &f.check.detail);
        match f.failed {
            Failed::ConfigTest => finding(
                FindingCode::NginxConfigTestFailed,
                Severity::Critical,
                Confidence::High,
                "nginx -t rejects the configuration: the next reload or restart will fail".into(),
                format!(
                    "`nginx -t` failed: {detail}. A reload keeps the old configuration running; a \
                     restart leaves nginx down."
                ),
                vec![id],
                Vec::new(),
                "`nginx -t` passes when run as the user the service runs as.",
                vec![
                    check_backend("Run the test and read the error", Some("sudo nginx -t")),
                    review_config(
                        "Fix the file and line it names, then reload",
                        Some("sudo nginx -t && sudo systemctl reload nginx"),
                    ),
                ],
            ),
            Failed::Nofile(location) => finding(
                FindingCode::NginxWorkerConnectionsOverLimit,
                Severity::Warning,
                Confidence::High,
                format!("worker_connections exceeds the open-files limit: {detail}"),
                format!(
                    "{detail}. Each proxied request holds two file descriptors (client and \
                     upstream), so under load workers fail with \"Too many open files\" or \
                     \"worker_connections are not enough\" and requests fail."
                ),
                vec![id],
                location.into_iter().collect(),
                "The limit of the running workers (/proc/<pid>/limits) is higher than shown.",
                vec![review_config(
                    "Raise worker_rlimit_nofile (and LimitNOFILE= in the systemd unit) to at \
                     least twice worker_connections, or lower worker_connections",
                    None,
                )],
            ),
            Failed::Systemd => finding(
                FindingCode::NginxServiceNotActive,
                Severity::Critical,
                Confidence::High,
                format!("the nginx service is not active ({detail})"),
                format!(
                    "systemd reports the nginx unit as {detail}. With nginx down, clients of this \
                     host get connection refused; a layer in front of it answers 502."
                ),
                vec![id],
                Vec::new(),
                "nginx runs outside systemd (a container, another unit name).",
                vec![
                    check_backend(
                        "Read why it stopped",
                        Some("systemctl status nginx; journalctl -u nginx -n 50"),
                    ),
                    restart(
                        "Start it once `nginx -t` passes",
                        Some("sudo nginx -t && sudo systemctl start nginx"),
                    ),
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;
    use cloud502_model::HostCheck;

    #[test]
    fn failed_checks_become_findings_and_passed_or_skipped_ones_do_not() {
        let mut ev = nginx(&["10.0.0.5:8080"], Vec::new(), Vec::new());
        let c = |id: &str, status| HostCheck {
            id: id.into(),
            name: id.into(),
            status,
            detail: "detail".into(),
        };
        ev.checks = vec![
            c(CHECK_CONFIG_TEST, CheckStatus::Fail),
            c(CHECK_NOFILE, CheckStatus::Pass),
            c(CHECK_SYSTEMD, CheckStatus::Skipped),
        ];
        let mut out = Vec::new();
        check(&ev, &mut out);
        let codes: Vec<_> = out.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec![FindingCode::NginxConfigTestFailed]);
        ev.checks = vec![
            c(CHECK_NOFILE, CheckStatus::Fail),
            c(CHECK_SYSTEMD, CheckStatus::Fail),
        ];
        out.clear();
        check(&ev, &mut out);
        let codes: Vec<_> = out.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec![
                FindingCode::NginxWorkerConnectionsOverLimit,
                FindingCode::NginxServiceNotActive
            ]
        );
    }
}
