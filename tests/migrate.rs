//! The migration guides (examples/migrate-*) and the README's `Use` snippet, under a real engine: each
//! "after" image is built offline (FROM this build's pidguard image and the busybox stand-in, see
//! tests/docker/engine.rs) and checked for what its guide promises: it runs, Docker calls it healthy
//! where it has a HEALTHCHECK, PID 1 holds nothing (uid, CapEff 0, NoNewPrivs 1, Seccomp 2),
//! `docker stop` ends it gracefully (SIGTERM, no SIGKILL), and all of it again under
//! `docker run --user 1000680000:0`, OpenShift's kind of identity.

mod common;
#[path = "docker/engine.rs"]
mod engine;

use common::status_map;
use engine::{
    Container, Image, TempDir, assert_seccomp, busybox_image, docker, docker_ok, eventually,
    pidguard_image, repo_dir,
};
use std::collections::HashMap;
use std::path::PathBuf;

/// OpenShift's restricted SCC: a random uid, group 0.
const OPENSHIFT: &str = "1000680000:0";

fn suite() -> Option<&'static engine::Suite> {
    engine::start(|| engine::not_static(&[common::pidguard(), PathBuf::from("/bin/busybox")]))
}

/// A guide's "after" image and the local images it is built FROM (dropped after it).
struct Guide {
    image: Image,
    _busybox: Image,
    _pidguard: Image,
}

fn build_guide(dir: &str) -> Option<Guide> {
    suite()?;
    let pidguard = pidguard_image();
    let busybox = busybox_image();
    let ctx = repo_dir().join("examples").join(dir);
    let args = [
        format!("PIDGUARD_IMAGE={}", pidguard.tag),
        format!("APP_IMAGE={}", busybox.tag),
    ];
    let image = Image::build(
        &format!("adopt-{dir}"),
        &ctx.join("Dockerfile"),
        &ctx,
        &["--build-arg", &args[0], "--build-arg", &args[1]],
    );
    Some(Guide {
        image,
        _busybox: busybox,
        _pidguard: pidguard,
    })
}

