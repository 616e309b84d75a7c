//! The seed guide's host checks beyond nginx itself (`--local`): the kernel's OOM kills, memory,
//! disk and load pressure, listen backlogs of the upstreams, the upstream application server's own
//! request timeout against nginx's read timeout, and "worker_connections are not enough" / "Too
//! many open files" lines in error.log.
//!
//! Every source is read through [`Host`] and parsed by a pure function below (tested with real
//! captured contents in `tests/fixtures/host/`); a source that cannot be read makes its check
//! `skipped` with the reason, never an error. Every read is bounded (file sizes, process and
//! descriptor counts, command timeouts).

use crate::api::{CommandOutput, Host};
use cloud502_collect::describe::{
    CHECK_APP_TIMEOUT_PREFIX, CHECK_BACKLOG, CHECK_CONNECTIONS, CHECK_DISK_PREFIX, CHECK_LOAD,
    CHECK_MEMORY, CHECK_OOM,
};
use cloud502_model::{CheckStatus, HostCheck};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Processes looked at for listening sockets, at most.
const MAX_PIDS: usize = 4096;
/// Descriptors looked at per process, at most.
const MAX_FDS: usize = 4096;
/// Descriptors looked at over all processes, at most: a host with 4,096 busy processes must not
/// cost 16 million readlinks.
const MAX_FDS_TOTAL: usize = 200_000;
/// Directories whose free space is checked, and error logs scanned, at most.
const MAX_DIRS: usize = 32;
const MAX_ERROR_LOGS: usize = 64;
/// Bytes read from the end of each error.log for the worker_connections / open-files lines.
const ERROR_LOG_TAIL: u64 = 16 * 1024 * 1024;
/// Bytes read from the end of a kernel log file.
const KERNEL_LOG_TAIL: u64 = 8 * 1024 * 1024;
/// Bytes of an application server's config file read, at most.
const APP_CONFIG_BYTES: u64 = 1024 * 1024;
/// Available memory below this share of the total is pressure.
const MEMORY_LOW_PERCENT: f64 = 5.0;
/// Memory PSI `full avg60` at or above this (percent of time every task stalled on memory).
const MEMORY_PSI_FULL: f64 = 10.0;
/// Load above this many times the CPU count (1- and 5-minute averages both): a saturated host,
/// not a busy one (a build machine runs at twice its CPUs).
const LOAD_PER_CPU: f64 = 4.0;
/// A log or temp directory with less free space than this (KiB) is full.
const DISK_LOW_KB: u64 = 100 * 1024;

/// One upstream peer the config names, with the read timeout nginx waits for it.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    /// `127.0.0.1:8000`, `[::1]:8000` or `unix:/run/php/php-fpm.sock`.
    pub peer: String,
    /// The longest `*_read_timeout` in force over the routes reaching it: (name, value, seconds).
    pub read_timeout: Option<(String, String, f64)>,
}

/// What the checks look at.
#[derive(Debug)]
pub(crate) struct Input<'a> {
    pub host: &'a dyn Host,
    pub upstreams: Vec<Upstream>,
    /// Directories nginx writes to (log directories, temp paths).
    pub dirs: Vec<PathBuf>,
    /// error.log files to scan for worker_connections / open-files lines.
    pub error_logs: Vec<PathBuf>,
    pub since: Option<OffsetDateTime>,
    pub local_offset: time::UtcOffset,
}

/// Run the checks; each appends one or more [`HostCheck`]s.
pub(crate) async fn checks(input: &Input<'_>) -> Vec<HostCheck> {
    let mut out = Vec::new();
    let host = input.host;
    let sockets = Sockets::read(host).await;
    let local: Vec<&Upstream> = input
        .upstreams
        .iter()
        .filter(|u| local_peer(&u.peer, &sockets))
        .collect();
    let wanted: Vec<u64> = local.iter().flat_map(|u| sockets.inodes(&u.peer)).collect();
    let holders = holders(host, &wanted);
    out.push(oom_check(input, &sockets, &local, &holders).await);
    out.push(memory_check(host));
    out.push(load_check(host));
    out.extend(disk_checks(input).await);
    out.push(backlog_check(input, &sockets));
    out.extend(app_timeout_checks(input, &sockets, &local, &holders));
    out.push(connections_check(input));
    out
}

fn check(id: &str, name: &str, status: CheckStatus, detail: impl Into<String>) -> HostCheck {
    HostCheck {
        id: id.to_owned(),
        name: name.to_owned(),
        status,
        detail: detail.into(),
    }
}

// ---- OOM kills ----

/// One process the kernel's OOM killer killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomKill {
    pub pid: u32,
    /// The process's command name (`comm`, at most 15 bytes).
    pub comm: String,
    /// The kernel's line, trimmed.
    pub line: String,
}

