#!/usr/bin/env bash
# Makes a Docker engine answer for tests/docker.rs, and does nothing when one already does.
#
# Nothing can be pulled here and the tests must not touch the host's network: the engine is started
# with no bridge and no iptables rules, so a container has only its own loopback, and the suite builds
# every image `FROM scratch` out of local files (pidguard, the fixtures, a static /bin/busybox).
# Safe to run any number of times: each step first checks whether it is already done. Run as root.
set -euo pipefail

LOG=${PIDGUARD_DOCKERD_LOG:-/tmp/pidguard-dockerd.log}
WAIT_SECS=${PIDGUARD_DOCKERD_WAIT:-60}

need=()
{ [ -x /usr/sbin/dockerd ] && command -v docker >/dev/null; } || need+=(docker.io)
[ -x /bin/busybox ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-docker: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# A FROM scratch image has no libc: the busybox package (dynamic) would not run in it.
linkage=$(ldd /bin/busybox 2>&1 || true)  # ldd fails on a static binary, which is what we want
if ! grep -qE 'not a dynamic executable|statically linked' <<<"$linkage"; then
  echo "setup-docker: /bin/busybox is dynamically linked: install busybox-static" >&2
  exit 1
fi

if docker info >/dev/null 2>&1; then
  echo "setup-docker: a Docker engine already answers"
  exit 0
fi

# A pid file left behind by an engine that did not stop cleanly (a machine restored from a snapshot,
# a session killed mid-run) names a pid that a new process may now hold. dockerd then "finds" that
# process, waits for a containerd socket that never comes and gives up: remove every pid file whose
# process is not the program that wrote it.
stale_pidfile() {  # FILE PROGRAM
  local pid
  [ -f "$1" ] || return 0
  pid=$(cat "$1" 2>/dev/null || true)
  if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$2" ]; then
    echo "setup-docker: removing stale $1 (pid '${pid}' is not a running $2)"
    rm -f "$1"
  fi
}

start_engine() {
  stale_pidfile /run/docker.pid dockerd
  stale_pidfile /run/docker/containerd/containerd.pid containerd
  echo "setup-docker: starting dockerd (no bridge, no iptables), log in $LOG"
  # setsid: the engine must outlive this script and the shell that ran it.
  setsid /usr/sbin/dockerd --bridge=none --iptables=false --ip6tables=false \
    >>"$LOG" 2>&1 </dev/null &
}

wait_engine() {
  for _ in $(seq "$((WAIT_SECS * 2))"); do
    if docker info >/dev/null 2>&1; then
      echo "setup-docker: the Docker engine answers"
      return 0
    fi
    sleep 0.5
  done
  return 1
}

if ! pidof dockerd >/dev/null; then
  start_engine
fi
wait_engine && exit 0

# Once more from a clean slate: stop the engine that did not answer (and the containerd it started,
# never a containerd of the host's own), remove what it left in /run, start again.
echo "setup-docker: no answer from dockerd after ${WAIT_SECS}s; restarting it once. The end of $LOG:" >&2
grep -v "module=grpc" "$LOG" | tail -n 10 >&2 || true
pkill -x dockerd 2>/dev/null || true
for _ in $(seq 40); do pidof dockerd >/dev/null || break; sleep 0.25; done
pkill -9 -x dockerd 2>/dev/null || true
pkill -f '^containerd --config /var/run/docker/containerd/containerd.toml' 2>/dev/null || true
sleep 1
rm -f /run/docker.pid /run/docker/containerd/containerd.pid
start_engine
wait_engine && exit 0
echo "setup-docker: no answer from dockerd after a restart either; the end of $LOG:" >&2
grep -v "module=grpc" "$LOG" | tail -n 20 >&2 || true
exit 1
