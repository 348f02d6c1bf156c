#!/usr/bin/env bash
# compare.sh: pidguard side by side with tini-static, tini, dumb-init and catatonit, in one run.
#
# Why a script and not `cargo bench`: what matters for an init is measured from outside the process
# (start-up of a whole exec chain, reaping as PID 1 of a PID namespace, memory and wakeups of an idle
# PID 1), and the competitors are other programs. Each section prints absolute figures and the ratio
# pidguard/anchor; a target that is not met is marked MISSED but is not an error. The script exits
# non-zero only when something is really wrong: a tool is missing, the build fails, or pidguard itself
# fails a measurement (a zombie left behind, a signal not delivered).
#
# pidguard runs twice everywhere: `--user 65532` (the realistic hardened set-up: user switch, every
# capability dropped, no_new_privs, core=0) and `--allow-root` (the same minus the user switch).
# Start-up also has `benches/floor_start.c`: tini's job plus exactly the kernel calls of each pidguard
# row's hardening (the same seccomp filter included), in C with nothing else. What the floor costs over
# tini-static is what hardening costs any init; pidguard's distance to it is pidguard's own overhead.
#
# Usage: benches/compare.sh [--quick] [--no-build]     (as root: it uses unshare(1) for PID 1 runs)
#   --quick     fewer runs (for a smoke test; the figures are noisier)
#   --no-build  use the binaries already in the target dir
# The binaries come from ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release, built as the
# project builds its release (static glibc).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRIPLE=x86_64-unknown-linux-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
REL=$TARGET_DIR/$TRIPLE/release
PG=$REL/pidguard
FIX=$REL/examples

QUICK=0
BUILD=1
for arg in "$@"; do
    case $arg in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "compare.sh: unknown argument $arg (try --help)" >&2
        exit 2
        ;;
    esac
done

if ((QUICK)); then
    START_ROUNDS=3 START_RUNS=20 START_WARM=5
    ORPHAN_RUNS=2
    SIG_N=300 SIG_WARM=50
    IDLE_SECS=5
else
    START_ROUNDS=10 START_RUNS=50 START_WARM=10
    ORPHAN_RUNS=5
    SIG_N=2000 SIG_WARM=200
    IDLE_SECS=10
fi
ORPHANS=10000

die() {
    echo "compare.sh: error: $*" >&2
    exit 1
}

[[ $(id -u) == 0 ]] || die "run as root (PID 1 runs use unshare --pid)"
for tool in hyperfine jq unshare pgrep awk timeout; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

# ---------------------------------------------------------------------------------------------------
# Cleanup: every background process we start is an `unshare` whose child is the init under test.
# The init is killed directly: the SIGKILL that `--kill-child` arms (PR_SET_PDEATHSIG) does not stop
# any of these inits once it is PID 1 of its namespace (measured), and pidguard's credential change
# clears it anyway. A SIGKILL from the parent namespace to PID 1 ends the whole namespace.
WORK=$(mktemp -d /tmp/pidguard-bench.XXXXXX)
chmod 755 "$WORK" # the program runs as uid 65532 under `pidguard --user` and must reach the fifo
UNSHARES=()
INITS=()

cleanup() {
    local p
    for p in "${INITS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    for p in "${UNSHARES[@]}"; do
        if [[ $(cat "/proc/$p/comm" 2>/dev/null) == unshare ]]; then
            kill -KILL "$p" 2>/dev/null || true
        fi
        wait "$p" 2>/dev/null || true
    done
    INITS=()
    UNSHARES=()
}
trap 'cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# pidguard always listens on an abstract unix socket (its status endpoint). Outside a network
# namespace the default name may be taken (by another pidguard on the host, or by the concurrent runs
# below), which would cost a failed bind and a warning; give each run its own name, as containers do.
export PIDGUARD_STATUS_SOCKET=pidguard-bench-$$

PG_FAILED=() # pidguard failures: the only measurement outcome that makes the exit status non-zero