/// OOM kills in kernel log text (`dmesg`, `journalctl -k`, `/var/log/kern.log`): the lines
/// mm/oom_kill.c writes, `Out of memory: Killed process PID (COMM) total-vm:...` and `Memory
/// cgroup out of memory: Killed process ...` (older kernels: `Kill process PID (COMM) score N or
/// sacrifice child`, then `Killed process PID (COMM)`). One kill per pid.
pub fn oom_kills(text: &str) -> Vec<OomKill> {
    let mut out: Vec<OomKill> = Vec::new();
    for line in text.lines() {
        let at = match (line.find("Killed process "), line.find("Kill process ")) {
            (Some(i), _) => i + "Killed process ".len(),
            (None, Some(i)) if line.contains("out of memory") || line.contains("Out of memory") => {
                i + "Kill process ".len()
            }
            _ => continue,
        };
        let rest = &line[at..];
        let Some((pid, rest)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let Some(comm) = rest
            .strip_prefix('(')
            .and_then(|r| r.find(')').map(|e| &r[..e]))
        else {
            continue;
        };
        if out.iter().any(|k| k.pid == pid) {
            continue;
        }
        let line = line.trim();
        out.push(OomKill {
            pid,
            comm: comm.to_owned(),
            line: line.chars().take(300).collect(),
        });
    }
    out
}

/// The time at the start of a kernel log line in ISO form: `dmesg --time-format=iso`
/// (`2026-12-08T02:35:20,123456+00:00`) or `journalctl -o short-iso` (`2026-12-08T02:35:20+0000`).
pub fn iso_time(line: &str) -> Option<OffsetDateTime> {
    let head = line.get(..19)?;
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(head, &fmt).ok()?;
    let mut rest = &line[19..];
    if let Some(r) = rest.strip_prefix([',', '.']) {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let sign = match rest.chars().next()? {
        '+' => 1,
        '-' => -1,
        'Z' => return Some(t.assume_utc()),
        _ => return None,
    };
    let digits: String = rest[1..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .filter(char::is_ascii_digit)
        .collect();
    let h: i8 = digits.get(..2)?.parse().ok()?;
    let m: i8 = digits.get(2..4)?.parse().ok()?;
    let offset = time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()?;
    Some(t.assume_offset(offset))
}

/// Kills count when they can be about an upstream of this config: the killed command is the
/// command of a process serving one now (it was restarted), or a local upstream has no listener
/// now (what served it may be the one killed). Other kills are named in a passing check.
async fn oom_check(
    input: &Input<'_>,
    sockets: &Sockets,
    local: &[&Upstream],
    holders: &BTreeMap<u64, Vec<u32>>,
) -> HostCheck {
    const NAME: &str = "kernel OOM kills";
    let host = input.host;
    let (text, from) = match kernel_log(host).await {
        Ok(found) => found,
        Err(why) => return check(CHECK_OOM, NAME, CheckStatus::Skipped, why),
    };
    let kills: Vec<OomKill> = oom_kills(&text)
        .into_iter()
        .filter(|k| match (input.since, iso_time(&k.line)) {
            (Some(since), Some(t)) => t >= since,
            _ => true,
        })
        .collect();
    let window = if input.since.is_some() {
        "in the window"
    } else {
        "in the kernel log"
    };
    if kills.is_empty() {
        return check(
            CHECK_OOM,
            NAME,
            CheckStatus::Pass,
            format!("no OOM kill {window} ({from})"),
        );
    }
    let serving: Vec<String> = holders
        .values()
        .flatten()
        .filter_map(|pid| host.read(&PathBuf::from(format!("/proc/{pid}/comm"))))
        .map(|c| c.trim().to_owned())
        .collect();
    let unserved: Vec<&str> = local
        .iter()
        .filter(|u| sockets.inodes(&u.peer).is_empty())
        .map(|u| u.peer.as_str())
        .collect();
    let (relevant, other): (Vec<OomKill>, Vec<OomKill>) = kills
        .into_iter()
        .partition(|k| serving.contains(&k.comm) || !unserved.is_empty());
    if relevant.is_empty() {
        let names: Vec<String> = other
            .iter()
            .take(5)
            .map(|k| format!("{} (pid {})", k.comm, k.pid))
            .collect();
        return check(
            CHECK_OOM,
            NAME,
            CheckStatus::Pass,
            format!(
                "{} OOM kill(s) {window} ({from}) of processes that serve no upstream of this \
                 config: {}",
                other.len(),
                names.join(", ")
            ),
        );
    }
    let why = if unserved.is_empty() {
        "the killed command serves an upstream now".to_owned()
    } else {
        format!("nothing listens now on {}", unserved.join(", "))
    };
    let kills = relevant;
    let names: Vec<String> = kills
        .iter()
        .take(5)
        .map(|k| format!("{} (pid {})", k.comm, k.pid))
        .collect();
    let more = kills.len().saturating_sub(5);
    let mut detail = format!(
        "{} process(es) killed for lack of memory {window} ({from}), and {why}: {}{}; last: {}",
        kills.len(),
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
        kills.last().map(|k| k.line.as_str()).unwrap_or_default()
    );
    detail.truncate(600);
    check(CHECK_OOM, NAME, CheckStatus::Fail, detail)
}

/// The kernel log, from the first source that can be read: the journal's kernel messages,
/// `dmesg` (needs CAP_SYSLOG where kernel.dmesg_restrict is 1), then the tail of
/// /var/log/kern.log or /var/log/messages. `Err` says why none could.
async fn kernel_log(host: &dyn Host) -> Result<(String, &'static str), String> {
    let mut why = Vec::new();
    let journal = [
        "-k",
        "-q",
        "--no-pager",
        "-o",
        "short-iso",
        "-n",
        "20000",
        "-b",
    ]
    .map(str::to_owned);
    match host.run(Path::new("journalctl"), &journal).await {
        Ok(CommandOutput {
            success: true,
            output,
        }) if output.lines().any(|l| iso_time(l).is_some()) => {
            return Ok((output, "journalctl -k"));
        }
        Ok(o) => why.push(format!(
            "journalctl -k: {}",
            first_line(&o.output).unwrap_or("no kernel messages")
        )),
        Err(e) => why.push(e),
    }
    match host
        .run(Path::new("dmesg"), &["--time-format=iso".to_owned()])
        .await
    {
        Ok(CommandOutput {
            success: true,
            output,
        }) if !output.trim().is_empty() => return Ok((output, "dmesg")),
        Ok(o) => why.push(format!(
            "dmesg: {}",
            first_line(&o.output).unwrap_or("no output")
        )),
        Err(e) => why.push(e),
    }
    for file in ["/var/log/kern.log", "/var/log/messages"] {
        if let Some(bytes) = host.read_tail(Path::new(file), KERNEL_LOG_TAIL) {
            return Ok((String::from_utf8_lossy(&bytes).into_owned(), "kern.log"));
        }
    }
    why.push("no /var/log/kern.log or /var/log/messages".to_owned());
    Err(format!("the kernel log cannot be read: {}", why.join("; ")))
}

fn first_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).find(|l| !l.is_empty())
}

// ---- memory and load ----

/// `MemTotal` and `MemAvailable` (KiB) from /proc/meminfo.
pub fn meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim_start_matches(':')
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((field("MemTotal")?, field("MemAvailable")?))
}

