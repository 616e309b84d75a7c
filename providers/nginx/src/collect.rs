//! Collect nginx evidence: the config (files or `nginx -T`), the logs it names, a probe of each
//! upstream, and (with `--local`) the host checks of the guide's diagnostic script.

use crate::api::{self, Host, PathState};
use crate::conf::{self, NginxConfig};
use crate::config::{ConfigSource, DEFAULT_LOG_DIR, NginxOptions};
use crate::error::NginxError;
use cloud502_collect::describe::{
    BACKEND_PROBE_PREFIX, CHECK_CONFIG_TEST, CHECK_NOFILE, CHECK_SYSTEMD, nginx_peer,
};
use cloud502_collect::{CollectCx, Progress};
use cloud502_logs::{AccessFormat, FormatChoice};
use cloud502_model::{
    CheckStatus, Evidence, ForwardKind, Gap, GapKind, HostCheck, Probe, ProviderKind, Subject,
};
use cloud502_probe::{ProbeOptions, ProbeRequest};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Upstreams probed at most; more are listed as a gap.
const MAX_PROBES: usize = 64;
/// Upstream probes in flight at once.
const PROBE_CONCURRENCY: usize = 16;

/// Everything [`collect`] needs.
#[derive(Debug)]
pub(crate) struct Collector<'a> {
    pub opts: &'a NginxOptions,
    pub source: &'a ConfigSource,
    pub host: Arc<dyn Host>,
}

/// The subject id: the config or dump path.
pub(crate) fn subject(source: &ConfigSource) -> Subject {
    let id = match source {
        ConfigSource::Files { path, .. } | ConfigSource::Dump(path) => path.display().to_string(),
    };
    Subject {
        kind: ProviderKind::Nginx,
        id,
    }
}

