//! Checks run on the nginx host (`cloud502 nginx --local`): `nginx -t`, worker_connections against
//! the open-files limit, the systemd unit's state, and the seed guide's checks of the host around
//! nginx: OOM kills, memory/disk/load pressure, full listen backlogs, an application server's own
//! timeout shorter than nginx's, and running out of connections in error.log.
//!
//! The check names which check `Failed`; a `HostCheckFailed` words its finding, one arm per check.

use crate::describe::log_group_id;
use crate::remediation::{check_backend, restart, review_config};
use crate::rules::Rule;
use crate::rules::nginx::shared::{finding, is_nginx_log, routes_to};
use cloud502_model::{
    CheckStatus, Confidence, Evidence, Finding, FindingCode, HostCheck, LogClass, Severity,
    SourceLocation,
};

pub(crate) const RULE: Rule = Rule {
    name: "nginx_host",
    codes: &[
        FindingCode::NginxConfigTestFailed,
        FindingCode::NginxWorkerConnectionsOverLimit,
        FindingCode::NginxServiceNotActive,
        FindingCode::NginxOomKilled,
        FindingCode::NginxHostPressure,
        FindingCode::NginxListenBacklogFull,
        FindingCode::NginxAppTimeoutShorter,
        FindingCode::NginxOutOfConnections,
    ],
    check,
};