# ---------------------------------------------------------------------------------------------------
# The contestants. NAMES[i] runs as: ${PRE[i]} PROGRAM ARGS...
NAMES=() PRE=() BIN=()
add() { NAMES+=("$1") BIN+=("$2") PRE+=("$3"); }
maybe_add() {
    if [[ -x $2 ]]; then add "$@"; else echo "note: $2 not installed, $1 skipped" >&2; fi
}
maybe_add tini-static /usr/bin/tini-static "/usr/bin/tini-static --"
maybe_add tini /usr/bin/tini "/usr/bin/tini --"
maybe_add dumb-init /usr/bin/dumb-init "/usr/bin/dumb-init"
maybe_add catatonit /usr/bin/catatonit "/usr/bin/catatonit --"
add "pidguard --user 65532" "$PG" "$PG --user 65532 --"
add "pidguard --allow-root" "$PG" "$PG --allow-root --"

is_pg() { [[ $1 == pidguard* ]]; }

# ---------------------------------------------------------------------------------------------------
# Formatting helpers (awk does the arithmetic; bash has no floats).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2fx", a / b; else printf "-" }'; }
# verdict VALUE LIMIT: MET when VALUE <= LIMIT.
verdict() { awk -v v="$1" -v l="$2" 'BEGIN { print (v + 0 <= l + 0) ? "met" : "MISSED" }'; }
SUMMARY=()
target() { SUMMARY+=("$(printf '%-7s %s' "$1" "$2")"); }
hr() { printf '%s\n' "----------------------------------------------------------------------------------------------"; }

