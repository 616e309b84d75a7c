//! Errors a provider can return when nothing at all could be collected.

use cloud502_model::{Gap, GapKind};

/// Why a provider could not collect anything.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The selector or configuration is invalid (exit code 2).
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// Credentials are missing, expired or lack a permission (exit code 4).
    #[error("{message}")]
    Auth {
        /// What is wrong.
        message: String,
        /// How to fix it (the missing permission, the login command, ...).
        hint: Option<String>,
    },
    /// Anything else that stopped every source from being read (exit code 4).
    #[error("{message}")]
    Unavailable {
        /// What went wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
}

impl ProviderError {
    /// Whether this is a usage or configuration error (exit code 2) rather than a failed inspection.
    pub fn is_usage(&self) -> bool {
        matches!(self, ProviderError::Config { .. })
    }

    /// The hint, if any (an empty one is none).
    pub fn hint(&self) -> Option<&str> {
        match self {
            ProviderError::Config { hint, .. }
            | ProviderError::Auth { hint, .. }
            | ProviderError::Unavailable { hint, .. } => {
                hint.as_deref().filter(|h| !h.trim().is_empty())
            }
        }
    }

    /// This error as a gap in the report.
    pub fn to_gap(&self, scope: &str) -> Gap {
        let kind = match self {
            ProviderError::Config { .. } => GapKind::InvalidInput,
            ProviderError::Auth { .. } => GapKind::Permission,
            ProviderError::Unavailable { .. } => GapKind::Unreachable,
        };
        Gap {
            scope: scope.to_owned(),
            kind,
            message: self.to_string(),
            hint: self.hint().map(str::to_owned),
        }
    }
}

/// Result alias for provider operations.
pub type Result<T, E = ProviderError> = std::result::Result<T, E>;
