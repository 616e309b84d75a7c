//! Errors of the Cloudflare provider: only those that stop it before anything is read (the shared
//! [`cloud502_collect::StartError`]). Everything after the zone lookup is a gap in the report.

/// Why `cloud502 cloudflare` could not start or read anything.
pub type CloudflareError = cloud502_collect::StartError;

/// Result alias of the Cloudflare provider.
pub type Result<T, E = CloudflareError> = std::result::Result<T, E>;
