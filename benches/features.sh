#!/usr/bin/env bash
# features.sh: what pidguard's features cost, side by side with what users would use instead.
#   7. the seccomp filter's cost per syscall (getppid loop, filter on vs off, ratio);
#   8. `pidguard probe URL` vs `curl -fsS URL` vs busybox `wget` (hyperfine, rotated rounds; target <= 1.0x
#      wget, judged on medians: a few slow outliers of a shared machine move a mean);
#   9. /healthz under wrk (loopback, bounded to a few seconds; targets >= 20k req/s, p99 < 2 ms), 10 and
#      50 connections, beside a bare C server (benches/floor_http.c) that shows what this machine allows;
#  10. idle Private_Dirty of PID 1 with --health-listen and --metrics on (target <= 256 KiB).
# Run as root, after benches/compare.sh built the release (or with the binary already there).
# Every server it starts is on 127.0.0.1 and is killed on exit. Missed targets print MISSED.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG=${CARGO_TARGET_DIR:-$ROOT/target}/x86_64-unknown-linux-gnu/release/pidguard
[[ -x $PG ]] || { echo "features.sh: build the release first (benches/compare.sh or tests/run.sh)" >&2; exit 1; }
for t in hyperfine wrk curl cc; do command -v $t >/dev/null || { echo "features.sh: needs $t" >&2; exit 1; }; done
WORK=$(mktemp -d)
: > "$WORK/pids"
# unshare ignores SIGTERM and pid1() runs in $(...) subshells: its pids go to a file, killed with -9.
cleanup() { while read -r p; do kill -9 "$p" 2>/dev/null || true; done < "$WORK/pids"; rm -rf "$WORK"; }
trap cleanup EXIT
hr() { printf '%s\n' "----------------------------------------------------------------------------------------------"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }'; }
met() { awk -v v="$1" -v l="$2" -v d="$3" 'BEGIN { ok = (d == "le") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "met" : "MISSED" }'; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# PID 1 of a new PID namespace; prints the host pid of pidguard.
pid1() {
    unshare --pid --fork --mount-proc --kill-child "$PG" "$@" >/dev/null 2>&1 &
    local u=$! p=""
    echo "$u" >> "$WORK/pids"
    for _ in $(seq 200); do p=$(cat "/proc/$u/task/$u/children" 2>/dev/null | awk '{print $1}'); [[ -n $p ]] && break; sleep 0.01; done
    echo "$p"
}
echo "pidguard features — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs"
hr

echo "7. seccomp filter cost per syscall (getppid x 2,000,000 as the program, 5 runs each, median ns)"
cc -O2 -o "$WORK/getppid" "$ROOT/benches/getppid.c"
chmod 755 "$WORK" "$WORK/getppid"
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
off=$(for _ in 1 2 3 4 5; do "$PG" --user 65532 --seccomp unconfined -- "$WORK/getppid" 2000000; done | med)
on=$(for _ in 1 2 3 4 5; do "$PG" --user 65532 -- "$WORK/getppid" 2000000; done | med)
printf '   unconfined %6s ns   default filter %6s ns   ratio %s   (+%s ns per syscall)\n' "$off" "$on" "$(ratio "$on" "$off")" \
    "$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.1f", a - b }')"
hr

echo "8. one health probe of a local HTTP endpoint (hyperfine -N; 5 rotated rounds x 60 runs)"
P=$(port)
pid1 --user 65532 --health-listen "127.0.0.1:$P" -- sleep 1000 >/dev/null
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$P/healthz" >/dev/null 2>&1 && break; sleep 0.01; done
URL="http://127.0.0.1:$P/healthz"
PROBERS=("$PG probe $URL" "curl -fsS -o /dev/null $URL" "/bin/busybox wget -q -O /dev/null $URL")
# Rounds with the order rotated, as in compare.sh: a drifting load then weighs on all three alike.
for r in 0 1 2 3 4; do
    args=()
    for k in 0 1 2; do args+=("${PROBERS[(k + r) % 3]}"); done
    hyperfine -N -w 10 -r 60 --export-json "$WORK/probe-$r.json" "${args[@]}" >/dev/null 2>&1
