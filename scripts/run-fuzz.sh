#!/bin/sh
# run-fuzz.sh SECONDS FUZZER... — run each libFuzzer target for SECONDS on its
# seed corpus (tests/fuzz/corpus/<name>, copied so the repo stays clean) and
# every saved crash input (tests/fuzz/regress/<name>/*) as a regression test.
set -eu
secs=$1; shift
for f in "$@"; do
	name=$(basename "$f" | sed 's/^fuzz_//')
	work=build/fuzz/corpus/$name
	mkdir -p "$work" tests/fuzz/artifacts
	[ -d "tests/fuzz/corpus/$name" ] && cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
	if [ -d "tests/fuzz/regress/$name" ]; then
		"$f" tests/fuzz/regress/"$name"/* >/dev/null 2>&1 || { echo "fuzz $name: regression input crashes"; exit 1; }
	fi
	echo "fuzz $name: ${secs}s"
	"$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=tests/fuzz/artifacts/"$name"- \
	    "$work" 2>build/fuzz/"$name".log || { tail -n 30 build/fuzz/"$name".log; exit 1; }
	grep -E 'stat::number_of_executed_units' build/fuzz/"$name".log | sed "s/^/fuzz $name: /"
done
