//! This machine's UTC offset, read once at startup: nginx writes error.log in local time, and the
//! `time` crate refuses to read the offset once the process has threads. The `--since` and
//! `--log-offset` flags themselves are `cloud502::collect::options::WindowArgs`.

use std::sync::OnceLock;
use time::UtcOffset;

static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// Read this machine's UTC offset; must run before any thread starts.
pub fn init_local_offset() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

/// This machine's UTC offset, as read at startup.
pub fn local_offset() -> UtcOffset {
    LOCAL_OFFSET.get().copied().unwrap_or(UtcOffset::UTC)
}