done
python3 - "$WORK" <<'PY'
import glob, json, statistics, sys
times = {}
for f in sorted(glob.glob(sys.argv[1] + "/probe-*.json")):
    for x in json.load(open(f))["results"]:
        times.setdefault(x["command"], []).extend(x["times"])
def name(c):
    return c.split()[0].split("/")[-1] + (" probe" if " probe " in c else "")
rows = {name(c): (statistics.mean(t), statistics.median(t)) for c, t in times.items()}
wm, wmed = rows["busybox"]
for n in ("pidguard probe", "curl", "busybox"):
    m, med = rows[n]
    print("   %-16s mean %6.3f ms  median %6.3f ms   vs busybox wget: mean %.2fx, median %.2fx"
          % (n, m * 1000, med * 1000, m / wm, med / wmed))
v = rows["pidguard probe"][1] / wmed
print("   target pidguard probe <= 1.0x busybox wget (medians): %s" % ("met" if v <= 1.0 else "MISSED"))
PY
hr

echo "9. /healthz under wrk (2 threads, 5 s, loopback), against the machine's floor"
# The floor: a bare C accept/recv/send/close loop serving the same bytes (benches/floor_http.c). wrk
# and the server share this machine's CPUs, so the floor is what any server can reach here.
cc -O2 -o "$WORK/floor_http" "$ROOT/benches/floor_http.c"
FP=$(port)
"$WORK/floor_http" "$FP" &
echo $! >> "$WORK/pids"
for _ in $(seq 200); do curl -fsS "http://127.0.0.1:$FP/healthz" >/dev/null 2>&1 && break; sleep 0.01; done
wrk_run() { # CONNS URL -> "req/s p99_ms"
    local out
    out=$(wrk -t2 -c"$1" -d5s --latency "$2" 2>&1)
    if awk '/Socket errors|Non-2xx/ { bad = 1 } END { exit !bad }' <<<"$out"; then
        echo "   wrk reported errors against $2:" >&2
        grep -E 'Socket errors|Non-2xx' <<<"$out" >&2
    fi
    awk '/^Requests\/sec/ { r = $2 }
         $1 == "99%" { v = $2; u = v; sub(/[a-z]+$/, "", u)
                       if (v ~ /us$/) u /= 1000; else if (v ~ /ms$/) u += 0; else if (v ~ /s$/) u *= 1000 }
         END { print r, u }' <<<"$out"
}
for conns in 10 50; do
    read -r f_rps f_p99 < <(wrk_run "$conns" "http://127.0.0.1:$FP/healthz")
    read -r p_rps p_p99 < <(wrk_run "$conns" "$URL")
    printf '   %2d connections: pidguard %6.0f req/s p99 %5.2f ms | floor %6.0f req/s p99 %5.2f ms | pidguard/floor %s req/s\n' \
        "$conns" "$p_rps" "$p_p99" "$f_rps" "$f_p99" "$(ratio "$p_rps" "$f_rps")"
    printf '      targets: >= 20000 req/s %s, p99 < 2 ms %s\n' "$(met "$p_rps" 20000 ge)" \
        "$(awk -v v="$p_p99" 'BEGIN { print (v < 2) ? "met" : "MISSED" }')"
done
hr

echo "10. idle PID 1 with --health-listen and --metrics (program: sleep 1000), KiB"
sleep 1
sync
PD=$(pid1 --user 65532 --health-listen "127.0.0.1:$(port)" --metrics -- sleep 1000)
sleep 1
pdirty=$(awk '/^Private_Dirty:/ { print $2 }' "/proc/$PD/smaps_rollup")
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PD/status")
printf '   VmRSS %s  Private_Dirty %s (target <= 256: %s)\n' "$rss" "$pdirty" "$(met "$pdirty" 256 le)"
