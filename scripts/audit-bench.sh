#!/bin/sh
# audit-bench.sh — time `evchain audit` over a generated log (README
# "Compliance audit", benchmark).
#
#   scripts/audit-bench.sh [N]          (default N = 1000000 entries)
#
# Builds nothing: run `make` first (BIN=… for another build directory). It
# makes a fresh `evchain-keys dev` deployment in a temporary directory, writes
# a ledger of N entries straight through lib/ledger.h (test_audit
# --bench-ledger: valid records signed by the node key, ~1% of each kind of
# violation), starts evchaind on it, and times
#   evchain -c supervisor.conf audit --format json -o findings.json
# which fetches and verifies every entry (signed root recomputed, hash chain,
# every node signature) before the rules run. The temporary directory is
# removed unless AUDIT_BENCH_KEEP=1. Needs about 1.5 GB of disk per million
# entries.
set -eu
N=${1:-1000000}
BIN=${BIN:-bin}
for p in evchain-keys evchaind evchain tests/test_audit; do
	[ -x "$BIN/$p" ] || { echo "audit-bench: $BIN/$p not found: run make first" >&2; exit 2; }
done
BIN=$(cd "$BIN" && pwd)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/evc-auditbench-XXXXXX")
SRV=
cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	if [ "${AUDIT_BENCH_KEEP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT INT TERM

"$BIN/evchain-keys" dev "$DIR/dep" --port 9 >/dev/null
echo "audit-bench: writing a ledger of $N entries"
t0=$(date +%s.%N)
"$BIN/tests/test_audit" --bench-ledger "$DIR/dep" "$N"
t1=$(date +%s.%N)
du -sh "$DIR/dep/data" | sed 's/^/audit-bench: ledger size /'
sync   # the ledger was written without fsync: flush it before timing

"$BIN/evchaind" -c "$DIR/dep/evchaind.conf" --listen 127.0.0.1:0 >"$DIR/server.log" 2>&1 &
SRV=$!
port=
for _ in $(seq 1 600); do
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$DIR/server.log" | head -n 1)
	[ -n "$port" ] && break
	kill -0 "$SRV" 2>/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { echo "audit-bench: evchaind did not start" >&2; cat "$DIR/server.log" >&2; exit 1; }

echo "audit-bench: evchain -c supervisor.conf audit --format json -o findings.json"
TIMEV=
[ -x /usr/bin/time ] && TIMEV="/usr/bin/time -v"
srv_ticks() { awk '{ print $14 + $15 }' "/proc/$SRV/stat" 2>/dev/null || echo 0; }
load=$(cut -d' ' -f1 /proc/loadavg)
s0=$(srv_ticks)
t2=$(date +%s.%N)
set +e
$TIMEV "$BIN/evchain" -c "$DIR/dep/supervisor.conf" --server "127.0.0.1:$port" audit \
    --format json -o "$DIR/findings.json" 2>"$DIR/audit.err"
rc=$?
set -e
t3=$(date +%s.%N)
s1=$(srv_ticks)
hz=$(getconf CLK_TCK)
grep -v '^\s' "$DIR/audit.err" | grep -v '^Command' >&2 || true
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/audit.err")
cpu_u=$(sed -n 's/.*User time (seconds): //p' "$DIR/audit.err")
cpu_s=$(sed -n 's/.*System time (seconds): //p' "$DIR/audit.err")
[ $rc -eq 0 ] || { echo "audit-bench: evchain audit exited $rc" >&2; exit 1; }
findings=$(wc -l <"$DIR/findings.json")
cores=$(nproc)
model=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
awk -v n="$N" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" \
    -v f="$findings" -v rss="${rss:-0}" -v u="${cpu_u:-0}" -v s="${cpu_s:-0}" -v c="$cores" -v m="$model" -v mem="$mem" \
    -v st="$(( s1 - s0 ))" -v hz="$hz" -v load="$load" 'BEGIN {
	gen = t1 - t0; run = t3 - t2
	printf "audit-bench: %d entries written in %.1f s\n", n, gen
	printf "audit-bench: evchain audit: %d entries verified and audited in %.1f s (%.0f entries/s), %d findings\n",
	    n, run, n / run, f
	printf "audit-bench: client CPU %.1f s user + %.1f s system, peak RSS %.0f MiB; evchaind CPU %.1f s\n",
	    u, s, rss / 1024, st / hz
	printf "audit-bench: machine: %d cores (%s), %s, load average %s at the start; server and client on the same machine\n",
	    c, m, mem, load
}'