impl Collector<'_> {
    pub async fn collect(&self, cx: &CollectCx) -> Result<Evidence, NginxError> {
        let mut ev = Evidence::new(subject(self.source));
        let version = if self.opts.local {
            self.version().await
        } else {
            None
        };
        let conf = self.load_config(&mut ev)?;
        if let Some(conf) = &conf {
            ev.config = conf.snapshot(version.as_deref());
        } else if let Some(v) = &version {
            ev.config.version = Some(format!("nginx/{v}"));
        }
        self.read_logs(conf.as_ref(), cx, &mut ev).await;
        let targets = upstream_targets(&ev);
        if self.opts.probe {
            self.probe_upstreams(&targets, cx, &mut ev).await;
        }
        if self.opts.local {
            self.host_checks(conf.as_ref(), &targets, &mut ev).await;
        }
        cloud502_collect::describe::describe(&mut ev);
        let probes = std::mem::take(&mut ev.probes);
        for probe in &probes {
            cloud502_probe::describe(probe, &mut ev);
        }
        ev.probes = probes;
        if !ev.inspected() && ev.gaps.is_empty() {
            return Err(NginxError::Config {
                message: "nothing to inspect: no config and no logs".to_owned(),
                hint: "pass --config PATH, --dump PATH or --error-log PATH".to_owned(),
            });
        }
        // The parsed tree is a few small allocations per directive (200,000 directives for an
        // ingress-nginx config of 3,000 servers): freeing it took as long as diagnosing and
        // writing the report. Everything needed from it is in `ev` now, so it is freed on a
        // thread of its own while the report is made; a CLI that exits first loses nothing
        // (issue 19). When no thread can be started, `spawn` drops the closure and the tree
        // with it, here.
        if let Some(conf) = conf {
            let _ = std::thread::Builder::new()
                .name("nginx-conf-free".to_owned())
                .spawn(move || drop(conf));
        }
        Ok(ev)
    }

    async fn version(&self) -> Option<String> {
        let out = self
            .host
            .run(&self.opts.nginx_bin, &["-v".to_owned()])
            .await
            .ok()?;
        // "nginx version: nginx/1.22.1"
        let v = out.output.split("nginx/").nth(1)?;
        Some(v.split_whitespace().next()?.to_owned())
    }

    /// `Ok(None)` when the default config is missing but logs were named: go on with the logs.
    fn load_config(&self, ev: &mut Evidence) -> Result<Option<NginxConfig>, NginxError> {
        let have_logs = !self.opts.error_logs.is_empty() || !self.opts.access_logs.is_empty();
        let result = match self.source {
            ConfigSource::Dump(path) => match conf::load_dump_file(path) {
                Err(conf::ConfigError::Io { source, .. }) => {
                    return Err(NginxError::Config {
                        message: format!("cannot read --dump {}: {source}", path.display()),
                        hint: "save one with `nginx -T > nginx-T.txt 2>&1`".to_owned(),
                    });
                }
                // a failed `nginx -T` holds no dump, only nginx's reason: say it
                Err(conf::ConfigError::NotADump { .. }) => {
                    if let Some(reason) = self.host.read(path).as_deref().and_then(failed_dump) {
                        return Err(NginxError::Config {
                            message: format!(
                                "--dump {} is a failed `nginx -T`, not a dump: nginx said \"{reason}\"",
                                path.display()
                            ),
                            hint: "fix the file and line nginx names, then save the dump again \
                                   with `nginx -T > nginx-T.txt 2>&1`"
                                .to_owned(),
                        });
                    }
                    conf::load_dump_file(path)
                }
                other => other,
            },
            ConfigSource::Files { path, .. } => {
                conf::load_files_rooted(path, self.opts.root.as_deref())
            }
        };
        match result {
            Ok(c) => {
                // an empty conf.d/*.conf is common and harmless; it matters when nothing
                // forwards at all (a copied tree whose includes point elsewhere)
                let forwards = has_pass(&c.root);
                for (at, what) in &c.unread_includes {
                    if forwards && what.ends_with("matched no file") {
                        continue;
                    }
                    ev.gaps.push(Gap {
                        scope: format!("{}:{}", at.file, at.line),
                        kind: GapKind::NotFound,
                        message: format!("{what}: the config read is incomplete"),
                        hint: Some(
                            "read the machine's own config (--local), or pass a saved `nginx -T` \
                             with --dump"
                                .to_owned(),
                        ),
                    });
                }
                Ok(Some(c))
            }
            Err(e) => {
                let explicit = !matches!(
                    self.source,
                    ConfigSource::Files {
                        explicit: false,
                        ..
                    }
                );
                if explicit || !have_logs {
                    let hint = match &e {
                        conf::ConfigError::Io { source, .. }
                            if source.kind() != std::io::ErrorKind::InvalidData =>
                        {
                            "pass --config PATH or --dump PATH (a saved `nginx -T`), or name logs with --error-log"
                        }
                        other => other.hint(),
                    };
                    return Err(NginxError::Config {
                        message: e.to_string(),
                        hint: hint.to_owned(),
                    });
                }
                ev.gaps.push(Gap {
                    scope: "nginx config".to_owned(),
                    kind: GapKind::NotFound,
                    message: e.to_string(),
                    hint: Some(
                        "pass --config PATH or --dump PATH to check the config too".to_owned(),
                    ),
                });
                Ok(None)
            }
        }
    }

    /// Resolve a path from the config against the prefix, as nginx does.
    fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            return match &self.opts.root {
                Some(root) => root.join(p.trim_start_matches('/')),
                None => path.to_owned(),
            };
        }
        let prefix = self
            .opts
            .prefix
            .clone()
            .unwrap_or_else(|| match self.source {
                ConfigSource::Files { path, .. } => {
                    let dir = path.parent().unwrap_or(Path::new("/etc/nginx"));
                    // `-p PREFIX -c conf/nginx.conf` layouts keep logs/ beside conf/.
                    if dir.file_name().is_some_and(|n| n == "conf") {
                        dir.parent().unwrap_or(dir).to_owned()
                    } else {
                        dir.to_owned()
                    }
                }
                ConfigSource::Dump(_) => PathBuf::from("/etc/nginx"),
            });
        prefix.join(path)
    }

    /// The prefix to test the config with: `--prefix`, else the running master's own `-p` (its
    /// `/proc/PID/cmdline`, through the config's pid file), else the `PREFIX/conf/nginx.conf`
    /// layout's PREFIX; `None` leaves nginx's compiled-in prefix, as a plain `nginx` start does.
    fn test_prefix(&self, conf: Option<&NginxConfig>, path: &Path) -> Option<PathBuf> {
        if let Some(p) = &self.opts.prefix {
            return Some(p.clone());
        }
        let master = conf
            .and_then(|c| {
                c.root
                    .iter()
                    .find(|d| d.name == "pid")
                    .and_then(|d| d.args.first().cloned())
            })
            .map(|p| self.resolve(&p))
            .and_then(|pid_file| self.host.read(&pid_file))
            .and_then(|t| api::pid_of(&t));
        if let Some(p) = master
            .and_then(|pid| self.host.read(&api::cmdline_path(pid)))
            .and_then(|c| api::prefix_arg(&c))
        {
            return Some(p);
        }
        let dir = path.parent()?;
        dir.file_name()
            .is_some_and(|n| n == "conf")
            .then(|| dir.parent().unwrap_or(dir).to_owned())
    }

    async fn read_logs(&self, conf: Option<&NginxConfig>, cx: &CollectCx, ev: &mut Evidence) {
        let formats: Vec<AccessFormat> = conf
            .map(|c| {
                c.log_formats()
                    .into_iter()
                    .filter_map(|(name, f)| match AccessFormat::parse(&name, &f) {
                        Ok(f) => Some(f),
                        Err(e) => {
                            ev.gaps.push(Gap {
                                scope: format!("log_format {name}"),
                                kind: GapKind::InvalidInput,
                                message: e.to_string(),
                                hint: None,
                            });
                            None
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        // (path, choice, format to use first)
        let mut jobs: Vec<(PathBuf, FormatChoice, Vec<AccessFormat>)> = Vec::new();
        let explicit = !self.opts.error_logs.is_empty() || !self.opts.access_logs.is_empty();
        if explicit {
            for p in &self.opts.error_logs {
                jobs.push((p.clone(), FormatChoice::NginxError, Vec::new()));
            }
            for p in &self.opts.access_logs {
                jobs.push((p.clone(), FormatChoice::NginxAccess, formats.clone()));
            }
        } else {
            let mut errors: Vec<PathBuf> = conf
                .map(|c| {
                    c.error_logs()
                        .into_iter()
                        .map(|(p, _)| self.resolve(&p))
                        .collect()
                })
                .unwrap_or_default();
            let mut access: Vec<(PathBuf, Vec<AccessFormat>)> = conf
                .map(|c| {
                    c.access_logs()
                        .into_iter()
                        .map(|(p, name, _)| {
                            let fmt = name.as_deref().unwrap_or("combined");
                            let chosen: Vec<AccessFormat> = formats
                                .iter()
                                .filter(|f| f.name() == fmt)
                                .cloned()
                                .chain(formats.iter().filter(|f| f.name() != fmt).cloned())
                                .collect();
                            (self.resolve(&p), chosen)
                        })
                        .collect()
                })
                .unwrap_or_default();
            // The compiled-in defaults of packaged nginx, when the config names none.
            if errors.is_empty() {
                errors.push(PathBuf::from(DEFAULT_LOG_DIR).join("error.log"));
            }
            if access.is_empty() {
                access.push((
                    PathBuf::from(DEFAULT_LOG_DIR).join("access.log"),
                    formats.clone(),
                ));
            }
            let mut seen = Vec::new();
            for p in errors {
                if !seen.contains(&p) {
                    seen.push(p.clone());
                    jobs.push((p, FormatChoice::NginxError, Vec::new()));
                }
            }
            for (p, f) in access {
                if !seen.contains(&p) {
                    seen.push(p.clone());
                    jobs.push((p, FormatChoice::NginxAccess, f));
                }
            }
        }
        let opts = cloud502_logs::Options {
            since: self.opts.since,
            local_offset: self.opts.local_offset,
            ..cloud502_logs::Options::default()
        };
        // the file each summary came from, and every access format, for the join below
        let (first_log, mut sources, mut all_formats) = (ev.logs.len(), Vec::new(), Vec::new());
        for (i, (path, choice, formats)) in jobs.into_iter().enumerate() {
            let id = format!("log.{i}");
            match read_one(
                path.clone(),
                id,
                choice,
                formats.clone(),
                opts.clone(),
                cx.progress.clone(),
            )
            .await
            {
                Ok(summary) => {
                    // Read but not understood is a gap, never silence. An empty log is not: an
                    // error.log with no line is what a healthy nginx writes.
                    if let Some(u) = cloud502_logs::unread(&summary, &path, &formats, false) {
                        ev.gaps.push(u.gap(&formats, cloud502_logs::HintFor::Nginx));
                    }
                    ev.logs.push(summary);
                    sources.push(path.clone());
                    all_formats.extend(formats);
                }
                Err(gap) => ev.gaps.push(gap),
            }
        }
        // error.log lines that are attempts nginx retried (the request got an answer) are counted
        // as retried: joined with the access log on the peer and the time
        if ev.logs.len() == first_log + sources.len() {
            let mut logs = ev.logs.split_off(first_log);
            let joined = tokio::task::spawn_blocking(move || {
                cloud502_logs::join_error_and_access(&mut logs, &sources, &all_formats, &opts);
                logs
            })
            .await;
            match joined {
                Ok(logs) => ev.logs.extend(logs),
                Err(e) => ev.gaps.push(Gap {
                    scope: "logs".to_owned(),
                    kind: GapKind::Other,
                    message: format!("joining the error and access logs failed: {e}"),
                    hint: None,
                }),
            }
        }
    }

    async fn probe_upstreams(&self, targets: &[UpstreamTarget], cx: &CollectCx, ev: &mut Evidence) {
        if targets.len() > MAX_PROBES {
            ev.gaps.push(Gap {
                scope: "upstream probes".to_owned(),
                kind: GapKind::Other,
                message: format!(
                    "{} upstreams configured; probed the first {MAX_PROBES}",
                    targets.len()
                ),
                hint: Some("pass --no-probe to skip probing".to_owned()),
            });
        }
        let timeout = self.opts.probe_timeout.min(cx.deadline);
        let mut requests = Vec::new();
        let mut skipped = 0;
        let forbidden = forbidden_peers(&targets[..targets.len().min(MAX_PROBES)], timeout).await;
        for (i, t) in targets.iter().take(MAX_PROBES).enumerate() {
            let id = format!("{BACKEND_PROBE_PREFIX}{i}");
            // The config may come from another machine (a dump): never send a request to a
            // link-local or instance-metadata address from here.
            if let Some(why) = forbidden.get(&t.peer) {
                ev.add_item(
                    format!("nginx.upstream.skipped.{skipped}"),
                    "nginx:upstream-probe",
                    format!(
                        "upstream {} not probed: {why}, and a link-local or cloud metadata \
                         address is never probed",
                        t.peer
                    ),
                );
                skipped += 1;
                continue;
            }
            match t.request(timeout) {
                Ok(req) => requests.push((id, req)),
                Err(message) => ev.gaps.push(Gap {
                    scope: format!("probe {}", t.peer),
                    kind: GapKind::InvalidInput,
                    message,
                    hint: None,
                }),
            }
        }
        cx.progress
            .message(&format!("probing {} upstream(s)", requests.len()));
        let mut probes: Vec<Probe> = Vec::new();
        for chunk in requests.chunks(PROBE_CONCURRENCY) {
            let mut set = tokio::task::JoinSet::new();
            for (id, req) in chunk {
                let (id, req) = (id.clone(), req.clone());
                set.spawn(async move { cloud502_probe::probe(&req, &id).await });
            }
            while let Some(result) = set.join_next().await {
                match result {
                    Ok(Ok(p)) => probes.push(p),
                    Ok(Err(e)) => ev.gaps.push(Gap {
                        scope: "upstream probe".to_owned(),
                        kind: GapKind::InvalidInput,
                        message: e.to_string(),
                        hint: None,
                    }),
                    Err(e) => ev.gaps.push(Gap {
                        scope: "upstream probe".to_owned(),
                        kind: GapKind::Other,
                        message: format!("probe task failed: {e}"),
                        hint: None,
                    }),
                }
            }
        }
        probes.sort_by_key(|p| {
            p.id.trim_start_matches(BACKEND_PROBE_PREFIX)
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        ev.probes.extend(probes);
    }

    async fn host_checks(
        &self,
        conf: Option<&NginxConfig>,
        targets: &[UpstreamTarget],
        ev: &mut Evidence,
    ) {
        // nginx -t on the files (a dump cannot be tested), with the prefix the running nginx
        // uses: relative paths in the config (`error_log logs/error.log`) resolve against it, and
        // without it nginx -t looks under its compiled-in prefix and fails where nginx works.
        // nginx -t writes (logs, pid file, temp directories): crate::isolate keeps those writes
        // off the machine, or does not run it.
        if let ConfigSource::Files { path, .. } = self.source {
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            let prefix = self.test_prefix(conf, &path);
            let mut args = vec![
                "-t".to_owned(),
                "-q".to_owned(),
                "-e".to_owned(),
                "stderr".to_owned(),
            ];
            if let Some(prefix) = &prefix {
                args.push("-p".to_owned());
                args.push(format!(
                    "{}/",
                    prefix.display().to_string().trim_end_matches('/')
                ));
            }
            args.push("-c".to_owned());
            args.push(path.display().to_string());
            let check = self.config_test(conf, prefix, args).await;
            ev.checks.push(check);
        }
        // worker_connections vs the open-files limit of the master (workers inherit it).
        let wc = conf
            .and_then(|c| c.worker_connections())
            .map(|(n, _)| n)
            .unwrap_or(512);
        let rlimit = conf.and_then(|c| c.worker_rlimit_nofile()).map(|(n, _)| n);
        let pid_file = conf
            .and_then(|c| {
                c.root
                    .iter()
                    .find(|d| d.name == "pid")
                    .and_then(|d| d.args.first().cloned())
            })
            .map(|p| self.resolve(&p))
            .unwrap_or_else(|| PathBuf::from("/run/nginx.pid"));
        let master = self.host.read(&pid_file).and_then(|t| api::pid_of(&t));
        let limit = match (rlimit, master) {
            (Some(n), _) => Some((n, "worker_rlimit_nofile".to_owned())),
            (None, Some(pid)) => self
                .host
                .read(&api::limits_path(pid))
                .and_then(|t| api::open_files_limit(&t))
                .map(|n| (n, format!("the running master (pid {pid})"))),
            (None, None) => self
                .host
                .read(Path::new("/proc/self/limits"))
                .and_then(|t| api::open_files_limit(&t))
                .map(|n| {
                    (
                        n,
                        "this shell (nginx is not running: no pid file)".to_owned(),
                    )
                }),
        };
        ev.checks.push(match limit {
            Some((n, from)) if wc > n => check(
                CHECK_NOFILE,
                "worker_connections vs open files",
                CheckStatus::Fail,
                &format!("worker_connections {wc} > open-files limit {n} of {from}"),
            ),
            Some((n, from)) => check(
                CHECK_NOFILE,
                "worker_connections vs open files",
                CheckStatus::Pass,
                &format!(
                    "worker_connections {wc} <= open-files limit {} of {from}",
                    show_limit(n)
                ),
            ),
            None => check(
                CHECK_NOFILE,
                "worker_connections vs open files",
                CheckStatus::Skipped,
                "open-files limit not readable",
            ),
        });
        // The systemd unit.
        if self.host.has_systemd() {
            let args = vec!["is-active".to_owned(), "nginx".to_owned()];
            let c = match self.host.run(Path::new("systemctl"), &args).await {
                Ok(out) if out.output.trim() == "active" => check(
                    CHECK_SYSTEMD,
                    "systemd unit nginx",
                    CheckStatus::Pass,
                    "active",
                ),
                Ok(out) => check(
                    CHECK_SYSTEMD,
                    "systemd unit nginx",
                    CheckStatus::Fail,
                    out.output.trim(),
                ),
                Err(e) => check(
                    CHECK_SYSTEMD,
                    "systemd unit nginx",
                    CheckStatus::Skipped,
                    &e,
                ),
            };
            ev.checks.push(c);
        } else {
            ev.checks.push(check(
                CHECK_SYSTEMD,
                "systemd unit nginx",
                CheckStatus::Skipped,
                "no systemd on this machine",
            ));
        }
        self.seed_checks(conf, ev).await;
        // Whether local upstreams listen.
        let tcp = self
            .host
            .read(Path::new("/proc/net/tcp"))
            .unwrap_or_default();
        let tcp6 = self
            .host
            .read(Path::new("/proc/net/tcp6"))
            .unwrap_or_default();
        let listening = api::listening(&tcp, &tcp6);
        for t in targets {
            let id = format!("host.listening.{}", t.peer);
            if ev.checks.iter().any(|c| c.id == id) {
                continue;
            }
            if let Some(path) = t.peer.strip_prefix("unix:") {
                let (status, detail) = match self.host.path_state(Path::new(path)) {
                    PathState::Socket => (CheckStatus::Pass, "the socket exists".to_owned()),
                    PathState::Missing => (CheckStatus::Fail, "no such file".to_owned()),
                    PathState::NotASocket => {
                        (CheckStatus::Fail, "exists but is not a socket".to_owned())
                    }
                    PathState::Denied => (CheckStatus::Fail, "permission denied".to_owned()),
                };
                ev.checks.push(HostCheck {
                    id,
                    name: format!("socket {path}"),
                    status,
                    detail,
                });
                continue;
            }
            let Some((host, port)) = t.peer.rsplit_once(':') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let Ok(ip) = host.parse::<std::net::IpAddr>() else {
                continue;
            };
            // Only addresses of this machine can be checked in /proc.
            if !ip.is_loopback() && !listening.iter().any(|(a, _)| *a == ip) {
                continue;
            }
            let up = listening
                .iter()
                .any(|(a, p)| *p == port && (*a == ip || a.is_unspecified()));
            ev.checks.push(HostCheck {
                id,
                name: format!("listening on {}", t.peer),
                status: if up {
                    CheckStatus::Pass
                } else {
                    CheckStatus::Fail
                },
                detail: if up {
                    format!("a socket listens on {}", t.peer)
                } else {
                    format!("nothing listens on {}", t.peer)
                },
            });
        }
    }
}

impl Collector<'_> {
    /// Run `nginx -t` (with `args`) so that it changes nothing: in a private mount namespace
    /// whose overlays discard its writes, else as is when every path it writes exists, else not
    /// at all (crate::isolate).
    async fn config_test(
        &self,
        conf: Option<&NginxConfig>,
        prefix: Option<PathBuf>,
        args: Vec<String>,
    ) -> HostCheck {
        use crate::isolate;
        const NAME: &str = "nginx -t";
        let v = self
            .host
            .run(&self.opts.nginx_bin, &["-V".to_owned()])
            .await
            .map(|o| o.output)
            .unwrap_or_default();
        let compiled = isolate::compiled(&v);
        let prefix = prefix
            .or_else(|| compiled.prefix.clone())
            .unwrap_or_else(|| PathBuf::from("/usr/local/nginx"));
        let mut values = Vec::new();
        if let Some(c) = conf {
            collect_args(&c.root, &mut |d| {
                if let Some(a) = d.args.first() {
                    values.push((d.name.clone(), a.clone()));
                }
            });
        }
        let paths = isolate::write_paths(&values, &compiled, &prefix);
        let judge = |out: crate::api::CommandOutput, how: &str| {
            if out.success {
                check(
                    CHECK_CONFIG_TEST,
                    NAME,
                    CheckStatus::Pass,
                    &format!("syntax is ok ({how})"),
                )
            } else {
                check(
                    CHECK_CONFIG_TEST,
                    NAME,
                    CheckStatus::Fail,
                    first_problem(&out.output),
                )
            }
        };
        let root = self
            .host
            .read(Path::new("/proc/self/status"))
            .and_then(|t| {
                let uid = t.lines().find_map(|l| l.strip_prefix("Uid:"))?;
                uid.split_whitespace().nth(1).map(|e| e == "0")
            })
            .unwrap_or(false);
        let dirs = isolate::overlay_dirs(&paths, &|p: &Path| p.is_dir());
        if let (true, Some(dirs)) = (root, dirs.filter(|d| !d.is_empty())) {
            let scratch =
                std::env::temp_dir().join(format!("cloud502-nginx-t.{}", std::process::id()));
            if std::fs::create_dir(&scratch).is_ok() {
                let mut wrapped: Vec<String> = [
                    "--mount",
                    "--propagation",
                    "private",
                    "--",
                    "sh",
                    "-c",
                    isolate::SCRIPT,
                    "sh",
                ]
                .map(str::to_owned)
                .into();
                wrapped.push(scratch.display().to_string());
                wrapped.extend(dirs.iter().map(|d| d.display().to_string()));
                wrapped.push("--".to_owned());
                wrapped.push(self.opts.nginx_bin.display().to_string());
                wrapped.extend(args.iter().cloned());
                let result = self.host.run(Path::new("unshare"), &wrapped).await;
                let _ = std::fs::remove_dir(&scratch);
                match result {
                    Ok(out)
                        if !out.output.contains("cloud502-isolation:")
                            && !out.output.contains("unshare:") =>
                    {
                        let shown: Vec<String> =
                            dirs.iter().map(|d| d.display().to_string()).collect();
                        return judge(
                            out,
                            &format!(
                                "run in a private mount namespace: its writes under {} were discarded",
                                shown.join(", ")
                            ),
                        );
                    }
                    _ => {} // no unshare or no overlayfs here: the plain rules below
                }
            }
        }
        let missing: Vec<String> = paths
            .iter()
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            let shown = missing
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = missing.len().saturating_sub(5);
            return check(
                CHECK_CONFIG_TEST,
                NAME,
                CheckStatus::Skipped,
                &format!(
                    "not run: nginx -t would create {shown}{} and cloud502 changes nothing on the \
                     machine (as root with unshare and overlayfs, it runs the test in a private \
                     mount namespace instead); run `{} {}` yourself",
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    },
                    self.opts.nginx_bin.display(),
                    args.join(" ")
                ),
            );
        }
        match self.host.run(&self.opts.nginx_bin, &args).await {
            Ok(out) => judge(
                out,
                "every file and directory it opens exists: it created none",
            ),
            Err(e) => check(CHECK_CONFIG_TEST, NAME, CheckStatus::Skipped, &e),
        }
    }

    /// The seed guide's checks of the host around nginx (crate::host): OOM kills, pressure,
    /// backlogs, the application server's own timeout, descriptor exhaustion in error.log.
    async fn seed_checks(&self, conf: Option<&NginxConfig>, ev: &mut Evidence) {
        let (errors, access) = self.log_paths(conf);
        let mut dirs: Vec<PathBuf> = Vec::new();
        let temp_paths: Vec<String> = conf
            .map(|c| {
                let mut out = Vec::new();
                collect_args(&c.root, &mut |d| {
                    if d.name.ends_with("_temp_path") || d.name.ends_with("_cache_path") {
                        out.extend(d.args.first().cloned());
                    }
                });
                out
            })
            .unwrap_or_default();
        for p in errors
            .iter()
            .chain(access.iter())
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            .chain(temp_paths.iter().map(|p| self.resolve(p)))
        {
            if p.is_dir() && !dirs.contains(&p) {
                dirs.push(p);
            }
        }
        let input = crate::host::Input {
            host: self.host.as_ref(),
            upstreams: crate::host::upstreams(&ev.config),
            dirs,
            error_logs: errors,
            since: self.opts.since,
            local_offset: self.opts.local_offset,
        };
        ev.checks.extend(crate::host::checks(&input).await);
    }

    /// The error and access logs read: the ones named, else the config's, else the defaults.
    fn log_paths(&self, conf: Option<&NginxConfig>) -> (Vec<PathBuf>, Vec<PathBuf>) {
        if !self.opts.error_logs.is_empty() || !self.opts.access_logs.is_empty() {
            return (self.opts.error_logs.clone(), self.opts.access_logs.clone());
        }
        let mut errors: Vec<PathBuf> = conf
            .map(|c| {
                c.error_logs()
                    .into_iter()
                    .map(|(p, _)| self.resolve(&p))
                    .collect()
            })
            .unwrap_or_default();
        let mut access: Vec<PathBuf> = conf
            .map(|c| {
                c.access_logs()
                    .into_iter()
                    .map(|(p, _, _)| self.resolve(&p))
                    .collect()
            })
            .unwrap_or_default();
        if errors.is_empty() {
            errors.push(PathBuf::from(DEFAULT_LOG_DIR).join("error.log"));
        }
        if access.is_empty() {
            access.push(PathBuf::from(DEFAULT_LOG_DIR).join("access.log"));
        }
        (errors, access)
    }
}

/// Visit every directive of the config.
fn collect_args(level: &[crate::parse::Directive], f: &mut dyn FnMut(&crate::parse::Directive)) {
    for d in level {
        f(d);
        collect_args(d.children(), f);
    }
}

fn show_limit(n: u64) -> String {
    if n == u64::MAX {
        "unlimited".to_owned()
    } else {
        n.to_string()
    }
}

fn check(id: &str, name: &str, status: CheckStatus, detail: &str) -> HostCheck {
    HostCheck {
        id: id.to_owned(),
        name: name.to_owned(),
        status,
        detail: detail.to_owned(),
    }
}

/// nginx's own reason in a failed `nginx -T` capture: its first `[emerg]` (or `[alert]`/`[crit]`)
/// line, without the `nginx: ` program prefix. `None` when the text has no such line.
fn failed_dump(text: &str) -> Option<String> {
    text.lines()
        .find(|l| l.contains("[emerg]") || l.contains("[alert]") || l.contains("[crit]"))
        .map(|l| {
            l.trim()
                .trim_start_matches("nginx: ")
                .chars()
                .take(500)
                .collect()
        })
}

/// The first line of `nginx -t` output that says what is wrong.
fn first_problem(output: &str) -> &str {
    output
        .lines()
        .find(|l| l.contains("[emerg]") || l.contains("[crit]") || l.contains("[alert]"))
        .or_else(|| output.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("nginx -t failed")
        .trim()
}

async fn read_one(
    path: PathBuf,
    id: String,
    choice: FormatChoice,
    formats: Vec<AccessFormat>,
    opts: cloud502_logs::Options,
    progress: Arc<dyn Progress>,
) -> Result<cloud502_model::LogSummary, Gap> {
    let label = path.display().to_string();
    let total = std::fs::metadata(&path).ok().map(|m| m.len());
    let task_label = label.clone();
    let task = tokio::task::spawn_blocking(move || {
        let mut report = |done: u64| progress.bytes(&task_label, done, total);
        let result =
            cloud502_logs::summarize_path(&path, &id, choice, &formats, &opts, &mut report);
        progress.bytes_done(&task_label);
        result
    });
    match task.await {
        Ok(Ok(summary)) => Ok(summary),
        Ok(Err(e)) => Err(cloud502_logs::gap(&label, &e)),
        Err(e) => Err(Gap {
            scope: label,
            kind: GapKind::Other,
            message: format!("reading the log failed: {e}"),
            hint: None,
        }),
    }
}

/// One upstream to probe.
#[derive(Debug, Clone)]
struct UpstreamTarget {
    /// As nginx logs it: `127.0.0.1:8080`, `unix:/run/app.sock`, `app.internal:80`.
    peer: String,
    /// `http`, `https`, or None for fastcgi/uwsgi/grpc (connect only).
    scheme: Option<&'static str>,
}

impl UpstreamTarget {
    fn request(&self, timeout: std::time::Duration) -> Result<ProbeRequest, String> {
        if let Some(path) = self.peer.strip_prefix("unix:") {
            return ProbeRequest::unix(path, self.scheme == Some("http"), "/", timeout)
                .map_err(|e| e.to_string());
        }
        let url = match self.scheme {
            Some(s) => format!("{s}://{}/", self.peer),
            None => format!("tcp://{}", self.peer),
        };
        let options = ProbeOptions {
            timeout,
            // nginx does not verify upstream certificates unless proxy_ssl_verify is on; the
            // rules judge the facts, the probe must not stop at them.
            insecure: true,
            // Ask as nginx's keep-alive pool does: a backend announces its idle timeout
            // (`Keep-Alive: timeout=5`, Node.js) only to a request that keeps the connection,
            // never to `Connection: close`, the probe's default. The probe still closes it.
            headers: vec!["Connection: keep-alive".to_owned()],
            ..ProbeOptions::default()
        };
        ProbeRequest::new(&url, options).map_err(|e| e.to_string())
    }
}

/// The peers that are, or resolve to, a link-local or instance-metadata address, with why
/// (`it is 169.254.169.254`, `it resolves to fd00:ec2::254`). Names are looked up at once, each
/// bounded by `timeout`; one that does not resolve is left to the probe, which reports it.
async fn forbidden_peers(
    targets: &[UpstreamTarget],
    timeout: std::time::Duration,
) -> std::collections::HashMap<String, String> {
    use cloud502_collect::remote::{AddressClass, classify_address};
    let mut out = std::collections::HashMap::new();
    let mut lookups = tokio::task::JoinSet::new();
    for t in targets {
        if t.peer.starts_with("unix:") {
            continue;
        }
        if let Ok(addr) = t.peer.parse::<std::net::SocketAddr>() {
            if classify_address(addr.ip()) == AddressClass::Forbidden {
                out.insert(t.peer.clone(), format!("it is {}", addr.ip()));
            }
            continue;
        }
        let peer = t.peer.clone();
        lookups.spawn(async move {
            let found = tokio::time::timeout(timeout, tokio::net::lookup_host(peer.clone())).await;
            let bad = match found {
                Ok(Ok(addrs)) => addrs
                    .map(|a| a.ip())
                    .find(|ip| classify_address(*ip) == AddressClass::Forbidden),
                _ => None,
            };
            (peer, bad)
        });
    }
    while let Some(joined) = lookups.join_next().await {
        if let Ok((peer, Some(ip))) = joined {
            out.insert(peer, format!("it resolves to {ip}"));
        }
    }
    out
}

/// Distinct upstream peers from the config: pool members, and direct targets of routes that do not
/// name a pool. Variables cannot be probed (their value is per request).
fn upstream_targets(ev: &Evidence) -> Vec<UpstreamTarget> {
    let mut out: Vec<UpstreamTarget> = Vec::new();
    // A set beside the list: a pool of 100,000 servers must not compare each with all before it.
    let mut seen = std::collections::HashSet::new();
    let mut push = |peer: String, scheme: Option<&'static str>| {
        if peer.contains('$') || peer.is_empty() {
            return;
        }
        if seen.insert(peer.clone()) {
            out.push(UpstreamTarget { peer, scheme });
        }
    };
    let mut pools_seen = std::collections::HashSet::new();
    // First pool of each name, as `ConfigSnapshot::pool` finds it, without a scan per route.
    let mut pools = std::collections::HashMap::new();
    for pool in &ev.config.pools {
        pools.entry(pool.name.as_str()).or_insert(pool);
    }
    for route in &ev.config.routes {
        if route.dynamic {
            continue;
        }
        let scheme = match (route.kind, route.scheme.as_deref()) {
            (ForwardKind::Proxy, Some("https")) => Some("https"),
            (ForwardKind::Proxy, _) => Some("http"),
            _ => None,
        };
        match route.pool.as_deref().and_then(|p| pools.get(p).copied()) {
            // A pool that many routes share is expanded once per scheme, not once per route.
            Some(pool) if !pools_seen.insert((pool.name.as_str(), scheme)) => {}
            Some(pool) => {
                for m in &pool.members {
                    let down = m.setting("down").is_some();
                    if !down {
                        push(crate::config::with_port(&m.address, scheme), scheme);
                    }
                }
            }
            None => push(
                crate::config::with_port(&nginx_peer(&route.target), scheme),
                scheme,
            ),
        }
    }
    out
}

/// Does any level of the config forward requests (`proxy_pass`, `fastcgi_pass`, ...)?
fn has_pass(level: &[crate::parse::Directive]) -> bool {
    level
        .iter()
        .any(|d| d.name.ends_with("_pass") || has_pass(d.children()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::with_port;

    #[test]
    fn peers_get_nginx_default_ports() {
        assert_eq!(with_port("10.0.0.1", Some("http")), "10.0.0.1:80");
        assert_eq!(with_port("10.0.0.1", Some("https")), "10.0.0.1:443");
        assert_eq!(with_port("10.0.0.1:8080", Some("http")), "10.0.0.1:8080");
        assert_eq!(with_port("unix:/run/a.sock", None), "unix:/run/a.sock");
        assert_eq!(with_port("[::1]:81", None), "[::1]:81");
        assert_eq!(with_port("::1", Some("http")), "[::1]:80");
    }

    #[test]
    fn a_failed_nginx_t_capture_is_told_by_nginxs_own_line() {
        // what `nginx -T > dump 2>&1` holds when the config does not load (nginx 1.22.1)
        let failed = "nginx: [emerg] unknown directive \"proxy_passs\" in /etc/nginx/sites-enabled/app:12\nnginx: configuration file /etc/nginx/nginx.conf test failed\n";
        assert_eq!(
            failed_dump(failed).as_deref(),
            Some("[emerg] unknown directive \"proxy_passs\" in /etc/nginx/sites-enabled/app:12")
        );
        assert_eq!(failed_dump("just some text\n"), None);
    }
}
