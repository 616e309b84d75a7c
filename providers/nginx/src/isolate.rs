//! Running `nginx -t` so that it changes nothing on the machine.
//!
//! `nginx -t` is not read-only: as nginx does at start, it opens (creating when missing) every log
//! file the config names (or its compiled-in ones), creates the pid file empty, creates its temp
//! and cache directories (and, as root, chowns them to the worker user). Checked with nginx 1.22.1:
//! a fresh prefix gets `logs/error.log`, `logs/access.log`, `logs/nginx.pid` and the
//! `proxy_cache_path` directory.
//!
//! So cloud502 works out every path nginx may write ([`write_paths`]), and:
//! - as root with `unshare` and overlayfs: runs the test in a private mount namespace where each
//!   directory holding such a path is covered by an overlay whose upper layer is a tmpfs: nginx
//!   reads the real files and its writes vanish with the namespace ([`overlay_dirs`]);
//! - otherwise, when every such path already exists, runs it as is (opening an existing log for
//!   append and an existing pid file without truncating writes nothing);
//! - otherwise does not run it, and says which paths it would have created.

use std::path::{Component, Path, PathBuf};

/// What `nginx -V` says was compiled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compiled {
    /// `--prefix=`.
    pub prefix: Option<PathBuf>,
    /// The temp paths nginx creates (`--http-*-temp-path`).
    pub paths: Vec<String>,
    /// The files nginx writes when the config names none, by the directive that replaces each:
    /// (`error_log`, `--error-log-path`), (`access_log`, `--http-log-path`), (`pid`,
    /// `--pid-path`). (`--lock-path` is not created where atomic operations exist: Linux.)
    pub defaults: Vec<(&'static str, String)>,
    /// Temp paths not given: their built-in names under the prefix (`proxy_temp`, ...).
    pub default_temps: Vec<String>,
}

/// The configure arguments of `nginx -V` output.
pub fn compiled(nginx_v: &str) -> Compiled {
    let mut out = Compiled::default();
    let args = nginx_v
        .lines()
        .find_map(|l| l.strip_prefix("configure arguments:"))
        .unwrap_or("");
    let mut temps = vec![
        ("client-body", "client_body_temp"),
        ("proxy", "proxy_temp"),
        ("fastcgi", "fastcgi_temp"),
        ("uwsgi", "uwsgi_temp"),
        ("scgi", "scgi_temp"),
    ];
    for a in args.split_whitespace() {
        let Some((k, v)) = a.split_once('=') else {
            continue;
        };
        let v = v.trim_matches('\'');
        match k {
            "--prefix" => out.prefix = Some(PathBuf::from(v)),
            "--error-log-path" => out.defaults.push(("error_log", v.to_owned())),
            "--http-log-path" => out.defaults.push(("access_log", v.to_owned())),
            "--pid-path" => out.defaults.push(("pid", v.to_owned())),
            _ => {
                if let Some(m) = k
                    .strip_prefix("--http-")
                    .and_then(|k| k.strip_suffix("-temp-path"))
                {
                    temps.retain(|(name, _)| *name != m);
                    out.paths.push(v.to_owned());
                }
            }
        }
    }
    out.default_temps = temps.into_iter().map(|(_, d)| d.to_owned()).collect();
    if !args.contains("--error-log-path") {
        out.defaults
            .push(("error_log", "logs/error.log".to_owned()));
    }
    if !args.contains("--http-log-path") {
        out.defaults
            .push(("access_log", "logs/access.log".to_owned()));
    }
    if !args.contains("--pid-path") {
        out.defaults.push(("pid", "logs/nginx.pid".to_owned()));
    }
    out
}

/// Every path `nginx -t` may create or change: the files and directories the config's
/// directives name (`error_log`, `access_log`, `pid`, `lock_file`, `*_temp_path`,
/// `*_cache_path`), the compiled-in ones, resolved against `prefix`. `stderr`, `syslog:`,
/// `memory:` and `off` are not paths.
pub fn write_paths(
    values: &[(String, String)],
    compiled: &Compiled,
    prefix: &Path,
) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut push = |p: &str| {
        if p.is_empty()
            || p == "stderr"
            || p == "off"
            || p.starts_with("syslog:")
            || p.starts_with("memory:")
            || p.contains('$')
        {
            return;
        }
        let path = normalize(&prefix.join(p));
        if !out.contains(&path) {
            out.push(path);
        }
    };
    for (name, value) in values {
        let writes = matches!(
            name.as_str(),
            "error_log" | "access_log" | "pid" | "lock_file"
        ) || name.ends_with("_temp_path")
            || name.ends_with("_cache_path");
        if writes {
            push(value);
        }
    }
    for p in compiled.paths.iter().chain(compiled.default_temps.iter()) {
        push(p);
    }
    // a compiled-in file is used only when the config does not name its own
    for (directive, p) in &compiled.defaults {
        if !values.iter().any(|(name, _)| name == directive) {
            push(p);
        }
    }
    out
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The directories to cover with an overlay so that writing `paths` changes nothing: the
/// nearest existing ancestor of each path's parent (a missing `logs/` is created inside the
/// overlay of the prefix), outermost only. `None` when one of them is `/` (the root cannot be
/// covered) or has a character overlayfs options cannot carry (`,` `:` `\`).
pub fn overlay_dirs(paths: &[PathBuf], is_dir: &dyn Fn(&Path) -> bool) -> Option<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for p in paths {
        let mut d = p.parent()?.to_path_buf();
        while !is_dir(&d) {
            d = d.parent()?.to_path_buf();
        }
        // the root itself cannot be covered
        d.parent()?;
        let text = d.to_string_lossy();
        if text.contains([',', ':', '\\']) {
            return None;
        }
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    let all = dirs.clone();
    dirs.retain(|d| !all.iter().any(|o| o != d && d.starts_with(o)));
    dirs.sort();
    Some(dirs)
}