pub use crate::describe::{
    CHECK_APP_TIMEOUT_PREFIX, CHECK_BACKLOG, CHECK_CONFIG_TEST, CHECK_CONNECTIONS,
    CHECK_DISK_PREFIX, CHECK_LOAD, CHECK_MEMORY, CHECK_NOFILE, CHECK_OOM, CHECK_SYSTEMD,
};

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
            CHECK_OOM => Failed::Oom,
            CHECK_MEMORY | CHECK_LOAD => Failed::Pressure,
            id if id.starts_with(CHECK_DISK_PREFIX) => Failed::Pressure,
            CHECK_BACKLOG => Failed::Backlog,
            CHECK_CONNECTIONS => Failed::Connections(
                ev.config
                    .setting("worker_connections")
                    .and_then(|s| s.location.clone()),
            ),
            id if id.starts_with(CHECK_APP_TIMEOUT_PREFIX) => {
                let peer = &id[CHECK_APP_TIMEOUT_PREFIX.len()..];
                let kinds = ["proxy", "fastcgi", "uwsgi", "scgi", "grpc"];
                let locations = routes_to(ev, peer)
                    .into_iter()
                    .flat_map(|r| {
                        kinds.iter().filter_map(move |k| {
                            r.setting(&format!("{k}_read_timeout"))
                                .and_then(|s| s.location.clone())
                        })
                    })
                    .collect();
                Failed::AppTimeout(locations)
            }
            _ => continue,
        };
        out.push(Finding::from(HostCheckFailed { check: c, failed }));
    }
    // Without --local, error.log still tells: a group of upstream errors whose first line says
    // nginx ran out of connections or descriptors (these name their upstream; the classifier
    // keeps them as upstream-other).
    let connections_checked = ev.checks.iter().any(|c| c.id == CHECK_CONNECTIONS);
    if !connections_checked {
        let mut items = Vec::new();
        let mut lines = 0;
        let mut first: Option<&str> = None;
        for log in ev.logs.iter().filter(|l| is_nginx_log(&l.dialect)) {
            for (i, g) in log.groups.iter().enumerate() {
                let text = g.sample.text.as_str();
                if g.class == LogClass::UpstreamOther
                    && (text.contains("worker_connections are not enough")
                        || text.contains("Too many open files"))
                {
                    items.push(log_group_id(log, i));
                    lines += g.count;
                    first.get_or_insert(text);
                }
            }
        }
        if let Some(first) = first {
            let from_logs = HostCheck {
                id: items[0].clone(),
                name: "error.log".to_owned(),
                status: CheckStatus::Fail,
                detail: format!(
                    "error.log has {lines} upstream error line(s) in group(s) whose first says \
                     so: {first}"
                ),
            };
            let mut f = Finding::from(HostCheckFailed {
                check: &from_logs,
                failed: Failed::Connections(
                    ev.config
                        .setting("worker_connections")
                        .and_then(|s| s.location.clone()),
                ),
            });
            f.evidence = items;
            out.push(f);
        }
    }
    // Pressure of several kinds is one finding: one host, one fix (capacity).
    let pressure: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, f)| f.code == FindingCode::NginxHostPressure)
        .map(|(i, _)| i)
        .collect();
    if let Some((&first, rest)) = pressure.split_first() {
        for &i in rest.iter().rev() {
            let f = out.remove(i);
            let keep = &mut out[first];
            keep.evidence.extend(f.evidence);
            keep.explanation = format!("{} {}", keep.explanation, f.explanation);
        }
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
    /// The kernel's OOM killer killed processes.
    Oom,
    /// Memory, load or a directory's free space.
    Pressure,
    /// An upstream's accept queue is full.
    Backlog,
    /// The application server's timeout is shorter than nginx's, with where nginx's is set.
    AppTimeout(Vec<SourceLocation>),
    /// "worker_connections are not enough" / "Too many open files" in error.log, with where
    /// worker_connections is set.
    Connections(Option<SourceLocation>),
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
            Failed::Oom => {
                let mut f = finding(
                    FindingCode::NginxOomKilled,
                    Severity::Critical,
                    Confidence::Medium,
                    "the kernel killed processes on this host for lack of memory".into(),
                    format!(
                        "{detail}. A killed application server drops the requests it held (nginx: \"upstream prematurely closed connection\", 502) and refuses new ones until it is restarted (\"Connection refused\", 502)."
                    ),
                    vec![id],
                    Vec::new(),
                    "The killed processes serve no upstream of this nginx, or the kills are older than the 502s.",
                    vec![
                        check_backend(
                            "Read the kills and what held the memory",
                            Some(
                                "journalctl -k | grep -iE 'killed process|out of memory'; free -m",
                            ),
                        ),
                        review_config(
                            "Give the application more memory (or a memory limit it can live in), fewer or smaller workers, or fix its leak; restart it",
                            None,
                        ),
                    ],
                );
                f.layer = Some(cloud502_model::Layer::Application);
                f
            }
            Failed::Pressure => finding(
                FindingCode::NginxHostPressure,
                Severity::Warning,
                Confidence::Medium,
                format!("the nginx host is under pressure: {}", f.check.name),
                format!(
                    "{}: {detail}. Short memory gets processes killed, a full disk stops nginx \
                     buffering to its temp files and logging, and an overloaded CPU makes the \
                     upstream slow to accept and answer.",
                    f.check.name
                ),
                vec![id],
                Vec::new(),
                "The pressure is brief (a backup, a deploy) and not when the 502s happened.",
                vec![check_backend(
                    "See what uses it",
                    Some("free -m; df -h; uptime; top -b -n 1 | head -20"),
                )],
            ),
            Failed::Backlog => finding(
                FindingCode::NginxListenBacklogFull,
                Severity::Critical,
                Confidence::High,
                "an upstream's listen queue is full: connections from nginx wait or are dropped"
                    .into(),
                format!(
                    "{detail}. When the application does not accept connections as fast as they \
                     come, the kernel queues them up to the listen backlog and then drops new \
                     ones (ListenOverflows): nginx times out connecting (504) or, with a \
                     backlog of unix sockets, fails with \"Resource temporarily unavailable\" \
                     (502)."
                ),
                vec![id],
                Vec::new(),
                "The queue drains within a moment (a short burst) and the overflow counter stops growing.",
                vec![
                    check_backend(
                        "Watch the queue and the counters",
                        Some("ss -ltn; nstat -az TcpExtListenOverflows TcpExtListenDrops"),
                    ),
                    review_config(
                        "Add workers to the application, or raise its backlog (gunicorn --backlog, uWSGI --listen, php-fpm listen.backlog) together with net.core.somaxconn",
                        None,
                    ),
                ],
            ),
            Failed::AppTimeout(locations) => {
                let mut f = finding(
                    FindingCode::NginxAppTimeoutShorter,
                    Severity::Warning,
                    Confidence::High,
                    "the application server ends slow requests before nginx's read timeout".into(),
                    format!(
                        "{detail}. A request slower than the application's own limit is killed \
                         by it (gunicorn's worker timeout, uWSGI's harakiri, php-fpm's \
                         request_terminate_timeout): nginx sees the connection close without a \
                         response and answers 502 (\"upstream prematurely closed connection\"), \
                         not the 504 its own timeout would give."
                    ),
                    vec![id],
                    locations,
                    "No request takes longer than the application's timeout (its own log shows no worker timeout or harakiri).",
                    vec![review_config(
                        "Make the application's timeout the longer one (or nginx's read timeout shorter), and make slow requests faster",
                        None,
                    )],
                );
                f.layer = Some(cloud502_model::Layer::Application);
                f
            }
            Failed::Connections(location) => finding(
                FindingCode::NginxOutOfConnections,
                Severity::Warning,
                Confidence::High,
                "nginx ran out of worker connections or file descriptors".into(),
                format!(
                    "{detail}. Each proxied request holds a client and an upstream connection; \
                     when worker_connections or the open-files limit is reached, nginx cannot \
                     accept clients or connect to the upstream (it answers 500), and a layer in \
                     front of it reports 502 or 504."
                ),
                vec![id],
                location.into_iter().collect(),
                "The lines are older than the 502s.",
                vec![review_config(
                    "Raise worker_connections and worker_rlimit_nofile (and LimitNOFILE= in \
                     the systemd unit) together, or add workers",
                    None,
                )],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::*;
    use cloud502_model::HostCheck;

    /// A host check with only its id and status said.
    fn c(id: &str, status: CheckStatus) -> HostCheck {
        HostCheck {
            id: id.into(),
            name: id.into(),
            status,
            detail: "detail".into(),
        }
    }

    #[test]
    fn failed_checks_become_findings_and_passed_or_skipped_ones_do_not() {
        let mut ev = nginx(&["10.0.0.5:8080"], Vec::new(), Vec::new());
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

    #[test]
    fn the_seed_guides_host_checks_become_findings_and_pressure_is_one() {
        let mut ev = nginx(&["127.0.0.1:8000"], Vec::new(), Vec::new());
        ev.checks = vec![
            c(CHECK_OOM, CheckStatus::Fail),
            c(CHECK_MEMORY, CheckStatus::Fail),
            c("host.disk./var/log/nginx", CheckStatus::Fail),
            c(CHECK_LOAD, CheckStatus::Pass),
            c(CHECK_BACKLOG, CheckStatus::Fail),
            c("host.app-timeout.127.0.0.1:8000", CheckStatus::Fail),
            c(CHECK_CONNECTIONS, CheckStatus::Fail),
            c("host.app-timeout.127.0.0.1:8001", CheckStatus::Skipped),
        ];
        let mut out = Vec::new();
        check(&ev, &mut out);
        let codes: Vec<_> = out.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec![
                FindingCode::NginxOomKilled,
                FindingCode::NginxHostPressure,
                FindingCode::NginxListenBacklogFull,
                FindingCode::NginxAppTimeoutShorter,
                FindingCode::NginxOutOfConnections,
            ]
        );
        let pressure = &out[1];
        assert_eq!(
            pressure.evidence,
            vec![
                CHECK_MEMORY.to_owned(),
                "host.disk./var/log/nginx".to_owned()
            ]
        );
        assert_eq!(out[0].layer, Some(cloud502_model::Layer::Application));
        assert_eq!(out[3].layer, Some(cloud502_model::Layer::Application));
    }

    #[test]
    fn without_local_an_error_log_group_that_says_so_is_out_of_connections() {
        let mut ev = nginx(&["127.0.0.1:8000"], Vec::new(), Vec::new());
        let mut log = error_log(&[(LogClass::UpstreamOther, "127.0.0.1:8000", 3)]);
        log.groups[0].sample.text = "2026/12/08 01:00:00 [alert] 811#811: *9 1024 \
            worker_connections are not enough while connecting to upstream, client: 10.0.0.9"
            .to_owned();
        ev.logs.push(log);
        let mut out = Vec::new();
        check(&ev, &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].code, FindingCode::NginxOutOfConnections);
        assert_eq!(out[0].evidence, vec!["log.0.group.0".to_owned()]);
        // with --local the host check says it (once): no second finding from the logs
        ev.checks.push(HostCheck {
            id: CHECK_CONNECTIONS.into(),
            name: "c".into(),
            status: CheckStatus::Pass,
            detail: "none in the last 16 MiB".into(),
        });
        out.clear();
        check(&ev, &mut out);
        assert!(out.is_empty(), "{out:#?}");
        // another upstream error says nothing of connections
        ev.checks.clear();
        ev.logs[0].groups[0].sample.text = "upstream sent no valid HTTP/1.0 header".into();
        out.clear();
        check(&ev, &mut out);
        assert!(out.is_empty(), "{out:#?}");
    }
}