/// A /proc/pressure/* file's `avg60` of its `some` and `full` lines (percent of time stalled).
pub fn psi_avg60(text: &str) -> (Option<f64>, Option<f64>) {
    let get = |kind: &str| {
        text.lines()
            .find(|l| l.starts_with(kind))?
            .split_whitespace()
            .find_map(|f| f.strip_prefix("avg60="))?
            .parse()
            .ok()
    };
    (get("some"), get("full"))
}

/// The 1-, 5- and 15-minute load averages from /proc/loadavg.
pub fn loadavg(text: &str) -> Option<[f64; 3]> {
    let mut f = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([f.next()??, f.next()??, f.next()??])
}

/// CPUs in /proc/stat (its `cpuN` lines).
pub fn cpu_count(stat: &str) -> usize {
    stat.lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count()
}

fn memory_check(host: &dyn Host) -> HostCheck {
    const NAME: &str = "memory";
    let Some((total, avail)) = host
        .read(Path::new("/proc/meminfo"))
        .and_then(|t| meminfo(&t))
    else {
        return check(
            CHECK_MEMORY,
            NAME,
            CheckStatus::Skipped,
            "/proc/meminfo cannot be read",
        );
    };
    let share = if total > 0 {
        avail as f64 * 100.0 / total as f64
    } else {
        100.0
    };
    let (_, full) = host
        .read(Path::new("/proc/pressure/memory"))
        .map(|t| psi_avg60(&t))
        .unwrap_or((None, None));
    let mut detail = format!(
        "MemAvailable {} of {} ({share:.1}%)",
        mib(avail),
        mib(total)
    );
    if let Some(f) = full {
        detail.push_str(&format!(
            "; memory pressure (PSI full avg60) {f:.1}% of the time"
        ));
    }
    let low = share < MEMORY_LOW_PERCENT || full.is_some_and(|f| f >= MEMORY_PSI_FULL);
    check(
        CHECK_MEMORY,
        NAME,
        if low {
            CheckStatus::Fail
        } else {
            CheckStatus::Pass
        },
        detail,
    )
}

fn mib(kib: u64) -> String {
    if kib >= 1024 * 1024 {
        format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0)
    } else {
        format!("{} MiB", kib / 1024)
    }
}

fn load_check(host: &dyn Host) -> HostCheck {
    const NAME: &str = "load";
    let Some(load) = host
        .read(Path::new("/proc/loadavg"))
        .and_then(|t| loadavg(&t))
    else {
        return check(
            CHECK_LOAD,
            NAME,
            CheckStatus::Skipped,
            "/proc/loadavg cannot be read",
        );
    };
    let cpus = host
        .read(Path::new("/proc/stat"))
        .map(|t| cpu_count(&t))
        .filter(|n| *n > 0);
    let Some(cpus) = cpus else {
        return check(
            CHECK_LOAD,
            NAME,
            CheckStatus::Skipped,
            "/proc/stat cannot be read: the CPU count is unknown",
        );
    };
    let cpu_psi = host
        .read(Path::new("/proc/pressure/cpu"))
        .and_then(|t| psi_avg60(&t).0);
    let limit = LOAD_PER_CPU * cpus as f64;
    let high = load[0] > limit && load[1] > limit;
    let mut detail = format!(
        "load average {:.2} {:.2} {:.2} on {cpus} CPU(s)",
        load[0], load[1], load[2]
    );
    if let Some(p) = cpu_psi {
        detail.push_str(&format!(
            "; CPU pressure (PSI some avg60) {p:.1}% of the time"
        ));
    }
    check(
        CHECK_LOAD,
        NAME,
        if high {
            CheckStatus::Fail
        } else {
            CheckStatus::Pass
        },
        detail,
    )
}

