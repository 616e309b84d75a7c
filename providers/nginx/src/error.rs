//! Errors of the nginx provider: only those that stop it before anything is read.

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

impl From<NginxError> for cloud502_engine::ProviderError {
    fn from(e: NginxError) -> Self {
        let hint = match &e {
            NginxError::Options { hint, .. } | NginxError::Config { hint, .. } => hint.clone(),
        };
        cloud502_engine::ProviderError::Config {
            message: e.to_string(),
            hint: Some(hint),
        }
    }
}

/// Result alias of the nginx provider.
pub type Result<T, E = NginxError> = std::result::Result<T, E>;
