#!/bin/sh
# run-fuzz.sh SECONDS FUZZER... — run each libFuzzer target for SECONDS on its
# seed corpus (tests/fuzz/corpus/<name>, copied so the repo stays clean),
# after replaying every saved crash input (tests/fuzz/regress/<name>/*) as a
# regression test. Prints inputs tried per target and a closing total.
# FUZZ_DIR (default build/fuzz) holds the working corpora and the logs.
set -eu
secs=$1; shift
dir=${FUZZ_DIR:-build/fuzz}
total=0; regress=0; n=0
for f in "$@"; do
	name=$(basename "$f" | sed 's/^fuzz_//')
	work=$dir/corpus/$name
	mkdir -p "$work" tests/fuzz/artifacts
	[ -d "tests/fuzz/corpus/$name" ] && cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
	if [ -d "tests/fuzz/regress/$name" ]; then
		for r in tests/fuzz/regress/"$name"/*; do
			[ -f "$r" ] || continue
			"$f" -timeout=25 "$r" >"$dir/$name.regress.log" 2>&1 || {
				tail -n 30 "$dir/$name.regress.log"
				echo "fuzz $name: regression input $r fails"; exit 1; }
			regress=$((regress + 1))
		done
	fi
	echo "fuzz $name: ${secs}s"
	"$f" -max_total_time="$secs" -timeout=25 -print_final_stats=1 \
	    -artifact_prefix=tests/fuzz/artifacts/"$name"- "$work" 2>"$dir/$name.log" || {
		tail -n 30 "$dir/$name.log"
		echo "fuzz $name: FAILED; the input is in tests/fuzz/artifacts/ — once fixed, keep it in tests/fuzz/regress/$name/"
		exit 1; }
	units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$name.log" | tail -n 1)
	echo "fuzz $name: ${units:-0} inputs tried"
	total=$((total + ${units:-0})); n=$((n + 1))
done
echo "fuzz: $n targets, $total inputs tried, ${secs}s each, $regress regression inputs replayed"