// ---- disk ----

/// `df -P -k DIR` output: (available KiB, total KiB, mount point). POSIX output has one line per
/// file system after the header; a long device name does not wrap with `-P`.
pub fn df(text: &str) -> Option<(u64, u64, String)> {
    let line = text.lines().nth(1)?;
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 6 {
        return None;
    }
    let n = f.len();
    // Filesystem 1024-blocks Used Available Capacity Mounted-on (the device may hold spaces)
    let total = f[n - 5].parse().ok()?;
    let avail = f[n - 3].parse().ok()?;
    Some((avail, total, f[n - 1].to_owned()))
}

async fn disk_checks(input: &Input<'_>) -> Vec<HostCheck> {
    let mut out = Vec::new();
    let mut mounts_seen = Vec::new();
    for dir in input.dirs.iter().take(MAX_DIRS) {
        let id = format!("{CHECK_DISK_PREFIX}{}", dir.display());
        let name = format!("free space under {}", dir.display());
        let args = vec!["-P".to_owned(), "-k".to_owned(), dir.display().to_string()];
        let c = match input.host.run(Path::new("df"), &args).await {
            Ok(o) if o.success => match df(&o.output) {
                Some((avail, total, mount)) => {
                    // one check per file system: two log directories on / are one fact
                    if mounts_seen.contains(&mount) {
                        continue;
                    }
                    mounts_seen.push(mount.clone());
                    let detail = format!(
                        "{} free of {} on {mount} (holds {})",
                        mib(avail),
                        mib(total),
                        dir.display()
                    );
                    let low = avail < DISK_LOW_KB.min(total / 100 + 1);
                    check(
                        &id,
                        &name,
                        if low {
                            CheckStatus::Fail
                        } else {
                            CheckStatus::Pass
                        },
                        detail,
                    )
                }
                None => check(
                    &id,
                    &name,
                    CheckStatus::Skipped,
                    "df printed nothing this reads",
                ),
            },
            Ok(o) => check(
                &id,
                &name,
                CheckStatus::Skipped,
                format!(
                    "df: {}",
                    first_line(&o.output)
                        .unwrap_or("failed")
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            ),
            Err(e) => check(&id, &name, CheckStatus::Skipped, e),
        };
        out.push(c);
    }
    out
}

// ---- listening sockets ----

/// One listening socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub ip: IpAddr,
    pub port: u16,
    /// Connections waiting in the accept queue (ss's Recv-Q; /proc/net/tcp's rx_queue).
    pub queued: u64,
    /// The accept queue's length (`listen()` backlog, capped by net.core.somaxconn: ss's
    /// Send-Q); unknown from /proc/net/tcp.
    pub backlog: Option<u64>,
    /// The socket's inode (from /proc/net/tcp), to find the process holding it.
    pub inode: Option<u64>,
}

/// Listening TCP sockets from /proc/net/tcp and /proc/net/tcp6 (state `0A`), with their accept
/// queue (`rx_queue`) and inode.
pub fn proc_listeners(tcp: &str, tcp6: &str) -> Vec<Listener> {
    let mut out = Vec::new();
    for text in [tcp, tcp6] {
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let Some((addr, port)) = f[1].split_once(':') else {
                continue;
            };
            let (Ok(port), Some(ip)) = (u16::from_str_radix(port, 16), crate::api::proc_ip(addr))
            else {
                continue;
            };
            let queued = f[4]
                .split_once(':')
                .and_then(|(_, rx)| u64::from_str_radix(rx, 16).ok())
                .unwrap_or(0);
            out.push(Listener {
                ip,
                port,
                queued,
                backlog: None,
                inode: f[9].parse().ok(),
            });
        }
    }
    out
}

/// `ss -ltnH` lines (`LISTEN 0 4096 127.0.0.1:8000 0.0.0.0:*`): for a listening socket, Recv-Q is
/// the accept queue and Send-Q its length.
pub fn ss_listeners(text: &str) -> Vec<Listener> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 || f[0] != "LISTEN" {
            continue;
        }
        let (Ok(queued), Ok(backlog)) = (f[1].parse::<u64>(), f[2].parse::<u64>()) else {
            continue;
        };
        let Some((host, port)) = f[3].rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        // `*`, `[::]`, `[::ffff:127.0.0.1]`, `127.0.0.1%lo`
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.split('%').next().unwrap_or(host);
        let ip = if host == "*" {
            IpAddr::from([0u8; 16])
        } else {
            match host.parse() {
                Ok(ip) => ip,
                Err(_) => continue,
            }
        };
        out.push(Listener {
            ip,
            port,
            queued,
            backlog: Some(backlog),
            inode: None,
        });
    }
    out
}

/// Unix sockets from /proc/net/unix: (inode, path) of the listening ones (flag `00010000`).
pub fn unix_listeners(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 || f[3] != "00010000" {
                return None;
            }
            Some((f[6].parse().ok()?, f[7].to_owned()))
        })
        .collect()
}

