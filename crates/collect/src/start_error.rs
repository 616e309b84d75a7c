//! Why a cloud provider could not start: the errors that stop it before anything is read. Every
//! failure after the first call is a gap in the report instead. Shared by the AWS and Azure
//! providers, which alias it (`AwsError`, `AzureError`).

/// Why a provider could not start or read anything.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Invalid options (exit code 2).
    #[error("{}", problems.join("; "))]
    Options {
        /// Every problem found.
        problems: Vec<String>,
        /// How to fix them.
        hint: String,
    },
    /// The resource named (target group, load balancer, gateway, resource group, subscription) does not exist (exit code 2).
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

impl From<StartError> for crate::ProviderError {
    fn from(e: StartError) -> Self {
        use crate::ProviderError as P;
        let message = e.to_string();
        // A variant built without a fix has an empty hint: never print `hint: ` with nothing.
        let some = |hint: String| Some(hint).filter(|h| !h.trim().is_empty());
        match e {
            StartError::Options { hint, .. } | StartError::NotFound { hint, .. } => P::Config {
                message,
                hint: some(hint),
            },
            StartError::Credentials { hint, .. } => P::Auth {
                message,
                hint: some(hint),
            },
            StartError::Unavailable { hint, .. } => P::Unavailable {
                message,
                hint: some(hint),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_hint_is_no_hint() {
        let e = crate::ProviderError::from(StartError::Unavailable {
            message: "DescribeTargetGroups failed".to_owned(),
            hint: String::new(),
        });
        assert_eq!(e.hint(), None);
        assert_eq!(e.to_gap("aws-alb").hint, None);
    }
}