/// The `sh` script run under `unshare --mount --propagation private`: a tmpfs on `$1`, then an
/// overlay on each directory up to `--` (lower: the directory itself, upper and work: the
/// tmpfs), then the command after `--`. A mount that fails ends it with status 97 and a
/// `cloud502-isolation:` line, before nginx runs.
pub const SCRIPT: &str = r#"t=$1; shift
mount -t tmpfs cloud502 "$t" || { echo "cloud502-isolation: tmpfs"; exit 97; }
i=0
while [ "$1" != "--" ]; do
  mkdir "$t/u$i" "$t/w$i" || exit 97
  mount -t overlay overlay -o "lowerdir=$1,upperdir=$t/u$i,workdir=$t/w$i" "$1" || { echo "cloud502-isolation: overlay on $1"; exit 97; }
  i=$((i+1)); shift
done
shift
exec "$@"
"#;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The `nginx -V` of Debian 12's nginx 1.22.1 on the machine this was written on.
    const DEBIAN: &str = "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.20 7 Apr 2026 (running with OpenSSL 3.0.19 27 Jan 2026)\nTLS SNI support enabled\nconfigure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log --error-log-path=stderr --lock-path=/var/lock/nginx.lock --pid-path=/run/nginx.pid --modules-path=/usr/lib/nginx/modules --http-client-body-temp-path=/var/lib/nginx/body --http-fastcgi-temp-path=/var/lib/nginx/fastcgi --http-proxy-temp-path=/var/lib/nginx/proxy --http-scgi-temp-path=/var/lib/nginx/scgi --http-uwsgi-temp-path=/var/lib/nginx/uwsgi --with-compat\n";

    #[test]
    fn compiled_paths_of_debian_and_of_a_source_build() {
        let c = compiled(DEBIAN);
        assert_eq!(c.prefix, Some(PathBuf::from("/usr/share/nginx")));
        assert!(c.paths.contains(&"/var/lib/nginx/proxy".to_owned()));
        assert!(c.defaults.contains(&("pid", "/run/nginx.pid".to_owned())));
        assert!(c.default_temps.is_empty(), "{:?}", c.default_temps);
        // ./configure with no options: everything under the prefix
        let c = compiled("nginx version: nginx/1.29.0\nconfigure arguments:\n");
        assert_eq!(c.default_temps.len(), 5);
        assert!(c.defaults.contains(&("pid", "logs/nginx.pid".to_owned())));
    }

    #[test]
    fn write_paths_resolve_against_the_prefix_and_skip_non_files() {
        let values = vec![
            ("error_log".to_owned(), "logs/error.log".to_owned()),
            ("error_log".to_owned(), "stderr".to_owned()),
            ("access_log".to_owned(), "off".to_owned()),
            ("access_log".to_owned(), "syslog:server=10.0.0.1".to_owned()),
            ("access_log".to_owned(), "/var/log/$host.log".to_owned()),
            ("pid".to_owned(), "./logs/../run/nginx.pid".to_owned()),
            ("proxy_cache_path".to_owned(), "cache".to_owned()),
            ("proxy_read_timeout".to_owned(), "60s".to_owned()),
        ];
        let c = compiled("configure arguments: --prefix=/x --error-log-path=stderr\n");
        let p = write_paths(&values, &c, Path::new("/srv/app"));
        assert!(p.contains(&PathBuf::from("/srv/app/logs/error.log")));
        assert!(p.contains(&PathBuf::from("/srv/app/run/nginx.pid")));
        assert!(p.contains(&PathBuf::from("/srv/app/cache")));
        assert!(p.contains(&PathBuf::from("/srv/app/proxy_temp")));
        assert!(!p.iter().any(|p| p.to_string_lossy().contains("stderr")));
        assert!(!p.iter().any(|p| p.to_string_lossy().contains('$')));
        // the config names its pid file and logs: the compiled-in ones are not written
        let c = compiled(DEBIAN);
        let p = write_paths(&values, &c, Path::new("/srv/app"));
        assert!(!p.contains(&PathBuf::from("/run/nginx.pid")), "{p:?}");
        assert!(
            !p.contains(&PathBuf::from("/var/log/nginx/access.log")),
            "{p:?}"
        );
        let p = write_paths(&[], &c, Path::new("/srv/app"));
        assert!(p.contains(&PathBuf::from("/run/nginx.pid")), "{p:?}");
        assert!(
            p.contains(&PathBuf::from("/var/log/nginx/access.log")),
            "{p:?}"
        );
    }

    #[test]
    fn overlays_cover_the_nearest_existing_directory_outermost_only() {
        let exists = |p: &Path| {
            ["/srv", "/srv/app", "/var", "/var/log", "/var/log/nginx"]
                .iter()
                .any(|d| Path::new(d) == p)
        };
        let paths = vec![
            PathBuf::from("/srv/app/logs/error.log"),
            PathBuf::from("/srv/app/proxy_temp"),
            PathBuf::from("/var/log/nginx/access.log"),
        ];
        assert_eq!(
            overlay_dirs(&paths, &exists).unwrap(),
            vec![PathBuf::from("/srv/app"), PathBuf::from("/var/log/nginx")]
        );
        // a path whose only existing ancestor is / cannot be isolated
        assert!(overlay_dirs(&[PathBuf::from("/nowhere/x.log")], &exists).is_none());
        assert!(overlay_dirs(&[PathBuf::from("/srv/a,b/x.log")], &|_| true).is_none());
    }
}