/// A counter of /proc/net/netstat (`TcpExt: ... ListenOverflows ...` header line, then values).
pub fn netstat_counter(text: &str, section: &str, name: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|l| l.starts_with(section));
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let i = names.split_whitespace().position(|n| n == name);
        if let Some(i) = i {
            return values.split_whitespace().nth(i)?.parse().ok();
        }
    }
    None
}

/// This machine's sockets, read once.
#[derive(Debug, Default)]
struct Sockets {
    /// From /proc/net/tcp{,6}, with inodes.
    proc: Vec<Listener>,
    /// From `ss -ltnH`, with backlogs; empty when ss is missing.
    ss: Vec<Listener>,
    /// Listening unix sockets (inode, path).
    unix: Vec<(u64, String)>,
}

impl Sockets {
    async fn read(host: &dyn Host) -> Sockets {
        let tcp = host.read(Path::new("/proc/net/tcp")).unwrap_or_default();
        let tcp6 = host.read(Path::new("/proc/net/tcp6")).unwrap_or_default();
        let ss = match host.run(Path::new("ss"), &["-ltnH".to_owned()]).await {
            Ok(o) if o.success => ss_listeners(&o.output),
            _ => Vec::new(),
        };
        Sockets {
            proc: proc_listeners(&tcp, &tcp6),
            ss,
            unix: host
                .read(Path::new("/proc/net/unix"))
                .map(|t| unix_listeners(&t))
                .unwrap_or_default(),
        }
    }

    /// The listeners serving `peer` (`ip:port`), from `list`: the same address or a wildcard.
    fn serving<'a>(list: &'a [Listener], peer: &str) -> Vec<&'a Listener> {
        let Some((ip, port)) = peer_addr(peer) else {
            return Vec::new();
        };
        list.iter()
            .filter(|l| {
                l.port == port && (l.ip == ip || l.ip.is_unspecified() || same_v4(l.ip, ip))
            })
            .collect()
    }

    /// The inodes of the sockets serving a peer (TCP or unix).
    fn inodes(&self, peer: &str) -> Vec<u64> {
        if let Some(path) = peer.strip_prefix("unix:") {
            return self
                .unix
                .iter()
                .filter(|(_, p)| p == path)
                .map(|(i, _)| *i)
                .collect();
        }
        Self::serving(&self.proc, peer)
            .into_iter()
            .filter_map(|l| l.inode)
            .collect()
    }
}

/// `::ffff:127.0.0.1` and `127.0.0.1` are one address.
fn same_v4(a: IpAddr, b: IpAddr) -> bool {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    v4(a) == v4(b)
}

/// `127.0.0.1:8000` / `[::1]:8000` as an address and port.
fn peer_addr(peer: &str) -> Option<(IpAddr, u16)> {
    let (host, port) = peer.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.parse().ok()?, port.parse().ok()?))
}

/// Is this peer an address of this machine (loopback, or one some socket here listens on)?
fn local_peer(peer: &str, sockets: &Sockets) -> bool {
    match peer_addr(peer) {
        Some((ip, _)) => ip.is_loopback() || sockets.proc.iter().any(|l| l.ip == ip),
        None => peer.starts_with("unix:"),
    }
}

fn backlog_check(input: &Input<'_>, sockets: &Sockets) -> HostCheck {
    const NAME: &str = "listen backlogs of the upstreams";
    let host = input.host;
    let netstat = host
        .read(Path::new("/proc/net/netstat"))
        .unwrap_or_default();
    let overflows = netstat_counter(&netstat, "TcpExt:", "ListenOverflows");
    let drops = netstat_counter(&netstat, "TcpExt:", "ListenDrops");
    let somaxconn: Option<u64> = host
        .read(Path::new("/proc/sys/net/core/somaxconn"))
        .and_then(|t| t.trim().parse().ok());
    let mut full = Vec::new();
    let mut seen = Vec::new();
    let mut looked = 0;
    for u in input
        .upstreams
        .iter()
        .filter(|u| !u.peer.starts_with("unix:"))
    {
        if !local_peer(&u.peer, sockets) {
            continue;
        }
        // ss knows each queue's length; /proc/net/tcp only its fill, against somaxconn's cap
        let from_ss = Sockets::serving(&sockets.ss, &u.peer);
        let listeners = if from_ss.is_empty() {
            Sockets::serving(&sockets.proc, &u.peer)
        } else {
            from_ss
        };
        for l in listeners {
            looked += 1;
            let cap = l.backlog.or(somaxconn);
            let what = format!("{}:{}", l.ip, l.port);
            if seen.contains(&what) {
                continue;
            }
            seen.push(what);
            // Linux drops a connection once the queue holds more than the backlog
            if let Some(cap) = cap.filter(|c| l.queued >= *c) {
                full.push(format!(
                    "{} (accept queue {} of {cap}{})",
                    u.peer,
                    l.queued,
                    if l.backlog.is_some() {
                        ""
                    } else {
                        ", net.core.somaxconn"
                    }
                ));
            }
        }
    }
    let mut counters = Vec::new();
    if let Some(o) = overflows {
        counters.push(format!("ListenOverflows {o}"));
    }
    if let Some(d) = drops {
        counters.push(format!("ListenDrops {d}"));
    }
    let counters = if counters.is_empty() {
        String::new()
    } else {
        format!("; since boot: {}", counters.join(", "))
    };
    let cap = somaxconn
        .map(|s| format!("; net.core.somaxconn {s}"))
        .unwrap_or_default();
    if !full.is_empty() {
        return check(
            CHECK_BACKLOG,
            NAME,
            CheckStatus::Fail,
            format!("full now: {}{cap}{counters}", full.join(", ")),
        );
    }
    if looked == 0 {
        return check(
            CHECK_BACKLOG,
            NAME,
            CheckStatus::Skipped,
            format!("no upstream of the config listens on this machine{cap}{counters}"),
        );
    }
    check(
        CHECK_BACKLOG,
        NAME,
        CheckStatus::Pass,
        format!("no upstream's accept queue is full{cap}{counters}"),
    )
}

