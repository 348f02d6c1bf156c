//! The servers people run most, each as the program of pidguard as real PID 1 with `--user` and the
//! default hardening: postgres 15, redis 7, nginx 1.22, node and python's http.server (Debian's
//! packages; `tests/run.sh` installs them, and a missing one fails here with its name, never a skip).
//!
//! Each scenario is what an operator does to a container: start it, ask it one real question, stop it
//! with SIGTERM and look at how it stopped, kill it with -9 and watch `--restart on-failure` bring it
//! back. "No syscall was refused" is read from the kernel: the first run of each server uses the
//! default profile with `defaultAction: SCMP_ACT_LOG` instead of EPERM, so whatever the default would
//! refuse is allowed but written to the kernel log (`audit: type=1326 ... code=0x7ffc0000`), where the
//! test looks for the server's executable. During each run the test asks `pidguard status` from inside
//! the container, as an operator would with `docker exec`: the server is running, and after the
//! `kill -9` it was restarted once and its last exit was that SIGKILL.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Pid1, free_port, scratch, wait_until};

/// `dir/name`, panicking with the package to install when the file is missing.
fn need(path: &str, package: &str) -> String {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's {package} (tests/run.sh does)"
    );
    path.to_string()
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// One HTTP GET on loopback; the status line and body, or None while nothing answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    (!out.is_empty()).then_some(out)
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The built-in profile with every refusal turned into a kernel log line (see the module essay).
fn logging_profile(dir: &Path) -> PathBuf {
    let out = run_ok(Command::new(common::pidguard()).args(["seccomp", "export"]));
    let errno = "\"defaultAction\": \"SCMP_ACT_ERRNO\"";
    assert!(out.contains(errno), "unexpected export: {out:.300}");
    let text = out
        .replacen(errno, "\"defaultAction\": \"SCMP_ACT_LOG\"", 1)
        .replacen("\"defaultErrnoRet\": 1,", "", 1);
    let path = dir.join("log-profile.json");
    std::fs::write(&path, text).unwrap();
    path
}

/// How many lines the kernel log has now: refusals are looked for after this mark.
fn kernel_log_mark() -> usize {
    run_ok(&mut Command::new("dmesg")).lines().count()
}

/// Syscalls the default filter would have refused for `exe` since `mark` (audit type 1326 with the
/// SECCOMP_RET_LOG action).
fn refused_since(mark: usize, exe: &str) -> Vec<String> {
    let exe = std::fs::canonicalize(exe).unwrap();
    let needle = format!("exe=\"{}\"", exe.display());
    run_ok(&mut Command::new("dmesg"))
        .lines()
        .skip(mark)
        .filter(|l| l.contains("type=1326") && l.contains("code=0x7ffc0000"))
        .filter(|l| l.contains(&needle))
        .map(str::to_string)
        .collect()
}