/// /proc/1/status inside the container.
fn pid1(c: &Container) -> HashMap<String, String> {
    let out = c.exec(&["/bin/busybox", "cat", "/proc/1/status"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    status_map(&out.stdout)
}

/// PID 1 is pidguard as `uid` (and `gid`), with no capability, no_new_privs and the filter.
fn assert_hardened(c: &Container, uid: &str, gid: &str) {
    let s = pid1(c);
    assert_eq!(s["Name"], "pidguard", "{s:?}");
    assert_eq!(s["Uid"], format!("{uid} {uid} {uid} {uid}"));
    assert_eq!(s["Gid"], format!("{gid} {gid} {gid} {gid}"));
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(s[set], "0000000000000000", "{set}");
    }
    assert_eq!(s["NoNewPrivs"], "1");
    assert_seccomp("PID 1", &s, 2);
}

/// The app accepts connections on 8080, asked from inside with pidguard's own probe.
fn assert_serves(c: &Container) {
    eventually(
        &format!("{} to serve", c.name),
        || c.exec(&["/pidguard", "probe", "tcp://127.0.0.1:8080"]).code,
        |code| *code == Some(0),
    );
}

/// `docker stop` with a long timeout: the app ends on SIGTERM (143 passed on), never SIGKILL (137).
fn assert_graceful_stop(c: &Container) {
    docker_ok(&["stop", "-t", "30", &c.name]);
    let code = c.exit_code();
    assert!(code == 0 || code == 143, "exit {code}: {:?}", c.logs());
    let logs = c.logs();
    assert!(!logs.stderr.contains("SIGKILL"), "{logs:?}");
}

fn start(g: &Guide, opts: &[&str]) -> Container {
    Container::start(&g.image, opts, &[])
}

#[test]
fn tini_guide_writes_a_root_owned_state_dir_through_setup() {
    let Some(g) = build_guide("migrate-tini") else {
        return;
    };
    let c = start(&g, &[]);
    assert_serves(&c);
    assert_hardened(&c, "65532", "65532");
    let stat = c.exec(&["/bin/busybox", "stat", "-c", "%u:%g", "/var/lib/app/state"]);
    assert_eq!(stat.stdout.trim(), "65532:65532", "{stat:?}");
    assert_eq!(
        c.exec(&["/bin/busybox", "cat", "/var/lib/app/state"])
            .stdout
            .trim(),
        "started"
    );
    assert_graceful_stop(&c);

    let c = start(&g, &["--user", OPENSHIFT]);
    assert_serves(&c);
    assert_hardened(&c, "1000680000", "0");
    assert_graceful_stop(&c);
}

#[test]
fn dumb_init_guide_chowns_the_volume_and_drops_like_gosu() {
    let Some(g) = build_guide("migrate-dumb-init") else {
        return;
    };
    let c = start(&g, &[]);
    assert_serves(&c);
    assert_hardened(&c, "65532", "65532");
    let stat = c.exec(&["/bin/busybox", "stat", "-c", "%u:%g", "/data"]);
    assert_eq!(stat.stdout.trim(), "65532:65532", "{stat:?}");
    assert_graceful_stop(&c);

    let c = start(&g, &["--user", OPENSHIFT]);
    assert_serves(&c);
    assert_hardened(&c, "1000680000", "0");
    assert_graceful_stop(&c);
}

#[test]
fn gosu_guide_entrypoint_script_execs_pidguard_as_pid_1() {
    let Some(g) = build_guide("migrate-gosu") else {
        return;
    };
    let c = start(&g, &[]);
    assert_serves(&c);
    assert_hardened(&c, "65532", "65532");
    let stat = c.exec(&["/bin/busybox", "stat", "-c", "%u:%g", "/data"]);
    assert_eq!(stat.stdout.trim(), "65532:65532", "{stat:?}");
    assert_graceful_stop(&c);

    let c = start(&g, &["--user", OPENSHIFT]);
    assert_serves(&c);
    assert_hardened(&c, "1000680000", "0");
    assert_graceful_stop(&c);
}

#[test]
fn curl_healthcheck_guide_is_healthy_through_pidguard_probe() {
    let Some(g) = build_guide("migrate-curl-healthcheck") else {
        return;
    };
    for opts in [&[][..], &["--user", OPENSHIFT][..]] {
        let c = start(&g, opts);
        c.wait_health("healthy");
        let log = c.inspect("{{(index .State.Health.Log 0).ExitCode}}");
        assert_eq!(log, "0");
        let (uid, gid) = if opts.is_empty() {
            ("65532", "65532")
        } else {
            ("1000680000", "0")
        };
        assert_hardened(&c, uid, gid);
        assert_graceful_stop(&c);
    }
}

#[test]
fn kubernetes_guide_runs_two_pidguards_in_one_network_namespace_as_a_random_uid() {
    let Some(g) = build_guide("migrate-kubernetes") else {
        return;
    };
    let restricted = [
        "--user",
        OPENSHIFT,
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--read-only",
    ];
    let mut web_opts = restricted.to_vec();
    web_opts.extend(["-e", "PIDGUARD_STATUS_SOCKET=pidguard-web"]);
    let web = start(&g, &web_opts);
    web.wait_health("healthy");
    assert_hardened(&web, "1000680000", "0");
    // The sidecar in the web container's network namespace, as a pod's containers are. Its app
    // is a sleep, so that only its own PID 1 can answer for it.
    let sidecar = Container {
        name: engine::suite().name("adopt-sidecar"),
    };
    let net = format!("container:{}", web.name);
    let mut args = vec!["run", "-d", "--name", &sidecar.name, "--network", &net];
    args.extend(restricted);
    args.extend([
        "-e",
        "PIDGUARD_STATUS_SOCKET=pidguard-sidecar",
        "--no-healthcheck",
        &g.image.tag,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    let out = docker(&args);
    assert_eq!(out.code, Some(0), "{out:?}");
    eventually(
        "the sidecar's own PID 1 to answer",
        || sidecar.exec(&["/pidguard", "probe"]).code,
        |c| *c == Some(0),
    );
    // Its probe reaches its own PID 1: the sidecar has no server on 8080 of its own, but shares
    // the web container's, so only the status socket tells them apart.
    assert_hardened(&sidecar, "1000680000", "0");
    let logs = sidecar.logs();
    assert!(!logs.stderr.contains("unavailable"), "{logs:?}");
    assert_graceful_stop(&sidecar);
    assert_graceful_stop(&web);
}

/// The README's `Use` snippet, extracted from README.md so that it cannot drift: exactly its lines
/// (the `--from` image aside) on a scratch base holding a static busybox, and no /etc/passwd.
#[test]
fn the_readme_use_snippet_builds_and_runs_hardened_and_healthy() {
    let readme = std::fs::read_to_string(repo_dir().join("README.md")).unwrap();
    let snippet = readme
        .split("\n## Use\n")
        .nth(1)
        .and_then(|s| s.split("```dockerfile\n").nth(1))
        .and_then(|s| s.split("\n```").next())
        .expect("a dockerfile block in the README's Use section");
    assert!(snippet.contains("COPY --from=pidguard"), "{snippet}");
    if suite().is_none() {
        return;
    }
    let pidguard = pidguard_image();
    let ctx = TempDir::new(&engine::suite().name("adopt-readme"));
    std::fs::copy("/bin/busybox", ctx.path().join("app")).unwrap();
    let dockerfile = ctx.path().join("Dockerfile");
    // The snippet's CMD ["/app"] is the user's app; a static busybox named app would run no
    // applet, so the test gives the container a command (docker run IMAGE ...), not the Dockerfile.
    // The snippet copies from the published image (`--from=pidguard:...`); here that is this
    // build's image, the one substitution.
    let lines: Vec<String> = snippet
        .lines()
        .map(|l| match l.strip_prefix("COPY --from=") {
            Some(rest) => format!(
                "COPY --from={} {}",
                pidguard.tag,
                rest.split_once(' ').map_or("", |(_, r)| r)
            ),
            None => l.to_string(),
        })
        .collect();
    std::fs::write(
        &dockerfile,
        format!(
            "FROM scratch\nCOPY app /bin/busybox\n{}\n",
            lines.join("\n")
        ),
    )
    .unwrap();
    let image = Image::build("adopt-readme", &dockerfile, ctx.path(), &[]);
    for opts in [&[][..], &["--user", OPENSHIFT][..]] {
        let (c, out) = Container::run_args(
            &image,
            true,
            opts,
            &["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/"],
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        c.wait_health("healthy");
        let (uid, gid) = if opts.is_empty() {
            ("65532", "0")
        } else {
            ("1000680000", "0")
        };
        assert_hardened(&c, uid, gid);
        assert_graceful_stop(&c);
    }
}
