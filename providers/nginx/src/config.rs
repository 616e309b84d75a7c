//! `cloud502 nginx` options: where the config and logs are, and what to check. Validated all at once.

use crate::error::{NginxError, Result};
use std::path::PathBuf;
use std::time::Duration;

/// The default main config file (Debian, RHEL and the nginx.org packages).
pub const DEFAULT_CONFIG: &str = "/etc/nginx/nginx.conf";
/// Where packaged nginx writes its logs when the config does not say.
pub const DEFAULT_LOG_DIR: &str = "/var/log/nginx";

/// Options of `cloud502 nginx`, as the user gave them.
#[derive(Debug, Clone)]
pub struct NginxOptions {
    /// The main config file to read, following includes (default /etc/nginx/nginx.conf).
    pub config: Option<PathBuf>,
    /// A saved `nginx -T` dump to read instead of files.
    pub dump: Option<PathBuf>,
    /// error.log files to read (default: the ones the config names).
    pub error_logs: Vec<PathBuf>,
    /// access.log files to read (default: the ones the config names).
    pub access_logs: Vec<PathBuf>,
    /// Only log lines at or after this time count.
    pub since: Option<time::OffsetDateTime>,
    /// Offset of error.log timestamps (nginx writes local time without an offset).
    pub local_offset: time::UtcOffset,
    /// Probe each configured upstream directly.
    pub probe: bool,
    /// Time each upstream probe may take.
    pub probe_timeout: Duration,
    /// Run the host checks (`nginx -t`, open-files limit, systemd unit, listening ports).
    pub local: bool,
    /// The nginx binary for `nginx -t` and `nginx -v`.
    pub nginx_bin: PathBuf,
    /// The nginx prefix that relative paths in the config resolve against (default: the config
    /// file's directory's parent for `conf/nginx.conf` layouts, else the config's directory).
    pub prefix: Option<PathBuf>,
    /// Absolute paths in the config resolve under this directory (a copied config tree).
    pub root: Option<PathBuf>,
}

impl Default for NginxOptions {
    fn default() -> Self {
        NginxOptions {
            config: None,
            dump: None,
            error_logs: Vec::new(),
            access_logs: Vec::new(),
            since: None,
            local_offset: time::UtcOffset::UTC,
            probe: true,
            probe_timeout: Duration::from_secs(3),
            local: false,
            nginx_bin: PathBuf::from("nginx"),
            prefix: None,
            root: None,
        }
    }
}

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// Files, from this main file.
    Files {
        /// The main file.
        path: PathBuf,
        /// Whether the user named it (a missing default is not an error when logs are given).
        explicit: bool,
    },
    /// A saved `nginx -T` dump.
    Dump(PathBuf),
}

impl NginxOptions {
    /// Check the options; every problem is reported at once.
    pub fn validate(&self) -> Result<ConfigSource> {
        let mut problems = Vec::new();
        if self.config.is_some() && self.dump.is_some() {
            problems.push("--config and --dump cannot be used together".to_owned());
        }
        if self.probe_timeout.is_zero() {
            problems.push("--timeout must be greater than zero".to_owned());
        }
        // Bounded for library callers too: each probe's deadline is `now + timeout`.
        use cloud502_collect::limits;
        if let Err(e) = limits::check_duration("--timeout", self.probe_timeout, limits::MAX_TIMEOUT)
        {
            problems.push(e);
        }
        for (flag, paths) in [
            ("--error-log", &self.error_logs),
            ("--access-log", &self.access_logs),
        ] {
            for p in paths.iter() {
                if p.as_os_str().is_empty() {
                    problems.push(format!("{flag} needs a path"));
                }
            }
        }
        if !problems.is_empty() {
            return Err(NginxError::Options {
                problems,
                hint: "run `cloud502 nginx --help`".to_owned(),
            });
        }
        Ok(match (&self.config, &self.dump) {
            (_, Some(d)) => ConfigSource::Dump(d.clone()),
            (Some(c), None) => ConfigSource::Files {
                path: c.clone(),
                explicit: true,
            },
            (None, None) => ConfigSource::Files {
                path: PathBuf::from(DEFAULT_CONFIG),
                explicit: false,
            },
        })
    }
}

/// nginx's default port for a peer without one: 80 (443 for https).
pub(crate) fn with_port(addr: &str, scheme: Option<&str>) -> String {
    if addr.starts_with("unix:") {
        return addr.to_owned();
    }
    let has_port = if let Some(rest) = addr.strip_prefix('[') {
        rest.contains("]:")
    } else {
        addr.matches(':').count() == 1
    };
    if has_port {
        addr.to_owned()
    } else {
        let port = if scheme == Some("https") { 443 } else { 80 };
        if addr.contains(':') && !addr.starts_with('[') {
            format!("[{addr}]:{port}")
        } else {
            format!("{addr}:{port}")
        }
    }
}
