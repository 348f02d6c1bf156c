#!/usr/bin/env bash
# A tour of pidguard's main job, as PID 1 of a fresh PID namespace (needs root, like `docker run`).
# Builds the static release binary first. Run: bash examples/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# The pinned Rust toolchain (rustup, when cargo is missing or too old) and a C linker.
PATH="$(.ci/setup-rust):$PATH"
export PATH
command -v unshare >/dev/null || { apt-get update -qq && apt-get install -y -qq util-linux >/dev/null; }
export RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static"
TARGET=x86_64-unknown-linux-gnu
echo "== building the static release binary"
cargo build -q --release --target "$TARGET" --bins --examples
BIN="target/$TARGET/release"
PG="$BIN/pidguard"
ls -l "$PG" | awk '{print "   " $5 " bytes, " $9}'
pid1() { unshare --pid --fork --mount-proc --kill-child "$PG" "$@"; }

echo
echo "== 1. Root is refused unless you say otherwise"
pid1 -- id || echo "   exit code $?"

echo
echo "== 2. The program runs as uid 65532 with no capabilities and no_new_privs; so does PID 1"
pid1 --user 65532 -- sh -c 'for p in self 1; do
  echo "   /proc/$p: $(grep -E "^(Name|Uid|CapEff|CapBnd|NoNewPrivs)" /proc/$p/status | tr -s "\t\n" "  ")"; done'

echo
echo "== 3. 10,000 orphaned zombies are reaped"
pid1 --user 65532 -- "$BIN/examples/orphans" 10000 | sed 's/^/   /'

echo
echo "== 4. docker stop on a program that ignores SIGTERM: SIGKILL after --grace, pidguard decides the exit code"
unshare --pid --fork --mount-proc --kill-child "$PG" --user 65532 --grace 1s -v -- "$BIN/examples/ignore_term" > /dev/null &
sleep 0.5
kill -TERM "$(cat /proc/$!/task/$!/children)"   # what docker stop does to PID 1
wait $! || echo "   exit code $? (128+9)"

echo
echo "== 5. HEALTHCHECK without curl: pidguard probe asks PID 1's status socket"
unshare --pid --fork --mount-proc --kill-child "$PG" --user 65532 --health-check exec:/bin/true --health-interval 300ms -- sleep 3 &
sleep 0.2
# The probe trusts only its own container's pidguard: run it inside, as `docker exec` would.
in_container() { nsenter -t "$(tr -d " " < /proc/$1/task/$1/children)" --pid --mount --net -- "$PWD/$PG" probe; }
in_container $! && echo "   healthy" || echo "   not healthy yet (exit $?)"
sleep 0.6
in_container $! && echo "   healthy (exit 0)"
wait
echo
echo "Done. See README.md for every flag, and tests/run.sh for the whole suite."