// ---- the application server's own timeout ----

/// An application server found on a process's command line.
#[derive(Debug, Clone, PartialEq)]
pub struct AppServer {
    /// `gunicorn`, `uwsgi` or `php-fpm`.
    pub kind: &'static str,
    /// The request timeout the command line sets (seconds), with how it was set.
    pub timeout: Option<(f64, String)>,
    /// The config file the command line names, to read the timeout from.
    pub config: Option<PathBuf>,
}

/// The application server a `/proc/PID/cmdline` (NUL-separated) runs: gunicorn (`-t N`,
/// `--timeout N`, `--timeout=N`, `-c FILE`), uWSGI (`--harakiri N`, `--ini FILE`, a bare
/// `FILE.ini`) or php-fpm (its master's title `php-fpm: master process (/etc/php/.../php-fpm.conf)`).
pub fn app_server(cmdline: &str) -> Option<AppServer> {
    let args: Vec<&str> = cmdline.split('\0').filter(|a| !a.is_empty()).collect();
    let title = args.first()?;
    if let Some(rest) = title.strip_prefix("php-fpm: master process (") {
        return Some(AppServer {
            kind: "php-fpm",
            timeout: None,
            config: rest.strip_suffix(')').map(PathBuf::from),
        });
    }
    let name = |a: &str| {
        Path::new(a)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    };
    // `gunicorn ...`, `python -m gunicorn ...`, `/venv/bin/python /venv/bin/gunicorn ...`
    let pos = args.iter().take(4).position(|a| {
        let n = name(a).unwrap_or_default();
        n == "gunicorn" || n == "uwsgi" || n.starts_with("uwsgi") && !n.contains('.')
    });
    let kind = match pos.map(|i| name(args[i]).unwrap_or_default()) {
        Some(n) if n == "gunicorn" => "gunicorn",
        Some(_) => "uwsgi",
        None => return None,
    };
    let rest = &args[pos.unwrap_or(0) + 1..];
    let value = |flags: &[&str]| -> Option<(String, String)> {
        let mut found = None;
        let mut it = rest.iter();
        while let Some(a) = it.next() {
            for f in flags {
                if a == f {
                    if let Some(v) = it.clone().next() {
                        found = Some((v.to_string(), format!("{f} {v}")));
                    }
                } else if let Some(v) = a.strip_prefix(&format!("{f}=")) {
                    found = Some((v.to_owned(), a.to_string()));
                } else if f.len() == 2 && !f.starts_with("--") {
                    // `-t30`
                    if let Some(v) = a.strip_prefix(f).filter(|v| v.parse::<f64>().is_ok()) {
                        found = Some((v.to_owned(), a.to_string()));
                    }
                }
            }
        }
        found
    };
    let secs = |(v, how): (String, String)| v.parse::<f64>().ok().map(|n| (n, how));
    match kind {
        "gunicorn" => Some(AppServer {
            kind,
            timeout: value(&["--timeout", "-t"]).and_then(secs),
            config: value(&["--config", "-c"]).map(|(v, _)| PathBuf::from(v)),
        }),
        _ => Some(AppServer {
            kind,
            timeout: value(&["--harakiri"]).and_then(secs),
            config: value(&["--ini"])
                .map(|(v, _)| PathBuf::from(v))
                .or_else(|| rest.iter().find(|a| a.ends_with(".ini")).map(PathBuf::from)),
        }),
    }
}

/// `key = value` in an ini (uWSGI, php-fpm) or a gunicorn Python config; the last one wins, as
/// both readers take it. Comments (`;`, `#`) and sections are passed over.
pub fn conf_value(text: &str, key: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with([';', '#', '[']) {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() == key {
            let v = v.split(['#', ';']).next().unwrap_or("").trim();
            found = Some(v.trim_matches(['"', '\'']).to_owned());
        }
    }
    found
}

/// php-fpm's time values: `30`, `30s`, `5m`, `1h`, `1d`; `0` is off.
pub fn fpm_seconds(v: &str) -> Option<f64> {
    let v = v.trim();
    let (n, factor) = match v.chars().last()? {
        's' => (&v[..v.len() - 1], 1.0),
        'm' => (&v[..v.len() - 1], 60.0),
        'h' => (&v[..v.len() - 1], 3600.0),
        'd' => (&v[..v.len() - 1], 86400.0),
        _ => (v, 1.0),
    };
    n.trim().parse::<f64>().ok().map(|n| n * factor)
}

