//! Errors of the Azure provider: only those that stop it before anything is read (the shared
//! [`cloud502_collect::StartError`]). Everything after the first call is a gap in the report.

/// Why `cloud502 azure` could not start or read anything.
pub type AzureError = cloud502_collect::StartError;

/// Result alias of the Azure provider.
pub type Result<T, E = AzureError> = std::result::Result<T, E>;
