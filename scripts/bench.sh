#!/bin/sh
# bench.sh [RUNS] — the README's benchmark table, measured: a fresh dev
# deployment in a temporary directory, then each evchain-bench mode RUNS
# times (default 5), printing every run's figures and their medians. Run it
# on a quiet machine: evchain-bench says when others disturbed a run.
#   ingest    500,000 records a run, 4 connections x 256 x 4 (the log grows
#             from empty by 500,000 a run)
#   latency   5,000 records/s offered for 20 s
#   fill      to 1,000,000 entries, if the log is smaller
#   proofs    10 s of inclusion proofs over the whole log
set -eu
runs=${1:-5}
bin=${BIN:-bin}
port=${BENCH_PORT:-7977}
dir=$(mktemp -d "${TMPDIR:-/tmp}/evchain-bench.XXXXXX")
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"$bin/evchain-keys" dev "$dir/d" --port "$port" >/dev/null
"$bin/evchaind" -c "$dir/d/evchaind.conf" 2>"$dir/server.log" &
srv=$!
i=0
until "$bin/evchain" -c "$dir/d/admin.conf" status >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$dir/server.log"; exit 1; }; sleep 0.1
done
"$bin/evchain" -c "$dir/d/admin.conf" register-node "$dir/d/node.pub" --agency bench >/dev/null

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# field NAME of the --json line (a number)
field() { sed -n "s/.*\"$1\": *\\([-0-9.e+]*\\).*/\\1/p" | head -n 1; }

bench() { "$bin/evchain-bench" "$@" --json 2>/dev/null | tail -n 1; }

series() { # LABEL FIELD... -- BENCH-ARGS
	label=$1; shift
	fields=
	while [ "$1" != "--" ]; do fields="$fields $1"; shift; done
	shift
	echo "== $label: evchain-bench $*"
	: >"$dir/series"
	n=0
	while [ $n -lt "$runs" ]; do
		j=$(bench "$@")
		line="   run $((n + 1)):"
		for f in $fields; do
			v=$(echo "$j" | field "$f")
			line="$line $f=$v"
			echo "$f $v" >>"$dir/series"
		done
		case "$j" in *'"disturbed": true'*) line="$line (DISTURBED)";; esac
		echo "$line"
		n=$((n + 1))
	done
	line="   median:"
	for f in $fields; do
		line="$line $f=$(grep "^$f " "$dir/series" | cut -d' ' -f2 | median)"
	done
	echo "$line"
}

node="-c $dir/d/node.conf"
court="-c $dir/d/court.conf"
series "ingest" records_per_s ratio ratio_all_cores verify_rate_per_s verify_rate_all_cores server_rss_anon_mib_max ledger_bytes_per_entry tree_size -- \
	$node --mode ingest --records 500000 --connections 4 --batch 256 --window 4 --data "$dir/d/data"
series "latency at 5,000 records/s offered" p99 p50 max -- \
	$node --mode latency --rate 5000 --duration 20
have=$(bench $court --mode proofs --duration 1 | field tree_size)
if [ "${have:-0}" -lt 1000000 ]; then
	echo "== fill to 1,000,000 entries"
	bench $node --mode fill --records $((1000000 - ${have:-0})) >/dev/null
fi
series "inclusion proofs" proofs_per_s tree_size -- $court --mode proofs --duration 10