/// gunicorn's own default `timeout` (gunicorn docs, settings: "timeout ... Default: 30").
const GUNICORN_DEFAULT_TIMEOUT: f64 = 30.0;

/// The process(es) holding each inode: a bounded walk of /proc/PID/fd.
fn holders(host: &dyn Host, inodes: &[u64]) -> BTreeMap<u64, Vec<u32>> {
    let mut out: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    if inodes.is_empty() {
        return out;
    }
    let pids: Vec<u32> = host
        .list_dir(Path::new("/proc"))
        .into_iter()
        .filter_map(|n| n.parse().ok())
        .take(MAX_PIDS)
        .collect();
    let mut budget = MAX_FDS_TOTAL;
    for pid in pids {
        if budget == 0 {
            break;
        }
        let dir = PathBuf::from(format!("/proc/{pid}/fd"));
        let fds = host.list_dir(&dir);
        let take = fds.len().min(MAX_FDS).min(budget);
        budget -= take;
        for fd in fds.into_iter().take(take) {
            let Some(target) = host.read_link(&dir.join(&fd)) else {
                continue;
            };
            let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if inodes.contains(&inode) {
                let list = out.entry(inode).or_default();
                if !list.contains(&pid) {
                    list.push(pid);
                }
            }
        }
    }
    out
}

/// The request timeout an application server enforces, from its command line, else its config,
/// else its default: (seconds, where it comes from). `None` for no timeout.
fn app_timeout(host: &dyn Host, app: &AppServer) -> Option<(f64, String)> {
    if let Some(t) = &app.timeout {
        return Some(t.clone());
    }
    let read = |p: &Path| {
        host.read_tail(p, APP_CONFIG_BYTES)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    match app.kind {
        "gunicorn" => {
            let from_file = app.config.as_deref().and_then(|p| {
                let v = conf_value(&read(p)?, "timeout")?;
                Some((v.parse().ok()?, format!("timeout = {v} in {}", p.display())))
            });
            from_file.or(Some((
                GUNICORN_DEFAULT_TIMEOUT,
                "gunicorn's default --timeout 30".to_owned(),
            )))
        }
        "uwsgi" => app.config.as_deref().and_then(|p| {
            let v = conf_value(&read(p)?, "harakiri")?;
            Some((
                v.parse().ok()?,
                format!("harakiri = {v} in {}", p.display()),
            ))
        }),
        "php-fpm" => {
            // the main file and the pool files it includes (`include=/etc/php/8.2/fpm/pool.d/*.conf`)
            let main = app.config.as_deref()?;
            let text = read(main)?;
            let mut files = vec![(main.to_owned(), text.clone())];
            if let Some(pattern) = conf_value(&text, "include") {
                let pattern = Path::new(&pattern);
                if let (Some(dir), Some(glob)) = (pattern.parent(), pattern.file_name()) {
                    let glob = glob.to_string_lossy();
                    let (pre, suf) = glob.split_once('*').unwrap_or((&glob, ""));
                    let mut names: Vec<String> = host
                        .list_dir(dir)
                        .into_iter()
                        .filter(|n| n.starts_with(pre) && n.ends_with(suf))
                        .take(64)
                        .collect();
                    names.sort();
                    for n in names {
                        let p = dir.join(n);
                        if let Some(t) = read(&p) {
                            files.push((p, t));
                        }
                    }
                }
            }
            files.iter().rev().find_map(|(p, t)| {
                let v = conf_value(t, "request_terminate_timeout")?;
                let s = fpm_seconds(&v)?;
                (s > 0.0).then(|| {
                    (
                        s,
                        format!("request_terminate_timeout = {v} in {}", p.display()),
                    )
                })
            })
        }
        _ => None,
    }
}

fn app_timeout_checks(
    input: &Input<'_>,
    sockets: &Sockets,
    local: &[&Upstream],
    holders: &BTreeMap<u64, Vec<u32>>,
) -> Vec<HostCheck> {
    let host = input.host;
    let mut out = Vec::new();
    for u in local {
        let id = format!("{CHECK_APP_TIMEOUT_PREFIX}{}", u.peer);
        let name = format!("application timeout behind {}", u.peer);
        let pids: Vec<u32> = sockets
            .inodes(&u.peer)
            .iter()
            .filter_map(|i| holders.get(i))
            .flatten()
            .copied()
            .collect();
        let app = pids.iter().find_map(|pid| {
            let cmdline = host.read(&crate::api::cmdline_path(*pid))?;
            Some((*pid, app_server(&cmdline)?))
        });
        let Some((pid, app)) = app else {
            if !pids.is_empty() {
                // a process serves it, but not one whose timeout this reads (node, java, ...)
                continue;
            }
            continue;
        };
        let Some((nginx_name, nginx_value, nginx_secs)) = &u.read_timeout else {
            continue;
        };
        let c = match app_timeout(host, &app) {
            Some((secs, how)) if secs < *nginx_secs => check(
                &id,
                &name,
                CheckStatus::Fail,
                format!(
                    "{} (pid {pid}) ends a request after {secs} s ({how}); nginx waits {nginx_name} {nginx_value} for {}",
                    app.kind, u.peer
                ),
            ),
            Some((secs, how)) => check(
                &id,
                &name,
                CheckStatus::Pass,
                format!(
                    "{} (pid {pid}) ends a request after {secs} s ({how}); nginx's {nginx_name} {nginx_value} is not longer",
                    app.kind
                ),
            ),
            None => check(
                &id,
                &name,
                CheckStatus::Pass,
                format!("{} (pid {pid}) sets no request timeout", app.kind),
            ),
        };
        out.push(c);
    }
    out
}

// ---- worker_connections / open files lines ----

/// What error.log says about running out of connections or descriptors.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FdLines {
    /// `N worker_connections are not enough` lines.
    pub worker_connections: u64,
    /// `(24: Too many open files)` lines.
    pub open_files: u64,
    /// The first such line.
    pub first: Option<String>,
}