/// Host pids of the direct children of `pid`.
fn children(pid: i32) -> Vec<i32> {
    common::read(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The program's host pid: pidguard's only long-lived child.
fn program_pid(pg: &Pid1) -> i32 {
    let mut pid = 0;
    wait_until("the program to start", || {
        pid = children(pg.pid()).first().copied().unwrap_or(0);
        pid != 0
    });
    pid
}

/// Every pid on the machine now.
fn all_pids() -> std::collections::HashSet<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// `pidguard status` run inside pidguard's container (its PID, mount and network namespaces, as
/// `docker exec` gives), with the status socket name pidguard was given: its lines.
fn status(pg: &Pid1) -> String {
    let pid = pg.pid();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let name = environ
        .split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(b"PIDGUARD_STATUS_SOCKET="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .expect("pidguard has a status socket name");
    run_ok(
        common::in_container_of(pid, &common::pidguard())
            .arg("status")
            .env("PIDGUARD_STATUS_SOCKET", name),
    )
}

/// What `pidguard status` says while the first run of `exe` serves.
fn assert_status_running(pg: &Pid1, exe: &str) {
    let s = status(pg);
    assert!(s.starts_with("program:  pid "), "{s}");
    assert!(s.contains(", running for "), "{s}");
    assert!(s.contains(&format!("\ncommand:  {exe} ")), "{s}");
    assert!(s.contains("\nrestarts: 0\n"), "{s}");
    assert!(
        s.contains("capabilities none, no_new_privs on, seccomp "),
        "{s}"
    );
}

/// `kill -9` of the program, then waits until pidguard has started a new one and `serves()` says
/// it answers. New means a pid that did not exist at the kill: what the old program left behind
/// (nginx's worker, postgres' backends) is re-parented to pidguard too, but it is not new. Then
/// `pidguard status` tells the restart and why.
fn kill9_and_wait_for_restart(pg: &Pid1, serves: impl Fn() -> bool) {
    let program = program_pid(pg);
    let before = all_pids();
    run_ok(Command::new("kill").args(["-9", &program.to_string()]));
    wait_until("the program to be restarted", || {
        children(pg.pid()).iter().any(|p| !before.contains(p)) && serves()
    });
    let s = status(pg);
    assert!(s.contains(", running for "), "{s}");
    assert!(
        s.contains("\nrestarts: 1; last exit: killed by SIGKILL after "),
        "{s}"
    );
}

// ---------------------------------------------------------------------------------------------
// postgres

struct Postgres {
    dir: PathBuf,
    data: String,
}

impl Postgres {
    /// A fresh cluster owned by the `postgres` user, initialised through pidguard itself.
    fn init(name: &str) -> Postgres {
        let initdb = need(&format!("{PG_BIN}/initdb"), "postgresql");
        let dir = scratch(name);
        let data = dir.join("data").to_string_lossy().into_owned();
        let out = Pid1::start_env(
            &[
                "--user",
                "postgres",
                "--",
                &initdb,
                "-D",
                &data,
                "--no-locale",
                "-E",
                "UTF8",
                "--auth=trust",
                "-U",
                "postgres",
            ],
            &[("PIDGUARD_USER", "")],
        )
        .wait();
        assert_eq!(out.code, Some(0), "initdb: {}", out.stderr);
        Postgres { dir, data }
    }

    fn start(&self, extra: &[&str], profile: Option<&Path>) -> Pid1 {
        let postgres = format!("{PG_BIN}/postgres");
        let sockets = format!("unix_socket_directories={}", self.dir.display());
        let mut args = vec!["--user", "postgres"];
        let seccomp;
        if let Some(p) = profile {
            seccomp = p.to_string_lossy().into_owned();
            args.extend(["--seccomp", &seccomp]);
        }
        args.extend(extra);
        args.extend([
            "--",
            &postgres,
            "-D",
            &self.data,
            "-c",
            "listen_addresses=",
            "-c",
            &sockets,
        ]);
        let pg = Pid1::start_env(&args, &[("PIDGUARD_USER", "")]);
        wait_until("postgres to accept connections", || {
            self.psql("select 1").is_some_and(|o| o.trim() == "1")
        });
        pg
    }

    /// `psql -tA -c SQL` over the unix socket; None while it cannot connect.
    fn psql(&self, sql: &str) -> Option<String> {
        let out = Command::new("psql")
            .args(["-h", &self.dir.to_string_lossy(), "-U", "postgres"])
            .args(["-d", "postgres", "-tA", "-c", sql])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// "shut down" after a clean stop; "in production" means the next start recovers.
    fn cluster_state(&self) -> String {
        let out = run_ok(Command::new(format!("{PG_BIN}/pg_controldata")).arg(&self.data));
        out.lines()
            .find_map(|l| l.strip_prefix("Database cluster state:"))
            .unwrap_or_else(|| panic!("no cluster state in {out}"))
            .trim()
            .to_string()
    }
}

/// The README's recommended readiness check for postgres, `exec:` with `pg_isready`, run by PID 1
/// under the default filter: the moment `pidguard status` calls the program ready, a query works
/// (a `tcp://` check would call it ready while postgres still answers "the database system is
/// starting up"). Polled without a clock: readiness first, then one query that must succeed.
#[test]
fn postgres_is_ready_when_pg_isready_says_so() {
    let pg_dir = Postgres::init("servers-pg-ready");
    let postgres = format!("{PG_BIN}/postgres");
    let isready = need(&format!("{PG_BIN}/pg_isready"), "postgresql");
    let dir = pg_dir.dir.display().to_string();
    let check = format!("exec:{isready},-h,{dir},-U,postgres");
    let sockets = format!("unix_socket_directories={dir}");
    let pg = Pid1::start_env(
        &[
            "--user",
            "postgres",
            "--health-check",
            &check,
            "--health-interval",
            "100ms",
            "--",
            &postgres,
            "-D",
            &pg_dir.data,
            "-c",
            "listen_addresses=",
            "-c",
            &sockets,
        ],
        &[("PIDGUARD_USER", "")],
    );
    wait_until("pg_isready to make the program ready", || {
        status(&pg).contains("\nhealth:   healthy, ready; check exec:")
    });
    assert_eq!(
        pg_dir.psql("select 1").as_deref().map(str::trim),
        Some("1"),
        "ready, but no query: {}",
        status(&pg)
    );
    // SIGINT, postgres' fast shutdown (what `--rewrite TERM:INT` sends), forwarded by PID 1.
    pg.signal(2);
    let out = pg.wait();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn postgres_serves_a_query_stops_cleanly_and_restarts_after_kill_9() {
    let pg_dir = Postgres::init("servers-pg");
    let profile = logging_profile(&pg_dir.dir);
    let mark = kernel_log_mark();

    // Serve, with the default filter's refusals logged instead of returned.
    let pg = pg_dir.start(&[], Some(&profile));
    assert_eq!(
        pg_dir.psql("select 40 + 2").as_deref().map(str::trim),
        Some("42")
    );
    assert_status_running(&pg, &format!("{PG_BIN}/postgres"));
    pg.signal(libc::SIGTERM);
    let out = pg.wait();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(pg_dir.cluster_state(), "shut down");
    let refused = refused_since(mark, &format!("{PG_BIN}/postgres"));
    assert!(
        refused.is_empty(),
        "the default filter refuses postgres: {refused:#?}"
    );

    // kill -9 of the postmaster under --restart on-failure: a new one serves again.
    let pg = pg_dir.start(
        &["--restart", "on-failure", "--restart-delay", "100ms"],
        None,
    );
    kill9_and_wait_for_restart(&pg, || pg_dir.psql("select 1").is_some());
    pg.signal(libc::SIGTERM);
    let out = pg.wait();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(pg_dir.cluster_state(), "shut down");
}

#[test]
fn postgres_with_a_running_query_stops_fast_and_clean_with_the_documented_rewrite() {
    // SIGTERM is postgres' "smart" shutdown, which waits for every session; the README's recipe
    // (and the official image's STOPSIGNAL SIGINT) asks for the "fast" one instead.
    let pg_dir = Postgres::init("servers-pg-query");
    let pg = pg_dir.start(&["--rewrite", "TERM:INT"], None);
    let mut query = Command::new("psql")
        .args(["-h", &pg_dir.dir.to_string_lossy(), "-U", "postgres"])
        .args(["-d", "postgres", "-c", "select pg_sleep(60)"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the query to run", || {
        pg_dir
            .psql("select count(*) from pg_stat_activity where query like 'select pg_sleep%'")
            .is_some_and(|n| n.trim() == "1")
    });
    pg.signal(libc::SIGTERM);
    let out = pg.wait();
    let _ = query.wait();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("SIGKILL"), "{}", out.stderr);
    assert_eq!(pg_dir.cluster_state(), "shut down");
}

// ---------------------------------------------------------------------------------------------
// redis

#[test]
fn redis_answers_ping_stops_with_0_and_restarts_after_kill_9() {
    let redis = need("/usr/bin/redis-server", "redis-server");
    need("/usr/bin/redis-cli", "redis-tools");
    let dir = scratch("servers-redis");
    let sock = dir.join("redis.sock").to_string_lossy().into_owned();
    let dirs = dir.to_string_lossy().into_owned();
    let ping = || {
        Command::new("redis-cli")
            .args(["-s", &sock, "ping"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "PONG")
    };
    let redis_args = |seccomp: Option<&str>, extra: &[&str]| {
        let mut a: Vec<String> = Vec::new();
        if let Some(p) = seccomp {
            a.extend(["--seccomp".into(), p.into()]);
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(
            [
                "--",
                &redis,
                "--port",
                "0",
                "--unixsocket",
                &sock,
                "--dir",
                &dirs,
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .map(String::from),
        );
        a
    };

    let profile = logging_profile(&dir);
    let mark = kernel_log_mark();
    let args = redis_args(Some(&profile.to_string_lossy()), &[]);
    let r = Pid1::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    wait_until("redis to answer PING", ping);
    assert_status_running(&r, &redis);
    r.signal(libc::SIGTERM);
    let out = r.wait();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let refused = refused_since(mark, &redis);
    assert!(
        refused.is_empty(),
        "the default filter refuses redis: {refused:#?}"
    );

    let args = redis_args(
        None,
        &["--restart", "on-failure", "--restart-delay", "100ms"],
    );
    let r = Pid1::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    wait_until("redis to answer PING", ping);
    kill9_and_wait_for_restart(&r, ping);
    r.signal(libc::SIGTERM);
    assert_eq!(r.wait().code, Some(0));
}

// ---------------------------------------------------------------------------------------------
// HTTP servers: nginx, node, python

/// Starts an HTTP server as the program (first run with the logging profile), GETs `/`, stops it with
/// SIGTERM and expects `stop_code`; then kill -9 under --restart on-failure and GETs again.
fn http_server_scenario(
    name: &str,
    exe: &str,
    argv: &dyn Fn(&Path, u16) -> Vec<String>,
    stop_code: i32,
) {
    let dir = scratch(name);
    let port = free_port();
    let profile = logging_profile(&dir);
    let mark = kernel_log_mark();

    let mut args = vec![
        "--seccomp".to_string(),
        profile.to_string_lossy().into_owned(),
        "--".to_string(),
    ];
    args.extend(argv(&dir, port));
    let s = Pid1::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut answer = None;
    wait_until(&format!("{name} to answer"), || {
        answer = http_get(port, "/");
        answer.is_some()
    });
    let answer = answer.unwrap();
    assert!(
        answer.starts_with("HTTP/1.") && answer.contains(" 200 "),
        "{answer}"
    );
    assert_status_running(&s, &argv(&dir, port)[0]);
    s.signal(libc::SIGTERM);
    let out = s.wait();
    assert_eq!(out.code, Some(stop_code), "{name}: {}", out.stderr);
    let refused = refused_since(mark, exe);
    assert!(
        refused.is_empty(),
        "the default filter refuses {name}: {refused:#?}"
    );

    let port = free_port();
    let mut args: Vec<String> = ["--restart", "on-failure", "--restart-delay", "100ms", "--"]
        .map(String::from)
        .to_vec();
    args.extend(argv(&dir, port));
    let s = Pid1::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    wait_until(&format!("{name} to answer"), || {
        http_get(port, "/").is_some()
    });
    kill9_and_wait_for_restart(&s, || http_get(port, "/").is_some());
    s.signal(libc::SIGTERM);
    assert_eq!(s.wait().code, Some(stop_code), "{name} after its restart");
}

#[test]
fn nginx_serves_stops_and_restarts() {
    let nginx = need("/usr/sbin/nginx", "nginx-light");
    let argv = |dir: &Path, port: u16| {
        let d = dir.display();
        let conf = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log stderr warn;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\\n\"; }} }}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        vec![
            "/usr/sbin/nginx".to_string(),
            "-p".into(),
            dir.to_string_lossy().into_owned(),
            "-e".into(),
            "stderr".into(),
            "-c".into(),
            path.to_string_lossy().into_owned(),
        ]
    };
    // nginx treats SIGTERM as "fast shutdown" and exits 0.
    http_server_scenario("servers-nginx", &nginx, &argv, 0);
}

#[test]
fn node_serves_stops_and_restarts() {
    let node = need("/usr/bin/node", "nodejs");
    let argv = |_: &Path, port: u16| {
        vec![
            "/usr/bin/node".to_string(),
            "-e".into(),
            format!(
                "require('http').createServer((q, r) => r.end('ok\\n')).listen({port}, '127.0.0.1')"
            ),
        ]
    };
    // No SIGTERM handler: node dies of the signal, 128 + 15.
    http_server_scenario("servers-node", &node, &argv, 143);
}

#[test]
fn python_http_server_serves_stops_and_restarts() {
    let python = need("/usr/bin/python3", "python3");
    let argv = |dir: &Path, port: u16| {
        vec![
            "/usr/bin/python3".to_string(),
            "-m".into(),
            "http.server".into(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--directory".into(),
            dir.to_string_lossy().into_owned(),
            port.to_string(),
        ]
    };
    http_server_scenario("servers-python", &python, &argv, 143);
}
