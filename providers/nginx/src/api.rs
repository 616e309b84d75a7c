//! The narrow interface to the nginx host: the few commands and /proc files the host checks read.
//! Tests substitute their own [`Host`]; [`LocalHost`] is the real machine. Every command has a
//! timeout and every read a size cap. None changes anything, except `nginx -t`, which writes as
//! nginx does at start: the collector runs it where its writes are discarded (crate::isolate).

use async_trait::async_trait;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a host command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The output of a command that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Whether it exited with status 0.
    pub success: bool,
    /// stdout and stderr, joined.
    pub output: String,
}

/// What is at a socket path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathState {
    /// Nothing.
    Missing,
    /// A unix socket.
    Socket,
    /// Something that is not a socket.
    NotASocket,
    /// Its directory cannot be searched.
    Denied,
}

/// The host facts the nginx provider reads.
#[async_trait]
pub trait Host: Send + Sync + std::fmt::Debug {
    /// Run a program with arguments; `Err` when it could not be started or timed out.
    async fn run(&self, program: &Path, args: &[String]) -> Result<CommandOutput, String>;
    /// Contents of a small file (a pid file, /proc/N/limits, /proc/net/tcp).
    fn read(&self, path: &Path) -> Option<String>;
    /// What is at a path.
    fn path_state(&self, path: &Path) -> PathState;
    /// Whether systemd runs this machine.
    fn has_systemd(&self) -> bool;
    /// The last `max` bytes of a file (a log, a kernel log, an app server's config).
    fn read_tail(&self, _path: &Path, _max: u64) -> Option<Vec<u8>> {
        None
    }
    /// The names in a directory (`/proc`, `/proc/PID/fd`), unsorted; empty when unreadable.
    fn list_dir(&self, _path: &Path) -> Vec<String> {
        Vec::new()
    }
    /// Where a symbolic link points (`/proc/PID/fd/N` -> `socket:[12345]`).
    fn read_link(&self, _path: &Path) -> Option<String> {
        None
    }
}

/// The machine cloud502 runs on.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalHost;

#[async_trait]
impl Host for LocalHost {
    async fn run(&self, program: &Path, args: &[String]) -> Result<CommandOutput, String> {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = match tokio::time::timeout(COMMAND_TIMEOUT, cmd.output()).await {
            Err(_) => {
                return Err(format!(
                    "{} did not finish within {} s",
                    program.display(),
                    COMMAND_TIMEOUT.as_secs()
                ));
            }
            Ok(Err(e)) => return Err(format!("cannot run {}: {e}", program.display())),
            Ok(Ok(o)) => o,
        };
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(CommandOutput {
            success: output.status.success(),
            output: text,
        })
    }

    fn read(&self, path: &Path) -> Option<String> {
        use std::io::Read;
        let mut text = String::new();
        // These files are small; the cap guards against a pid path pointing somewhere odd.
        std::fs::File::open(path)
            .ok()?
            .take(4 * 1024 * 1024)
            .read_to_string(&mut text)
            .ok()?;
        Some(text)
    }

    fn path_state(&self, path: &Path) -> PathState {
        use std::os::unix::fs::FileTypeExt;
        match std::fs::metadata(path) {
            Ok(m) if m.file_type().is_socket() => PathState::Socket,
            Ok(_) => PathState::NotASocket,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => PathState::Denied,
            Err(_) => PathState::Missing,
        }
    }

    fn has_systemd(&self) -> bool {
        Path::new("/run/systemd/system").is_dir()
    }

    fn read_tail(&self, path: &Path, max: u64) -> Option<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        if len > max {
            file.seek(SeekFrom::Start(len - max)).ok()?;
        }
        let mut bytes = Vec::new();
        file.take(max).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    fn list_dir(&self, path: &Path) -> Vec<String> {
        std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn read_link(&self, path: &Path) -> Option<String> {
        std::fs::read_link(path)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }
}

/// Listening TCP sockets from /proc/net/tcp and /proc/net/tcp6 text (state 0A).
pub fn listening(tcp: &str, tcp6: &str) -> Vec<(IpAddr, u16)> {
    let mut out = Vec::new();
    for text in [tcp, tcp6] {
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 4 || fields[3] != "0A" {
                continue;
            }
            let Some((addr, port)) = fields[1].split_once(':') else {
                continue;
            };
            let Ok(port) = u16::from_str_radix(port, 16) else {
                continue;
            };
            if let Some(ip) = proc_ip(addr) {
                out.push((ip, port));
            }
        }
    }
    out
}

/// /proc/net addresses are 32-bit words in host (little-endian on x86/arm) order; 8 hex digits
/// are IPv4, 32 IPv6.
pub(crate) fn proc_ip(hex: &str) -> Option<IpAddr> {
    let v6 = hex.len() == 32;
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let mut ordered = Vec::with_capacity(bytes.len());
    for word in bytes.chunks(4) {
        ordered.extend(word.iter().rev());
    }
    if v6 {
        let arr: [u8; 16] = ordered.try_into().ok()?;
        Some(IpAddr::from(arr))
    } else {
        let arr: [u8; 4] = ordered.try_into().ok()?;
        Some(IpAddr::from(arr))
    }
}

/// The soft "Max open files" limit from /proc/N/limits text.
pub fn open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

/// The pid in a pid file.
pub fn pid_of(text: &str) -> Option<u32> {
    text.trim().parse().ok()
}

/// Where a process's command line is.
pub fn cmdline_path(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/cmdline"))
}

/// The `-p PREFIX` of a process's command line: `/proc/PID/cmdline` holds NUL-separated
/// arguments, but nginx's master rewrites its own as one title, `nginx: master process
/// /usr/sbin/nginx -p /srv/app/ -c ...`, so spaces separate them too (a prefix with a space in it
/// is not found).
pub fn prefix_arg(cmdline: &str) -> Option<PathBuf> {
    let mut args = cmdline.split(['\0', ' ']);
    while let Some(a) = args.next() {
        if a == "-p" {
            return args.next().filter(|p| !p.is_empty()).map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("-p").filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
    }
    None
}

/// Where the master's limits are.
pub fn limits_path(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/limits"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prefix_arg_reads_argv_and_nginx_titles() {
        assert_eq!(
            prefix_arg("nginx\0-p\0/srv/app/\0-c\0conf/nginx.conf\0"),
            Some(PathBuf::from("/srv/app/"))
        );
        assert_eq!(
            prefix_arg(
                "nginx: master process /usr/sbin/nginx -p /srv/app/ -c /srv/app/etc/nginx.conf\0\0"
            ),
            Some(PathBuf::from("/srv/app/"))
        );
        assert_eq!(
            prefix_arg("nginx\0-p/srv/x\0"),
            Some(PathBuf::from("/srv/x"))
        );
        assert_eq!(
            prefix_arg("nginx: master process /usr/sbin/nginx -g daemon on;"),
            None
        );
    }

    #[test]
    fn proc_net_tcp_listeners_parse() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n   1: 0100007F:1F91 0100007F:D2F0 01 00000000:00000000\n";
        let tcp6 = "  sl  local_address\n   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A\n";
        let l = listening(tcp, tcp6);
        assert_eq!(
            l,
            vec![
                ("127.0.0.1".parse().unwrap(), 8080),
                ("::1".parse().unwrap(), 80)
            ]
        );
    }

    #[test]
    fn limits_parse() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(open_files_limit(text), Some(1024));
        assert_eq!(
            open_files_limit(
                "Max open files            unlimited            unlimited            files"
            ),
            Some(u64::MAX)
        );
        assert_eq!(open_files_limit("nothing"), None);
    }
}