# ---------------------------------------------------------------------------------------------------
# Build, as the project builds its release.
if ((BUILD)); then
    echo "building pidguard (static glibc release, $TARGET_DIR) ..." >&2
    (cd "$ROOT" && RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" cargo build --quiet --release \
        --target "$TRIPLE" --bins --examples) || die "cargo build failed"
fi
[[ -x $PG ]] || die "$PG not found (build it, or drop --no-build)"
[[ -x $FIX/orphans ]] || die "$FIX/orphans not found (build the examples)"

# Every init runs from a copy in $WORK/bin, made the same way (cp). How a file got into the page
# cache changes how fast it execs: measured here, the binary straight from the linker (which writes
# its output through mmap) started 80-200 us slower than a cp of it, and any file read back after
# an eviction is slower again. Copies put every contestant in the same state, as an image layer does.
mkdir -p "$WORK/bin"
declare -A COPIED=()
copy_bin() { # PATH -> the path of its copy
    local dst="$WORK/bin/${1##*/}"
    [[ -n ${COPIED[$1]:-} ]] || { cp "$1" "$dst" && COPIED[$1]=1; } || die "cannot copy $1"
    echo "$dst"
}
for i in "${!NAMES[@]}"; do
    c=$(copy_bin "${BIN[i]}")
    COPIED[${BIN[i]}]=1
    PRE[i]="$c${PRE[i]#"${BIN[i]}"}"
    BIN[i]=$c
done
PG_RUN=$(copy_bin "$PG")
COPIED[$PG]=1
TINI_STATIC_RUN="" GOSU_RUN=""
[[ -x /usr/bin/tini-static ]] && TINI_STATIC_RUN=$WORK/bin/tini-static
[[ -x /usr/sbin/gosu ]] && GOSU_RUN=$(copy_bin /usr/sbin/gosu)
# A freshly written file's page-cache pages stay dirty until writeback (up to 30 s), and smaps
# counts them as Private_Dirty of every process that maps them alone: flush them, or section 4
# would charge each init its whole text.
sync

SIGPING="" FLOOR=""
if command -v cc >/dev/null; then
    cc -O2 -Wall -o "$WORK/sigping" "$ROOT/benches/sigping.c" || die "cannot compile benches/sigping.c"
    chmod 755 "$WORK/sigping"
    SIGPING=$WORK/sigping
    # The start-up floor (benches/floor_start.c) installs pidguard's own default filter: the first
    # program of src/seccomp/prebuilt.rs (x86_64), as a C array.
    if [[ $(uname -m) == x86_64 ]]; then
        {
            echo 'static struct sock_filter FILTER[] = {'
            awk '/pub const X86_64/ { on = 1; next }
                 on && /^    \],/ { exit }
                 on && /\(/ { gsub(/[ ()]/, ""); sub(/,$/, ""); split($0, f, ",");
                              printf "{%s, %s, %s, %su},\n", f[1], f[2], f[3], f[4] }' "$ROOT/src/seccomp/prebuilt.rs"
            echo '};'
        } >"$WORK/floor_filter.h"
        if cc -O2 -Wall -static -I"$WORK" -o "$WORK/floor_start" "$ROOT/benches/floor_start.c"; then
            chmod 755 "$WORK/floor_start"
            FLOOR=$WORK/floor_start
        else
            echo "note: benches/floor_start.c does not build (static libc missing?), the start-up floor is skipped" >&2
        fi
    else
        echo "note: the start-up floor needs x86_64 (pidguard's prebuilt filter), skipped" >&2
    fi
else
    echo "note: no C compiler, the signal round-trip section and the start-up floor are skipped" >&2
fi

# ---------------------------------------------------------------------------------------------------
# PID 1 runs in the background: `unshare --pid --fork --mount-proc --kill-child INIT... PROGRAM`.
# start_ns NAME_INDEX LOG PROGRAM ARGS... sets NS_UNSHARE and NS_INIT (host pids). NS_WRAP is the
# command that execs unshare: plain `env`, or `taskset -c N` to pin the namespace to one CPU.
NS_WRAP=(env)
start_ns() {
    local i=$1 log=$2
    shift 2
    # shellcheck disable=SC2086 # PRE is a command prefix, split on purpose
    PIDGUARD_STATUS_SOCKET=pidguard-bench-$$-$i-$RANDOM "${NS_WRAP[@]}" unshare --pid --fork --mount-proc --kill-child ${PRE[i]} "$@" </dev/null >"$log" 2>&1 &
    NS_UNSHARE=$!
    UNSHARES+=("$NS_UNSHARE")
    NS_INIT=""
    local t
    for t in $(seq 100); do
        NS_INIT=$(pgrep -P "$NS_UNSHARE" | head -n1 || true)
        [[ -n $NS_INIT ]] && break
        sleep 0.05
    done
    [[ -n $NS_INIT ]] || return 1
    INITS+=("$NS_INIT")
}

# wait_child_comm PID COMM: until PID has a child named COMM (5 s at most).
wait_child_comm() {
    local t c
    for t in $(seq 100); do
        for c in $(pgrep -P "$1" || true); do
            [[ $(cat "/proc/$c/comm" 2>/dev/null) == "$2" ]] && return 0
        done
        sleep 0.05
    done
    return 1
}

field_kib() { awk -v k="$1:" '$1 == k { print $2; exit }' "$2" 2>/dev/null || true; }

echo
echo "pidguard vs other inits — $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, $( ((QUICK)) && echo quick || echo full) mode"
echo "pidguard: $PG"
hr

# ---------------------------------------------------------------------------------------------------
# 1. Start-up overhead: INIT -- /bin/true, not as PID 1 (what a `docker run` pays on top of the program).
#    The box may be shared and its load drifts, so the runs come in short rounds with the order of the
#    commands rotated each round: drift then weighs on every command alike.
echo "1. start-up: INIT -- /bin/true (hyperfine -N; $START_ROUNDS rotated rounds x $START_RUNS runs each)"
ST_NAMES=(baseline "${NAMES[@]}")
ST_CMDS=(/bin/true)
for i in "${!NAMES[@]}"; do ST_CMDS+=("${PRE[i]} /bin/true"); done
# Start-up only, more rows: "tini's job only" is pidguard doing as little as it can beyond tini's job
# (--allow-root --allow-new-privs --seccomp unconfined --landlock off: root kept, no filter, no
# Landlock, no no_new_privs; it still empties the capability sets, which it never skips); and what a
# Dockerfile runs today to start a non-root program (tini, then gosu), which `pidguard --user` replaces.
TINI_JOB="pidguard tini's job only"
ST_NAMES+=("pidguard --allow-root --seccomp unconfined" "$TINI_JOB")
ST_CMDS+=("$PG_RUN --allow-root --seccomp unconfined -- /bin/true"
    "$PG_RUN --allow-root --allow-new-privs --seccomp unconfined --landlock off -- /bin/true")
# And the read-only root from inside the image (Landlock, README "Read-only root"): the --user row plus
# opening the --writable path and the devices, building the ruleset and enforcing it on PID 1.
ST_NAMES+=("pidguard --user 65532 --read-only")
ST_CMDS+=("$PG_RUN --user 65532 --read-only --writable /tmp -- /bin/true")
if [[ -n $TINI_STATIC_RUN && -n $GOSU_RUN ]]; then
    ST_NAMES+=("tini-static + gosu 65532")
    ST_CMDS+=("$TINI_STATIC_RUN -- $GOSU_RUN 65532 /bin/true")
else
    echo "note: gosu not installed, the tini-static + gosu row is skipped" >&2
fi
# The floor: tini's job plus exactly the kernel calls of each pidguard row's hardening, in C with
# nothing else (benches/floor_start.c). No init can start the program hardened faster than this.
FLOOR_OF=()
if [[ -n $FLOOR ]]; then
    for m in "user:pidguard --user 65532" "root:pidguard --allow-root" "unconfined:pidguard --allow-root --seccomp unconfined"; do
        ST_NAMES+=("floor ${m%%:*} (C, same hardening)")
        ST_CMDS+=("$FLOOR ${m%%:*} /bin/true")
        FLOOR_OF+=("${m#*:}=floor ${m%%:*} (C, same hardening)")
    done
fi
for r in $(seq 0 $((START_ROUNDS - 1))); do
    HF_ARGS=(-N --warmup "$START_WARM" --runs "$START_RUNS" --style none)
    for k in "${!ST_NAMES[@]}"; do
        j=$(((k + r) % ${#ST_NAMES[@]}))
        HF_ARGS+=(-n "${ST_NAMES[j]}" "${ST_CMDS[j]}")
    done
    hyperfine "${HF_ARGS[@]}" --export-json "$WORK/start-$r.json" >/dev/null 2>"$WORK/hf.err" ||
        die "hyperfine (start-up) failed: $(tail -n3 "$WORK/hf.err")"
done
# Every round has the same run count, so the mean of round means is the overall mean; the median is
# taken over all runs (hyperfine exports each run's time).
jq -rs '[.[].results[]] | group_by(.command) | map([.[0].command,
        (map(.mean) | add / length), ([.[].times[]] | sort | .[length / 2 | floor]),
        ([.[].times[]] as $t | ($t | add / length) as $m | ($t | map((. - $m) * (. - $m)) | add / length | sqrt))])
        | .[] | @tsv' "$WORK"/start-*.json >"$WORK/start.tsv"
get() { awk -F'\t' -v n="$1" -v c="$2" '$1 == n { print $c }' "$WORK/start.tsv"; }
BASE=$(get baseline 2) BASE_MED=$(get baseline 3)
ANCHOR=$(get tini-static 2) ANCHOR_MED=$(get tini-static 3)
ANCHOR_OV=$(awk -v a="$ANCHOR" -v b="$BASE" 'BEGIN { if (a != "") print a - b }')
# The budgets (project guide): full hardening <= 1.15x tini-static, tini's job only <= 1.05x; the
# --read-only row has none of its own (its cost over --user is printed below).
start_budget() {
    case $1 in
    "$TINI_JOB") echo 1.05 ;;
    "pidguard --user 65532 --read-only") echo "" ;;
    *) echo 1.15 ;;
    esac
}
printf '%-42s %8s %8s %8s %9s %8s %8s %8s  %s\n' init "mean ms" "median" "stddev" "overhead" \
    "ratio" "med.rat" "ovh.rat" "target: mean <= budget x tini-static"
