//! Errors of the AWS provider: only those that stop it before anything is read (the shared
//! [`cloud502_collect::StartError`]). Everything after the first call is a gap in the report.

/// Why `cloud502 aws` could not start or read anything.
pub type AwsError = cloud502_collect::StartError;

/// Result alias of the AWS provider.
pub type Result<T, E = AwsError> = std::result::Result<T, E>;
