//! `cloud502 nginx`'s options, declared once: its flags and the audit file's keys for
//! `provider = "nginx"`.

use crate::{NginxOptions, NginxProvider};
use cloud502_collect::options::{Common, WindowArgs, parse_timeout, problem};
use cloud502_collect::{Provider, ProviderArgs, ProviderError};
use cloud502_model::{Layer, ProviderKind};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Collection deadline of a local provider: reading a big log is bounded by its size, not by a
/// network timeout, so the backstop is generous; each network call has its own timeout.
const LOCAL_DEADLINE: Duration = Duration::from_secs(3600);

/// Diagnose nginx: read its config (files or a `nginx -T` dump) and the error/access logs it
/// names, probe each upstream, and with --local run the host checks (`nginx -t`, open-files
/// limit, systemd unit, listening ports). Findings cite file:line and log lines.
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NginxArgs {
    /// The main config file; includes are followed [default: /etc/nginx/nginx.conf].
    #[arg(long, value_name = "PATH", conflicts_with = "dump")]
    pub config: Option<PathBuf>,

    /// A saved `nginx -T` dump to read instead of the files (e.g. from `nginx -T > dump.txt 2>&1`).
    #[arg(long, value_name = "PATH")]
    pub dump: Option<PathBuf>,

    /// An error.log to read (repeatable) [default: the error_log files the config names].
    #[arg(long = "error-log", value_name = "PATH")]
    #[serde(default)]
    pub error_log: Vec<PathBuf>,

    /// An access.log to read (repeatable) [default: the access_log files the config names]. Its
    /// log_format is taken from the config, or detected.
    #[arg(long = "access-log", value_name = "PATH")]
    #[serde(default)]
    pub access_log: Vec<PathBuf>,

    // The audit file's `since` (a key of every subject, a duration) comes in `Common`; its
    // error.log timestamps are read in this machine's offset.
    #[command(flatten)]
    #[serde(skip)]
    pub window: WindowArgs,

    /// Do not probe the upstreams the config names.
    #[arg(long = "no-probe", action = clap::ArgAction::SetFalse)]
    #[serde(default = "cloud502_collect::options::yes")]
    pub probe: bool,

    /// Time each upstream probe may take (e.g. 3s, 500ms).
    // The audit file's `timeout` is a key of every subject: it comes in `Common`.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_timeout)]
    #[serde(skip)]
    pub timeout: Option<Duration>,

    /// The config is on this machine: also run `nginx -t`, compare worker_connections with the
    /// open-files limit, read the systemd unit's state and check the upstream ports listen.
    #[arg(long)]
    #[serde(default)]
    pub local: bool,

    /// The nginx binary used by --local for `nginx -t` and `nginx -v`.
    // A command found on PATH, so never resolved against the audit file's directory.
    #[arg(long, value_name = "PATH", default_value = "nginx")]
    pub nginx_bin: Option<PathBuf>,

    /// The nginx prefix that relative paths in the config resolve against
    /// [default: the config file's directory, or its parent for a conf/ directory].
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,

    /// Read the config as if DIR were `/`: absolute paths in it (includes, logs, the pid file)
    /// resolve under DIR. For a config tree copied off its machine, whose absolute includes would
    /// otherwise read this machine's /etc/nginx.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

impl ProviderArgs for NginxArgs {
    const NAME: &'static str = "nginx";
    const KIND: ProviderKind = ProviderKind::Nginx;
    const LAYER: Layer = Layer::Nginx;
    type Options = NginxOptions;

    /// The window starts when this is called: the audit calls it again as each subject starts.
    fn into_options(self, common: &Common) -> Result<NginxOptions, ProviderError> {
        let (since, local_offset) = match common.since {
            Some(d) => (
                time::OffsetDateTime::now_utc()
                    .checked_sub(time::Duration::try_from(d).unwrap_or(time::Duration::HOUR)),
                common.local_offset,
            ),
            None => self.window.parse(common.local_offset).map_err(problem)?,
        };
        let defaults = NginxOptions::default();
        Ok(NginxOptions {
            config: self.config.map(|f| common.path(f)),
            dump: self.dump.map(|f| common.path(f)),
            error_logs: common.paths(self.error_log),
            access_logs: common.paths(self.access_log),
            since,
            local_offset,
            probe: self.probe,
            probe_timeout: self
                .timeout
                .or(common.timeout)
                .unwrap_or(defaults.probe_timeout),
            local: self.local,
            nginx_bin: self.nginx_bin.unwrap_or(defaults.nginx_bin),
            prefix: self.prefix.map(|f| common.path(f)),
            root: self.root.map(|f| common.path(f)),
        })
    }

    fn provider(options: NginxOptions) -> Result<Box<dyn Provider>, ProviderError> {
        Ok(Box::new(NginxProvider::new(options)?))
    }

    fn deadline(_: &NginxOptions) -> Duration {
        LOCAL_DEADLINE
    }
}