for n in "${ST_NAMES[@]}"; do
    m=$(get "$n" 2) med=$(get "$n" 3) sd=$(get "$n" 4)
    ov=$(awk -v a="$m" -v b="$BASE" 'BEGIN { printf "%.3f", (a - b) * 1000 }')
    mr=$(ratio "$m" "$ANCHOR") medr=$(ratio "$med" "$ANCHOR_MED")
    orr=$(ratio "$(awk -v a="$m" -v b="$BASE" 'BEGIN { print a - b }')" "$ANCHOR_OV")
    [[ $n == baseline ]] && ov="-" mr="-" medr="-" orr="-"
    v=""
    budget=$(start_budget "$n")
    if is_pg "$n" && [[ -n $ANCHOR && -n $budget ]]; then
        v=$(verdict "$(awk -v a="$m" -v b="$ANCHOR" 'BEGIN { print a / b }')" "$budget")
        target "$v" "start-up, $n: ${mr} of tini-static, budget ${budget}x (median $medr, overhead $orr)"
    fi
    awk -v n="$n" -v m="$m" -v med="$med" -v sd="$sd" -v ov="$ov" -v mr="$mr" -v medr="$medr" -v orr="$orr" -v v="$v" \
        'BEGIN { printf "%-42s %8.3f %8.3f %8.3f %9s %8s %8s %8s  %s\n", n, m*1000, med*1000, sd*1000, ov, mr, medr, orr, v }'
