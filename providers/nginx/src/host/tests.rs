//! Unit tests of the host checks' parsers, on real captured contents (tests/fixtures/host,
//! PROVENANCE.md there) and on kernel lines quoted from public sources.

use super::*;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/host")
        .join(name);
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn oom_lines_of_each_kernel_form_are_read_once_per_pid() {
    // aleguy02/my_blog content/posts/bug-hunt-oom.md (a `dmesg` line)
    let dmesg = "[510226.449642] Out of memory: Killed process 114815 (yum) total-vm:770112kB, anon-rss:549608kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1256kB oom_score_adj:0 \n";
    let k = oom_kills(dmesg);
    assert_eq!(k.len(), 1);
    assert_eq!((k[0].pid, k[0].comm.as_str()), (114815, "yum"));
    // torvalds/linux mm/oom_kill.c: "%s: Killed process %d (%s) total-vm:..." with the message
    // "Memory cgroup out of memory"; its oom-kill: summary line comes first and is not a kill
    let memcg = "2026-12-08T02:50:01,123456+00:00 oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/app,task_memcg=/app,task=gunicorn,pid=4242,uid=33\n2026-12-08T02:50:01,123470+00:00 Memory cgroup out of memory: Killed process 4242 (gunicorn) total-vm:812044kB, anon-rss:518420kB, file-rss:1240kB, shmem-rss:0kB, UID:33 pgtables:1100kB oom_score_adj:0\n2026-12-08T02:50:01,130000+00:00 oom_reaper: reaped process 4242 (gunicorn), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n";
    let k = oom_kills(memcg);
    assert_eq!(k.len(), 1, "{k:?}");
    assert_eq!((k[0].pid, k[0].comm.as_str()), (4242, "gunicorn"));
    let t = iso_time(&k[0].line).unwrap();
    assert_eq!(t.unix_timestamp(), 1_796_698_201);
    // older kernels: "Kill process ... or sacrifice child", then "Killed process" for the same pid
    let old = "Out of memory: Kill process 9692 (a.out) score 904 or sacrifice child\nKilled process 9692 (a.out) total-vm:4172kB, anon-rss:84kB, file-rss:0kB\n";
    assert_eq!(oom_kills(old).len(), 1);
    // nothing else is a kill
    assert!(oom_kills("systemd[1]: session-14.scope: A process of this unit has been killed by the OOM killer.\n").is_empty());
}

#[test]
fn iso_times_of_dmesg_and_journalctl() {
    let a = iso_time("2026-12-08T02:35:20,123456+00:00 x").unwrap();
    let b = iso_time("2026-12-08T03:35:20+0100 host kernel: x").unwrap();
    assert_eq!(a.unix_timestamp(), b.unix_timestamp());
    assert!(iso_time("[510226.449642] Out of memory").is_none());
}

#[test]
fn memory_load_and_pressure_from_this_machines_proc() {
    let (total, avail) = meminfo(&fixture("proc-meminfo.txt")).unwrap();
    assert_eq!(total, 24_683_772);
    assert!(avail > 0 && avail <= total);
    assert_eq!(
        psi_avg60(&fixture("proc-pressure-memory.txt")),
        (Some(0.0), Some(0.0))
    );
    let (some, _) = psi_avg60(&fixture("proc-pressure-cpu.txt"));
    assert!(some.is_some());
    let load = loadavg(&fixture("proc-loadavg.txt")).unwrap();
    assert!(load.iter().all(|l| *l >= 0.0));
    assert_eq!(cpu_count(&fixture("proc-stat-cpu.txt")), 2);
    assert!(meminfo("MemTotal: 10 kB\n").is_none());
}

#[test]
fn netstat_counters() {
    let text = fixture("proc-net-netstat.txt");
    assert_eq!(
        netstat_counter(&text, "TcpExt:", "ListenOverflows"),
        Some(308)
    );
    assert_eq!(netstat_counter(&text, "TcpExt:", "ListenDrops"), Some(308));
    assert_eq!(netstat_counter(&text, "TcpExt:", "NoSuchCounter"), None);
    assert!(netstat_counter(&text, "IpExt:", "InOctets").is_some());
}

