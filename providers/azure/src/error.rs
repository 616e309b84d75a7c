//! Errors of the Azure provider: only those that stop it before anything is read. Everything after
//! the first call is a gap in the report.

/// Why `cloud502 azure` could not start or read anything.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// Invalid options (exit code 2).
    #[error("{}", problems.join("; "))]
    Options {
        /// Every problem found.
        problems: Vec<String>,
        /// How to fix them.
        hint: String,
    },
    /// The gateway, resource group or subscription does not exist (exit code 2).
    #[error("{message}")]
    NotFound {
        /// What was not found, and where it was looked for.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// No usable credentials, or they were rejected (exit code 4).
    #[error("{message}")]
    Credentials {
        /// What went wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The first call failed for another reason (exit code 4).
    #[error("{message}")]
    Unavailable {
        /// What went wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl From<AzureError> for cloud502_engine::ProviderError {
    fn from(e: AzureError) -> Self {
        use cloud502_engine::ProviderError as P;
        let message = e.to_string();
        match e {
            AzureError::Options { hint, .. } | AzureError::NotFound { hint, .. } => P::Config {
                message,
                hint: Some(hint),
            },
            AzureError::Credentials { hint, .. } => P::Auth {
                message,
                hint: Some(hint),
            },
            AzureError::Unavailable { hint, .. } => P::Unavailable {
                message,
                hint: Some(hint),
            },
        }
    }
}

/// Result alias of the Azure provider.
pub type Result<T, E = AzureError> = std::result::Result<T, E>;
