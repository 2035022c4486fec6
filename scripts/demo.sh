#!/bin/sh
# demo.sh — evchain's main job, end to end, on this machine (README "Demo").
#
# A dev deployment, the server, one realistic inspection from the seed
# regulation (plan filed, scan-in by two officers, both certificates verified
# by the company, a video and a photo as evidence, a disposition with a
# deadline, the company's rating), two witnesses cosigning, the checkpoint, a
# proof, the court's bundle verified offline against the media files — and the
# same check failing after one byte of the video is changed. The directory is
# left to explore.
set -eu

DIR=${DEMO_DIR:-demo}
PORT=${DEMO_PORT:-7810}
B=bin
INSP=LC-SCJG-2025-0001

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

if [ -e "$DIR" ]; then
	if [ -f "$DIR/.evchain-demo" ]; then
		rm -rf "$DIR"
	else
		echo "demo: $DIR exists and was not made by the demo; set DEMO_DIR" >&2
		exit 1
	fi
fi

say "1. A local deployment: CA, certificates, keys, profiles (evchain-keys dev)"
run $B/evchain-keys dev "$DIR" --port "$PORT" >/dev/null
touch "$DIR/.evchain-demo"
ls "$DIR"

say "2. The log server (evchaind), log in $DIR/evchaind.log"
$B/evchaind -c "$DIR/evchaind.conf" >"$DIR/evchaind.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT INT TERM
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q 'listening on' "$DIR/evchaind.log" 2>/dev/null && break
	sleep 0.2
done
cat "$DIR/evchaind.log"

say "3. The log operator registers the platform node's key (a signed log entry)"
run $B/evchain -c "$DIR/admin.conf" register-node "$DIR/node.pub" --agency 聊城市市场监督管理局

say "4. The inspection: plan, scan-in, certificate checks (records signed by the node)"
{
	$B/evchain example inspection_plan
	$B/evchain example scan_in
	$B/evchain example certificate_check
	$B/evchain example certificate_check | sed 's/LC-ZF-250101/LC-ZF-250102/g; s/张伟/李娜/g'
} >"$DIR/inspection.jsonl"
run $B/evchain -c "$DIR/node.conf" submit "$DIR/inspection.jsonl"

say "5. Evidence: a short video and a photo, hashed and recorded (the files stay off the log)"
if command -v ffmpeg >/dev/null 2>&1; then
	ffmpeg -loglevel error -f lavfi -i testsrc=duration=3:size=320x240:rate=25 \
	    -pix_fmt yuv420p "$DIR/scene.mp4"
	ffmpeg -loglevel error -f lavfi -i testsrc=size=640x480 -frames:v 1 "$DIR/exit-blocked.jpg"
else
	# No ffmpeg: stand-in media files of the same sizes.
	head -c 180000 /dev/urandom >"$DIR/scene.mp4"
	head -c 40000 /dev/urandom >"$DIR/exit-blocked.jpg"
fi
run $B/evchain -c "$DIR/node.conf" hash "$DIR/scene.mp4" "$DIR/exit-blocked.jpg"
run $B/evchain -c "$DIR/node.conf" evidence --inspection "$INSP" --media "$DIR/scene.mp4" \
    --kind FULL_PROCESS_RECORDING --evidence-id "$INSP-E01" \
    --start 2025-05-12T09:30:00+08:00 --end 2025-05-12T10:45:00+08:00 \
    --place "聊城市东昌府区示例路88号 生产车间" --lat 36.4567 --lon 115.9853 \
    --recorder 张伟 --recorder-cert LC-ZF-250101 \
    --proves "检查全过程音像记录：生产车间、成品仓库检查及告知" --company 91371502MA0EXAMP1R
run $B/evchain -c "$DIR/node.conf" evidence --inspection "$INSP" --media "$DIR/exit-blocked.jpg" \
    --kind PHOTO --evidence-id "$INSP-E02" \
    --start 2025-05-12T10:05:00+08:00 --end 2025-05-12T10:05:00+08:00 \
    --place "聊城市东昌府区示例路88号 成品仓库" --lat 36.4568 --lon 115.9855 \
    --recorder 李娜 --recorder-cert LC-ZF-250102 \
    --proves "成品包装未标注生产者名称和地址" --company 91371502MA0EXAMP1R

say "6. The disposition (限期改正 with a deadline) and the company's rating"
{
	$B/evchain example disposition
	$B/evchain example company_feedback
} | run $B/evchain -c "$DIR/node.conf" submit

say "7. Two independent witnesses (supervision authority, discipline commission) check and cosign"
run $B/evchain-witness -c "$DIR/witness-supervisor.conf" --once
run $B/evchain-witness -c "$DIR/witness-discipline.conf" --once

say "8. The checkpoint as a court sees it: the log's signature and both cosignatures"
run $B/evchain -c "$DIR/court.conf" checkpoint --witnesses 2

say "9. A C2SP tlog-proof of the scan-in entry"
run $B/evchain -c "$DIR/court.conf" prove 3 | tee "$DIR/scan-in.tlog-proof"

say "10. The court exports the inspection's evidence bundle"
run $B/evchain -c "$DIR/court.conf" export --inspection "$INSP" -o "$DIR/$INSP.bundle" \
    --witnesses 2 --tlog-proof "$DIR/tlog-proofs"

say "11. Offline verification against the media files, both witnesses required (no network)"
run $B/evchain-verify bundle "$DIR/$INSP.bundle" --log-key "$DIR/log.pub" \
    --witness "$DIR/witness-supervisor.pub" --witness "$DIR/witness-discipline.pub" --quorum 2 \
    --media "$DIR/scene.mp4" --media "$DIR/exit-blocked.jpg" --html "$DIR/report.html"

say "12. One byte of the video changed: the verification fails on that file"
cp "$DIR/scene.mp4" "$DIR/scene-tampered.mp4"
printf 'X' | dd of="$DIR/scene-tampered.mp4" bs=1 seek=1000 conv=notrunc 2>/dev/null
if $B/evchain-verify bundle "$DIR/$INSP.bundle" --log-key "$DIR/log.pub" \
    --witness "$DIR/witness-supervisor.pub" --witness "$DIR/witness-discipline.pub" --quorum 2 \
    --media "$DIR/scene-tampered.mp4" --media "$DIR/exit-blocked.jpg"; then
	echo "demo: the tampered video was NOT detected" >&2
	exit 1
fi
echo "(exit status 1: the tampered file is refused, as it must be)"

say "13. Stop the server (SIGTERM) and audit the whole ledger offline"
kill -TERM $SRV
wait $SRV || true
trap - EXIT INT TERM
tail -n 2 "$DIR/evchaind.log"
run $B/evchain-verify ledger "$DIR/data" --log-key "$DIR/log.pub"

say "Done. Explore $DIR: profiles (*.conf), the bundle, report.html, tlog-proofs/, data/, witness states"
echo "Restart the server with: $B/evchaind -c $DIR/evchaind.conf"