/// Count the lines of error.log text that say nginx ran out of connections (`1024
/// worker_connections are not enough`) or descriptors (`(24: Too many open files)`), at or after
/// `since` (the `YYYY/MM/DD HH:MM:SS` the lines start with, compared as text: same format, same
/// offset).
pub fn fd_lines(text: &[u8], since: Option<&str>) -> FdLines {
    use memchr::memmem;
    let mut out = FdLines::default();
    let mut hits: Vec<(usize, bool)> =
        memmem::find_iter(text, b"worker_connections are not enough")
            .map(|i| (i, true))
            .chain(memmem::find_iter(text, b"Too many open files").map(|i| (i, false)))
            .collect();
    hits.sort_unstable();
    let mut last_line_start = usize::MAX;
    for (at, wc) in hits {
        let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
        if start == last_line_start {
            continue;
        }
        last_line_start = start;
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
        let line = &text[start..end];
        if let Some(since) = since {
            if line.len() >= 19 && line[..19] < *since.as_bytes() {
                continue;
            }
        }
        if wc {
            out.worker_connections += 1;
        } else {
            out.open_files += 1;
        }
        if out.first.is_none() {
            out.first = Some(String::from_utf8_lossy(line).chars().take(300).collect());
        }
    }
    out
}

fn connections_check(input: &Input<'_>) -> HostCheck {
    const NAME: &str = "worker connections and open files in error.log";
    let since = input.since.map(|t| {
        let t = t.to_offset(input.local_offset);
        format!(
            "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    });
    let mut total = FdLines::default();
    let mut read = Vec::new();
    for path in input.error_logs.iter().take(MAX_ERROR_LOGS) {
        let Some(bytes) = input.host.read_tail(path, ERROR_LOG_TAIL) else {
            continue;
        };
        read.push(path.display().to_string());
        let found = fd_lines(&bytes, since.as_deref());
        total.worker_connections += found.worker_connections;
        total.open_files += found.open_files;
        if total.first.is_none() {
            total.first = found.first;
        }
    }
    if read.is_empty() {
        return check(
            CHECK_CONNECTIONS,
            NAME,
            CheckStatus::Skipped,
            "no error.log could be read",
        );
    }
    if total.worker_connections + total.open_files == 0 {
        return check(
            CHECK_CONNECTIONS,
            NAME,
            CheckStatus::Pass,
            format!(
                "no \"worker_connections are not enough\" or \"Too many open files\" line in {}",
                read.join(", ")
            ),
        );
    }
    check(
        CHECK_CONNECTIONS,
        NAME,
        CheckStatus::Fail,
        format!(
            "{} \"worker_connections are not enough\" and {} \"Too many open files\" line(s) in {}; first: {}",
            total.worker_connections,
            total.open_files,
            read.join(", "),
            total.first.unwrap_or_default()
        ),
    )
}

/// The upstream peers of the config with the longest read timeout in force for each.
pub(crate) fn upstreams(config: &cloud502_model::ConfigSnapshot) -> Vec<Upstream> {
    let mut out: HashMap<String, Upstream> = HashMap::new();
    let mut order = Vec::new();
    for route in config.routes.iter().filter(|r| !r.dynamic) {
        let setting = format!("{}_read_timeout", route.kind.as_str());
        let timeout = route.setting(&setting).and_then(|s| {
            Some((
                setting.clone(),
                s.value.clone(),
                crate::host::nginx_seconds(&s.value)?,
            ))
        });
        let scheme = route.scheme.as_deref();
        let peers: Vec<String> = match route.pool.as_deref().and_then(|p| config.pool(p)) {
            Some(pool) => pool
                .members
                .iter()
                .map(|m| crate::config::with_port(&m.address, scheme))
                .collect(),
            None => vec![crate::config::with_port(
                &cloud502_collect::describe::nginx_peer(&route.target),
                scheme,
            )],
        };
        for peer in peers {
            let entry = out.entry(peer.clone()).or_insert_with(|| {
                order.push(peer.clone());
                Upstream {
                    peer: peer.clone(),
                    read_timeout: None,
                }
            });
            let longer = match (&entry.read_timeout, &timeout) {
                (None, Some(_)) => true,
                (Some(a), Some(b)) => b.2 > a.2,
                _ => false,
            };
            if longer {
                entry.read_timeout = timeout.clone();
            }
        }
    }
    order.into_iter().filter_map(|p| out.remove(&p)).collect()
}

pub use cloud502_collect::describe::nginx_seconds;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