done
echo "(ms; overhead = mean - baseline mean; ratios vs tini-static: of means, of medians, of overheads)"
awk -v u="$(get "pidguard --user 65532" 2)" -v r="$(get "pidguard --user 65532 --read-only" 2)" 'BEGIN {
    if (u > 0 && r > 0) printf "--read-only (Landlock) costs %+.0f us over pidguard --user 65532 (%.2fx)\n", (r - u) * 1e6, r / u }'
if ((${#FLOOR_OF[@]})); then
    echo "pidguard against the floor of its own hardening (what any init doing the same must pay):"
    for pair in "${FLOOR_OF[@]}"; do
        n=${pair%%=*} f=${pair#*=}
        awk -v n="$n" -v m="$(get "$n" 2)" -v fm="$(get "$f" 2)" -v a="$ANCHOR" 'BEGIN {
            printf "  %-42s floor %.3f ms (%.2fx tini-static); pidguard %.2fx of it, %+.0f us\n",
                n, fm * 1000, fm / a, m / fm, (m - fm) * 1e6 }'
    done
fi
hr

# ---------------------------------------------------------------------------------------------------
# 2. Reaping: each init as PID 1 of a new PID namespace runs `orphans 10000`, which leaves 10,000
#    zombies to PID 1 and exits once /proc shows none left (it polls every 20 ms). Timed here rather
#    than with hyperfine so that the rounds can rotate through the inits (fair under a drifting load)
#    and every run's `zombies=0` is checked.
echo "2. reaping $ORPHANS orphans as PID 1 (unshare --pid; $ORPHAN_RUNS rotated rounds + 1 warm-up, every run checked)"
declare -A OR_TIMES=() OR_BAD=() OR_CPU=()
for r in $(seq 0 "$ORPHAN_RUNS"); do
    for k in "${!NAMES[@]}"; do
        i=$(((k + r) % ${#NAMES[@]}))
        [[ -n ${OR_BAD[$i]:-} ]] && continue
        t0=$(date +%s%N)
        # shellcheck disable=SC2086 # PRE is a command prefix, split on purpose
        out=$(ORPHANS_PID1_CPU=1 timeout 120 unshare --pid --fork --mount-proc --kill-child ${PRE[i]} "$FIX/orphans" "$ORPHANS" 2>&1) &&
            rc=0 || rc=$?
        t1=$(date +%s%N)
        if [[ $rc != 0 || $out != *zombies=0* ]]; then
            OR_BAD[$i]="exit $rc: $(echo "$out" | tail -n1)"
            continue
        fi
        ((r == 0)) || OR_TIMES[$i]+="$(((t1 - t0) / 1000)) "
        # PID 1's own CPU time (orphans prints it where /proc/1/sched shows it), in microseconds.
        cpu=$(awk -F= '$1 == "pid1_cpu_ms" { printf "%d", $2 * 1000 }' <<<"$out")
        ((r == 0)) || [[ -z $cpu ]] || OR_CPU[$i]+="$cpu "
    done
done
stats() { # microsecond samples -> "mean_s min_s stddev_s"
    awk '{ for (i = 1; i <= NF; i++) { s += $i; q += $i * $i; if (!n++ || $i < m) m = $i } }
        END { mean = s / n; v = q / n - mean * mean; if (v < 0) v = 0
              printf "%.3f %.3f %.3f", mean / 1e6, m / 1e6, sqrt(v) / 1e6 }' <<<"$1"
}
cpu_ms() { awk '{ for (i = 1; i <= NF; i++) s += $i; n += NF } END { printf "%.1f", s / n / 1000 }' <<<"$1"; }
AN="" AC=""
for i in "${!NAMES[@]}"; do
    [[ ${NAMES[i]} == tini && -n ${OR_TIMES[$i]:-} ]] && AN=$(stats "${OR_TIMES[$i]}")
    [[ ${NAMES[i]} == tini && -n ${OR_CPU[$i]:-} ]] && AC=$(cpu_ms "${OR_CPU[$i]}")
done
AN=${AN%% *}
printf '%-24s %9s %9s %8s %11s %12s %9s  %s\n' init "mean s" "min s" "stddev" "ratio" "PID 1 cpu ms" "cpu rat" \
    "target: mean <= 1.0x tini"
for i in "${!NAMES[@]}"; do
    n=${NAMES[i]}
    if [[ -n ${OR_BAD[$i]:-} ]]; then
        msg="$n did not reap every orphan (${OR_BAD[$i]})"
        echo "   FAILED: $msg"
        is_pg "$n" && PG_FAILED+=("$msg")
        continue
    fi
    read -r m mn sd <<<"$(stats "${OR_TIMES[$i]}")"
    r=$(ratio "$m" "$AN") v=""
    if is_pg "$n" && [[ -n $AN ]]; then
        v=$(verdict "$(awk -v a="$m" -v b="$AN" 'BEGIN { print a / b }')" 1.0)
        target "$v" "reaping $ORPHANS orphans, $n: $r of tini"
    fi
    c="-" cr="-"
    if [[ -n ${OR_CPU[$i]:-} ]]; then
        c=$(cpu_ms "${OR_CPU[$i]}")
        cr=$(ratio "$c" "$AC")
    fi
    printf '%-24s %9s %9s %8s %11s %12s %9s  %s\n' "$n" "$m" "$mn" "$sd" "$r" "$c" "$cr" "$v"
done
echo "(wall time of unshare + init + orphans, which forks the 10,000 processes itself and polls /proc every"
echo " 20 ms; PID 1 cpu = CPU time the init used in the run, from /proc/1/sched, mean; no target, but it is"
echo " what reaping costs the init itself, without the forker's noise)"
hr

# ---------------------------------------------------------------------------------------------------
# 3. Signal round trip: kill(PID 1, SIGUSR1) from the host until the program (sigping child) answers
#    on a fifo; one signal in flight at a time. All inits run at once and the driver takes them in
#    turn, one round trip each, so that the load of a shared box weighs on all of them alike.
#    Everything is pinned to one CPU: otherwise each latency mostly measures where the scheduler
#    happened to put the three processes (waking an idle vCPU costs tens of microseconds in a VM,
#    measured here: 20 us vs 70 us for the same init depending on placement).
SIG_CPU=$(($(nproc) - 1))
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c "$SIG_CPU")
echo "3. signal round trip: host -> PID 1 -> program -> fifo ($SIG_N rounds after $SIG_WARM warm-up, inits interleaved${PIN:+, all on CPU $SIG_CPU})"
if [[ -n $SIGPING ]]; then
    ((${#PIN[@]})) && NS_WRAP=("${PIN[@]}")
    declare -A SIG_PID=()
    PAIRS=()
    for i in "${!NAMES[@]}"; do
        fifo=$WORK/fifo-$i
        mkfifo -m 666 "$fifo"
        if start_ns "$i" "$WORK/sig-$i.log" "$SIGPING" child "$fifo"; then
            SIG_PID[$i]=$NS_INIT
            PAIRS+=("$NS_INIT" "$fifo")
        else
            msg="${NAMES[i]}: did not start as PID 1: $(tail -n2 "$WORK/sig-$i.log" | tr '\n' ' ')"
            echo "   FAILED: $msg"
            is_pg "${NAMES[i]}" && PG_FAILED+=("$msg")
        fi
    done
    : >"$WORK/sig.out"
    if ((${#PAIRS[@]})); then
        "${PIN[@]}" "$SIGPING" drive "$SIG_N" "$SIG_WARM" "${PAIRS[@]}" >"$WORK/sig.out" 2>"$WORK/sig.err" ||
            die "sigping drive failed: $(tail -n1 "$WORK/sig.err")"
    fi
    cleanup
    NS_WRAP=(env)
    declare -A SIG_ROW=()
    while read -r pid mean rest; do
        for i in "${!SIG_PID[@]}"; do
            [[ ${SIG_PID[$i]} == "$pid" ]] || continue
            if [[ $mean == FAIL ]]; then
                msg="${NAMES[i]}: signal round trip failed: $rest"
                echo "   FAILED: $msg"
                is_pg "${NAMES[i]}" && PG_FAILED+=("$msg")
            else
                SIG_ROW[$i]="$mean $rest"
            fi
        done
    done <"$WORK/sig.out"
    AN=""
    for i in "${!NAMES[@]}"; do [[ ${NAMES[i]} == tini && -n ${SIG_ROW[$i]:-} ]] && AN=${SIG_ROW[$i]}; done
    read -r an_mean an_p50 _ <<<"${AN:-- -}"
    printf '%-24s %9s %9s %9s %9s %8s %8s\n' init "mean us" "p50 us" "p99 us" "max us" "ratio" "p50 rat"
    for i in "${!NAMES[@]}"; do
        [[ -n ${SIG_ROW[$i]:-} ]] || continue
        read -r mean p50 p99 max _ <<<"${SIG_ROW[$i]}"
        printf '%-24s %9s %9s %9s %9s %8s %8s\n' "${NAMES[i]}" "$mean" "$p50" "$p99" "$max" \
            "$(ratio "$mean" "$an_mean")" "$(ratio "$p50" "$an_p50")"
    done
    echo "(ratios vs tini, of means and of medians; no target, for information)"
else
    echo "   skipped: no C compiler for benches/sigping.c"
fi
hr

# ---------------------------------------------------------------------------------------------------
# 4+5. Idle PID 1 with `sleep 1000` as the program, all inits at once: memory once settled, then
#      context switches (= wakeups) over an idle window.
echo "4. idle memory of PID 1 (program: sleep 1000), KiB     5. wakeups of PID 1 over ${IDLE_SECS} s idle"
IDLE_INIT=()
for i in "${!NAMES[@]}"; do
    if start_ns "$i" "$WORK/idle-$i.log" sleep 1000 && wait_child_comm "$NS_INIT" sleep; then
        IDLE_INIT[i]=$NS_INIT
    else
        msg="${NAMES[i]} did not start sleep as PID 1: $(tail -n2 "$WORK/idle-$i.log" | tr '\n' ' ')"
        echo "   FAILED: $msg"
        is_pg "${NAMES[i]}" && PG_FAILED+=("$msg")
    fi
done
sleep 1
ctxt() { awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }' "/proc/$1/status"; }
declare -A RSS=() PDIRTY=() PSS=() CTX0=()
for i in "${!IDLE_INIT[@]}"; do
    p=${IDLE_INIT[i]}
    cat "/proc/$p/smaps_rollup" >"$WORK/rollup-$i" 2>/dev/null || true
    RSS[$i]=$(field_kib VmRSS "/proc/$p/status")
    PSS[$i]=$(field_kib Pss "$WORK/rollup-$i")
    PDIRTY[$i]=$(field_kib Private_Dirty "$WORK/rollup-$i")
    CTX0[$i]=$(ctxt "$p")
done
sleep "$IDLE_SECS"
printf '%-24s %8s %8s %13s %9s  %-22s %8s  %s\n' init VmRSS Pss Private_Dirty ratio \
    "target: P_D <= 256 KiB" wakeups "target: 0"
AN=""
for i in "${!NAMES[@]}"; do [[ ${NAMES[i]} == tini-static ]] && AN=${PDIRTY[$i]:-}; done
for i in "${!IDLE_INIT[@]}"; do
    n=${NAMES[i]}
    wk=$(($(ctxt "${IDLE_INIT[i]}") - ${CTX0[$i]}))
    pd=${PDIRTY[$i]:-}
    v1="" v2=""
    if is_pg "$n"; then
        v1=$(verdict "${pd:-999999}" 256)
        v2=$(verdict "$wk" 0)
        target "$v1" "idle Private_Dirty, $n: ${pd:-?} KiB (tini-static ${AN:-?} KiB)"
        target "$v2" "idle wakeups in ${IDLE_SECS} s, $n: $wk"
    fi
    printf '%-24s %8s %8s %13s %9s  %-22s %8s  %s\n' "$n" "${RSS[$i]:-?}" "${PSS[$i]:-?}" "${pd:-?}" \
        "$(ratio "$pd" "$AN")" "$v1" "$wk" "$v2"
done
cleanup
echo "(memory ratio: Private_Dirty vs tini-static; wakeups = voluntary + nonvoluntary context switches)"
hr

# ---------------------------------------------------------------------------------------------------
# 6. Binary size. Dynamically linked binaries exclude the libc they load.
echo "6. binary size"
printf '%-24s %10s %9s %-8s %9s  %s\n' init bytes MiB linkage ratio "target: <= 1.75 MiB"
AN=$(stat -c %s /usr/bin/tini-static 2>/dev/null || true)
declare -A SEEN=()
for i in "${!NAMES[@]}"; do
    b=${BIN[i]}
    [[ -n ${SEEN[$b]:-} ]] && continue
    SEEN[$b]=1
    n=${NAMES[i]}
    is_pg "$n" && n=pidguard
    sz=$(stat -c %s "$b")
    link=static
    if command -v readelf >/dev/null && readelf -l "$b" 2>/dev/null | grep -q INTERP; then link=dynamic; fi
    v=""
    if [[ $n == pidguard ]]; then
        v=$(verdict "$sz" 1835008)
        target "$v" "binary size: $sz bytes ($(ratio "$sz" "$AN") of tini-static)"
    fi
    printf '%-24s %10s %9s %-8s %9s  %s\n' "$n" "$sz" "$(awk -v s="$sz" 'BEGIN { printf "%.2f", s / 1048576 }')" \
        "$link" "$(ratio "$sz" "$AN")" "$v"
done
hr

echo "targets:"
printf '  %s\n' "${SUMMARY[@]}"
if ((${#PG_FAILED[@]})); then
    echo "pidguard FAILED:"
    printf '  %s\n' "${PG_FAILED[@]}"
    exit 1
fi