#[test]
fn a_full_accept_queue_in_proc_net_tcp_and_ss() {
    let proc = proc_listeners(&fixture("proc-net-tcp-backlog-full.txt"), "");
    let app = proc.iter().find(|l| l.port == 18777).unwrap();
    assert_eq!(app.ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(
        (app.queued, app.backlog, app.inode),
        (2, None, Some(917374))
    );
    let ss = ss_listeners(&fixture("ss-ltn-backlog-full.txt"));
    let app = ss.iter().find(|l| l.port == 18777).unwrap();
    assert_eq!((app.queued, app.backlog), (2, Some(1)));
    assert!(ss.iter().any(|l| l.port == 2024 && l.ip.is_unspecified()));
    let v6 = ss_listeners(
        "LISTEN 0 511 [::]:80 [::]:*\nLISTEN 0 4096 *:9000 *:*\nLISTEN 0 5 [::ffff:127.0.0.1]:81 *:*\n",
    );
    assert_eq!(v6.len(), 3);
    assert!(same_v4(v6[2].ip, "127.0.0.1".parse().unwrap()));
}

#[test]
fn unix_listeners_by_path() {
    let u = unix_listeners(&fixture("proc-net-unix-listening.txt"));
    assert_eq!(u, vec![(917375, "/tmp/ngxt/app.sock".to_owned())]);
}

#[test]
fn df_posix_output() {
    let (avail, total, mount) = df(&fixture("df-P-k.txt")).unwrap();
    assert!(avail < total);
    assert_eq!(mount, "/");
    assert!(df("Filesystem 1024-blocks Used Available Capacity Mounted on\n").is_none());
}

/// A /proc/PID/cmdline: arguments each ended by NUL.
fn argv(args: &[&str]) -> String {
    args.iter().map(|a| format!("{a}\0")).collect()
}

#[test]
fn app_servers_from_command_lines() {
    let g = app_server(&argv(&[
        "/srv/venv/bin/python3",
        "/srv/venv/bin/gunicorn",
        "--workers",
        "4",
        "--timeout",
        "120",
        "--bind",
        "0.0.0.0:8000",
        "myapp.wsgi:application",
    ]))
    .unwrap();
    assert_eq!(g.kind, "gunicorn");
    assert_eq!(g.timeout, Some((120.0, "--timeout 120".to_owned())));
    let g = app_server(&argv(&[
        "gunicorn",
        "-t",
        "30",
        "-c",
        "/etc/gunicorn.py",
        "app:app",
    ]))
    .unwrap();
    assert_eq!(g.timeout.unwrap().0, 30.0);
    assert_eq!(g.config, Some(PathBuf::from("/etc/gunicorn.py")));
    let g = app_server(&argv(&[
        "python3",
        "-m",
        "gunicorn",
        "--timeout=5",
        "app:app",
    ]))
    .unwrap();
    assert_eq!(g.timeout, Some((5.0, "--timeout=5".to_owned())));
    let g = app_server(&argv(&["gunicorn", "app:app"])).unwrap();
    assert_eq!(g.timeout, None);
    let u = app_server(&argv(&[
        "/usr/bin/uwsgi",
        "--http",
        ":8000",
        "--harakiri",
        "20",
    ]))
    .unwrap();
    assert_eq!((u.kind, u.timeout.unwrap().0), ("uwsgi", 20.0));
    let u = app_server(&argv(&["uwsgi", "--ini", "/etc/uwsgi/app.ini"])).unwrap();
    assert_eq!(u.config, Some(PathBuf::from("/etc/uwsgi/app.ini")));
    let f = app_server(&argv(&[
        "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)",
        "",
        "",
        "",
    ]))
    .unwrap();
    assert_eq!(f.kind, "php-fpm");
    assert_eq!(
        f.config,
        Some(PathBuf::from("/etc/php/8.2/fpm/php-fpm.conf"))
    );
    assert!(app_server(&argv(&["node", "server.js"])).is_none());
    assert!(app_server(&argv(&["nginx: master process /usr/sbin/nginx"])).is_none());
}

#[test]
fn config_values_of_ini_and_python_files() {
    // php-fpm's shipped www.conf comments its default out with ';'
    let www = "[www]\nuser = www-data\n;request_terminate_timeout = 0\nrequest_terminate_timeout = 30s ; cut\n";
    assert_eq!(
        conf_value(www, "request_terminate_timeout").as_deref(),
        Some("30s")
    );
    assert_eq!(fpm_seconds("30s"), Some(30.0));
    assert_eq!(fpm_seconds("5m"), Some(300.0));
    assert_eq!(fpm_seconds("0"), Some(0.0));
    let py = "bind = \"127.0.0.1:8000\"\ntimeout = 45  # seconds\n";
    assert_eq!(conf_value(py, "timeout").as_deref(), Some("45"));
    assert_eq!(
        conf_value("[uwsgi]\nharakiri = 20\n", "harakiri").as_deref(),
        Some("20")
    );
}

#[test]
fn worker_connection_and_open_file_lines_since() {
    // nginx's own wording: src/core/ngx_connection.c ("%ui worker_connections are not enough")
    // and the errno text of EMFILE, as error.log lines from public issue threads show them
    let log = b"2026/12/08 01:00:00 [alert] 811#811: *9 1024 worker_connections are not enough while connecting to upstream, client: 10.0.0.9, server: _, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:8000/\", host: \"a\"\n2026/12/08 02:00:00 [crit] 811#811: accept4() failed (24: Too many open files)\n2026/12/08 02:00:01 [error] 811#811: *10 connect() failed (111: Connection refused) while connecting to upstream\n2026/12/08 02:00:02 [alert] 811#811: *11 socket() failed (24: Too many open files) while connecting to upstream, client: 10.0.0.9\n";
    let all = fd_lines(log, None);
    assert_eq!((all.worker_connections, all.open_files), (1, 2));
    assert!(
        all.first
            .unwrap()
            .contains("worker_connections are not enough")
    );
    let late = fd_lines(log, Some("2026/12/08 01:30:00"));
    assert_eq!((late.worker_connections, late.open_files), (0, 2));
    assert_eq!(fd_lines(b"", None), FdLines::default());
}

#[test]
fn nginx_times() {
    assert_eq!(nginx_seconds("60s"), Some(60.0));
    assert_eq!(nginx_seconds("1m30s"), Some(90.0));
    assert_eq!(nginx_seconds("75"), Some(75.0));
    assert_eq!(nginx_seconds("x"), None);
}
