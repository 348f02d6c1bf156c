#!/bin/sh
# Copies the files `pidguard audit` reads into /out, keeping their paths.
out=/out
keep() { mkdir -p "$out$(dirname "$1")"; cat "$1" > "$out$1" 2>/dev/null || rm -f "$out$1"; }
for f in /proc/self/status /proc/self/mountinfo /proc/self/cgroup /proc/self/uid_map /proc/self/gid_map \
  /proc/self/limits /proc/self/attr/current /proc/1/status /proc/1/comm /proc/1/cmdline /proc/2/comm \
  /proc/net/dev /proc/net/unix /proc/sys/kernel/cap_last_cap; do keep $f; done
for c in memory pids; do
  p=$(grep ":$c:" /proc/self/cgroup | cut -d: -f3)
  for d in "" /docker "$p"; do
    keep /sys/fs/cgroup/$c$d/memory.limit_in_bytes; keep /sys/fs/cgroup/$c$d/pids.max
  done
done
exit 0
