//! Errors in a probe's configuration (bad URL, `--resolve`, `--header`, CA file).

/// Everything wrong with a probe's configuration, reported at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct ConfigError {
    /// One line per problem.
    pub problems: Vec<String>,
    /// How to fix the first problem.
    pub hint: Option<String>,
}

impl ConfigError {
    pub(crate) fn one(problem: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        ConfigError {
            problems: vec![problem.into()],
            hint: hint.into(),
        }
    }
}

impl From<ConfigError> for cloud502_collect::ProviderError {
    fn from(e: ConfigError) -> Self {
        cloud502_collect::ProviderError::Config {
            message: e.to_string(),
            hint: e.hint,
        }
    }
}

/// Result alias for probe configuration.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
