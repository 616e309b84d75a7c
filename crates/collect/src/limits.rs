//! Bounds on what a user or a file can ask for: the longest durations the flags and audit.toml
//! accept, and reads of whole files that stop at a size cap. Above these a value is a usage error
//! (exit 2, one line naming the limit), never an arithmetic overflow deep in a provider.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// Longest `--timeout`, `--origin-timeout` and audit `timeout`: no single call needs an hour.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// Longest `--since` look-back and audit `since`: CloudWatch keeps 15 months of metrics at best,
/// and a log window longer than this is a typo.
pub const MAX_SINCE: Duration = Duration::from_secs(400 * 24 * 3600);
/// Longest audit subject `deadline`: a scheduled job that runs past a day overlaps the next.
pub const MAX_DEADLINE: Duration = Duration::from_secs(24 * 3600);

/// nginx config files, `nginx -T` dumps and audit files are read whole: at most this many bytes
/// each (ingress-nginx writes every Ingress host into one nginx.conf, about 6 KB each: 17 MB for
/// 3,000 hosts).
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024 * 1024;
/// CA bundles and state files are read whole: at most this many bytes each (a full system CA
/// bundle is about 200 KiB).
pub const MAX_SMALL_FILE_BYTES: u64 = 1024 * 1024;

/// `d` if it is at most `max`; else one line naming `what` (a flag or key; empty when the caller
/// names it), the limit and the fix.
pub fn check_duration(what: &str, d: Duration, max: Duration) -> Result<Duration, String> {
    if d > max {
        let what = if what.is_empty() {
            String::new()
        } else {
            format!("{what} ")
        };
        Err(format!(
            "{what}{} is above the limit of {}: give {} or less",
            human(d),
            human(max),
            human(max)
        ))
    } else {
        Ok(d)
    }
}

/// A duration as a person writes it: `1h`, `400d`, `90s`, `250ms`; huge values in seconds.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_nanos() != 0 || s == 0 {
        return format!("{}ms", d.as_millis());
    }
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s % n == 0 {
            return format!("{}{unit}", s / n);
        }
    }
    format!("{s}s")
}

/// `16 MiB`, `64 KiB` or `100 bytes`.
pub fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// A file too large to read whole.
#[derive(Debug, thiserror::Error)]
#[error("larger than {}, the limit of {what}", size(*cap))]
pub struct TooLarge {
    /// The file.
    pub path: String,
    /// What kind of file (`an nginx config file`, `a CA file`).
    pub what: &'static str,
    /// The cap, in bytes.
    pub cap: u64,
}

/// Read `path` whole, but never more than `cap` bytes: a `/dev/zero` or a huge file stops at
/// `cap + 1` bytes read and is an error of kind `InvalidData` wrapping [`TooLarge`].
pub fn read_capped(path: &Path, cap: u64, what: &'static str) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            TooLarge {
                path: path.display().to_string(),
                what,
                cap,
            },
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_above_the_limit_name_it() {
        assert!(check_duration("--timeout", Duration::from_secs(3600), MAX_TIMEOUT).is_ok());
        let e = check_duration("--timeout", Duration::from_secs(3601), MAX_TIMEOUT).unwrap_err();
        assert_eq!(
            e,
            "--timeout 3601s is above the limit of 1h: give 1h or less"
        );
        let e = check_duration("--since", Duration::MAX, MAX_SINCE).unwrap_err();
        assert!(e.contains("limit of 400d"), "{e}");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
        assert_eq!(human(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn reads_stop_at_the_cap() {
        let dir = std::env::temp_dir().join(format!("cloud502-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_capped(&path, 5, "a test file").unwrap(), b"12345");
        let e = read_capped(&path, 4, "a test file").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("limit of a test file"), "{e}");
        #[cfg(unix)]
        {
            let e = read_capped(Path::new("/dev/zero"), 1024, "a test file").unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
