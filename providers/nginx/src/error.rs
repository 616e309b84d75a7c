//! Errors of the nginx provider: those that stop it before anything is read, and why a
//! configuration could not be loaded (shared by the loader in `conf` and the parser in `parse`).

/// Why `cloud502 nginx` could not start.
#[derive(Debug, thiserror::Error)]
pub enum NginxError {
    /// Invalid options.
    #[error("{}", problems.join("; "))]
    Options {
        /// Every problem found.
        problems: Vec<String>,
        /// How to fix them.
        hint: String,
    },
    /// The configuration could not be read or parsed, and nothing else was asked for.
    #[error("{message}")]
    Config {
        /// What went wrong (file:line when it is a syntax error).
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl From<NginxError> for cloud502_collect::ProviderError {
    fn from(e: NginxError) -> Self {
        let hint = match &e {
            NginxError::Options { hint, .. } | NginxError::Config { hint, .. } => hint.clone(),
        };
        cloud502_collect::ProviderError::Config {
            message: e.to_string(),
            hint: Some(hint),
        }
    }
}

/// Result alias of the nginx provider.
pub type Result<T, E = NginxError> = std::result::Result<T, E>;

/// Why a configuration could not be loaded. Each message is one line naming the problem; the fix is
/// [`ConfigError::hint`], so that a caller adding its own hint never prints two.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read (or is larger than [`cloud502_collect::limits::MAX_CONFIG_BYTES`]).
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The text is not valid nginx syntax.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: u32,
        /// What is wrong, in nginx's words where nginx has them.
        message: String,
    },
    /// A file includes itself, directly or through other files.
    #[error("include loop: {file} includes itself, directly or through other files")]
    IncludeLoop {
        /// The file included again.
        file: String,
    },
    /// Includes nest deeper than any sane configuration does.
    #[error("includes nested more than {limit} levels deep at {file}")]
    IncludeTooDeep {
        /// The file that would have gone one level too deep.
        file: String,
        /// The limit.
        limit: usize,
    },
    /// The text given as a dump has no `# configuration file ...:` sections.
    #[error("{path} is not `nginx -T` output: it has no \"# configuration file PATH:\" lines")]
    NotADump {
        /// Where the text came from.
        path: String,
    },
    /// More directives than any real configuration has ([`crate::parse::MAX_DIRECTIVES`]).
    #[error("{file}:{line}: more than {limit} directives; stopped there")]
    TooManyDirectives {
        /// The file.
        file: String,
        /// The line of the directive past the cap.
        line: u32,
        /// The cap.
        limit: usize,
    },
    /// Includes read more files, or more bytes, than any real configuration has (a glob that
    /// fans out, or the same file included over and over).
    #[error("includes {what} ({at}); stopped there")]
    TooManyIncludes {
        /// The cap passed: `read more than 10000 files`.
        what: String,
        /// The include that passed it.
        at: String,
    },
}

impl ConfigError {
    /// How to fix it.
    pub fn hint(&self) -> &'static str {
        match self {
            ConfigError::Io { source, .. } if source.kind() == std::io::ErrorKind::InvalidData => {
                "check that the path names the config file, not a log or a device"
            }
            ConfigError::Io { .. } => "pass --config PATH or --dump PATH",
            ConfigError::Syntax { .. } => "fix the line, or check it with `nginx -t`",
            ConfigError::IncludeLoop { .. } => "remove the recursive include",
            ConfigError::IncludeTooDeep { .. } => {
                "check for an include loop through differently named paths"
            }
            ConfigError::NotADump { .. } => {
                "capture it with `nginx -T > FILE 2>&1`, or pass the config file itself with --config PATH"
            }
            ConfigError::TooManyDirectives { .. } => {
                "check that the path names an nginx config; real ones have far fewer directives"
            }
            ConfigError::TooManyIncludes { .. } => {
                "narrow the include globs, or pass --dump with a saved `nginx -T`"
            }
        }
    }
}
