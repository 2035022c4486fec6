#!/bin/sh
# run-tests.sh — run each test binary given, show its output, and print one
# closing line "N passed, N failed" over all of them (also into $SUMMARY when
# set). Exit 1 on any failure.
set -u
passed=0; failed=0; bad=""
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out" | tail -n 40
	line=$(printf '%s\n' "$out" | grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
		passed=$((passed + p)); failed=$((failed + f))
	fi
	if [ $rc -ne 0 ]; then
		bad="$bad $(basename "$t")"
		[ -z "$line" ] && failed=$((failed + 1)) && echo "$(basename "$t"): exited $rc without a summary"
	fi
done
[ -n "$bad" ] && echo "failing:$bad"
echo "$passed passed, $failed failed"
[ -n "${SUMMARY:-}" ] && echo "$passed passed, $failed failed" >"$SUMMARY"
[ -z "$bad" ] && [ "$failed" -eq 0 ]
