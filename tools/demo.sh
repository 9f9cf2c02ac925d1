#!/bin/sh
# `make demo`: compile the timecard example, run it, and show what came out.
set -e
EFC=${1:-build/efc}
OUT=out/timecard
echo "== efc check examples/timecard/timecard.flow"
"$EFC" check examples/timecard/timecard.flow && echo "no errors"
echo
echo "== efc explain: what EventBridge filters, what the runtime checks"
"$EFC" explain examples/timecard/timecard.flow
echo
echo "== efc compile examples/timecard/timecard.flow -o $OUT"
"$EFC" compile examples/timecard/timecard.flow -o "$OUT"
ls -l "$OUT"
echo
echo "== the EventBridge rule (rules.json, first rule)"
if command -v jq >/dev/null; then jq '.[0]' "$OUT/rules.json"; else head -20 "$OUT/rules.json"; fi
echo
echo "== the bytecode (efc disasm $OUT/timecard.efb, first lines)"
"$EFC" disasm "$OUT/timecard.efb" | head -30
echo
echo "== efc run: the whole app over a day of video, audio and app-usage events, as EventBridge would route them"
"$EFC" run examples/timecard/timecard.flow --events examples/timecard/events.ndjson --drain \
  --out "$OUT/timecards.ndjson" --dead-letter "$OUT/dead-letter.ndjson"
if command -v jq >/dev/null; then
  echo "what was emitted ($OUT/timecards.ndjson):"
  jq -r '."detail-type"' "$OUT/timecards.ndjson" | sort | uniq -c
  echo "the blocks and the timecard of ana's morning in vscode:"
  jq -c 'select(."detail-type" != "Activity" and .detail.session == "s-ana-1" and .detail.app == "vscode")
         | {type: ."detail-type", time} + .detail' "$OUT/timecards.ndjson"
else
  grep -m3 TimecardEntry "$OUT/timecards.ndjson"
fi
echo
echo "== and a mistake, as the compiler reports it"
printf 'import std.envelope\nevent Shot from "capture.client" extends Envelope {}\nevent Out { app: string }\nflow f {\n  on Shot where aplication.name == "x"\n  | map { app: application.name }\n  -> emit Out\n}\n' > "$OUT/mistake.flow"
"$EFC" check "$OUT/mistake.flow" || true
