#!/bin/sh
# efc run benchmark (issue 3).  Prints events/s and ratios, in one run:
#   1. efc run on bench/select.flow (select by two fields, emit a 3-field
#      projection) against `jq -c 'select(...) | {...}'` on the same file;
#   2. efc run against the floor: a plain json-c parse loop (bench/parse_floor.c);
#   3. matching 10, 100, 1,000 and 10,000 rules (generated flows, all
#      compiled into one match structure) on the same events;
#   4. peak memory of a stateless run over N/10 and N events.
# Usage: sh bench/run.sh [EFC] [N]   (N events, default 1,000,000 of ~1 KB)
set -e
EFC=${1:-build/efc}
N=${2:-1000000}
DIR=${BENCH_DIR:-/tmp/efc-bench}
mkdir -p "$DIR"
here=$(dirname "$0")
events="$DIR/events-$N.ndjson"
if [ ! -s "$events" ]; then
  echo "generating $N events of the standard envelope (~1 KB each) in $events ..."
  sh "$here/../tools/gen_events.sh" "$N" 1 560 > "$events"
fi
small="$DIR/events-$((N / 10)).ndjson"
[ -s "$small" ] || head -n $((N / 10)) "$events" > "$small"
bytes=$(stat -c %s "$events")
cc -O2 -o "$DIR/parse_floor" "$here/parse_floor.c" $(pkg-config --cflags --libs json-c)

# user+sys CPU seconds of a command (the machine may be shared: wall time lies)
cpu() {
  /usr/bin/time -f "%U %S %M" -o "$DIR/time" "$@" >/dev/null 2>"$DIR/stderr" || { cat "$DIR/stderr" >&2; exit 1; }
  awk '{ printf "%.3f", $1 + $2 }' "$DIR/time"
}
peak_kb() { awk '{ print $3 }' "$DIR/time"; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "input: $N events, $((bytes / N)) bytes each on average"
t_efc=$(cpu "$EFC" run "$here/select.flow" --events "$events" --out "$DIR/efc.out")
t_jq=$(cpu jq -c 'select(.["detail-type"] == "Screen Captured" and .source == "capture.client" and .detail.application.name == "vscode" and .detail.data.bytes > 100000) | {user: .detail.profile.user, app: .detail.application.name, bytes: .detail.data.bytes}' "$events")
t_floor=$(cpu "$DIR/parse_floor" "$events")
t_floor_mb=$(cpu "$DIR/parse_floor" "$events" 1048576)
r_efc=$(rate "$N" "$t_efc"); r_jq=$(rate "$N" "$t_jq"); r_floor=$(rate "$N" "$t_floor"); r_floor_mb=$(rate "$N" "$t_floor_mb")
echo
echo "| run | CPU s | events/s |"
echo "|---|---:|---:|"
echo "| efc run (select + 3-field projection) | $t_efc | $r_efc |"
echo "| jq -c 'select(...) | {...}' | $t_jq | $r_jq |"
echo "| json-c parse loop (floor) | $t_floor | $r_floor |"
echo "| the floor, reading with efc's 1 MB buffer | $t_floor_mb | $r_floor_mb |"
echo
echo "efc / jq:    $(ratio "$r_efc" "$r_jq")x   (target >= 2)"
echo "efc / floor: $(ratio "$r_efc" "$r_floor")    (target >= 0.8)"
echo "efc / floor with the same 1 MB buffer: $(ratio "$r_efc" "$r_floor_mb")"
echo "selected: efc $(wc -l < "$DIR/efc.out") events"

# CPU time moves with the machine's load; instruction counts do not.  The
# same three programs under callgrind on the first 10,000 events:
if command -v valgrind >/dev/null; then
  tenk="$DIR/events-10k.ndjson"
  head -n 10000 "$events" > "$tenk"
  instr() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ { print $4 }'; }
  i_efc=$(instr "$EFC" run "$here/select.flow" --events "$tenk" --out /dev/null)
  i_jq=$(instr jq -c 'select(.["detail-type"] == "Screen Captured" and .source == "capture.client" and .detail.application.name == "vscode" and .detail.data.bytes > 100000) | {user: .detail.profile.user, app: .detail.application.name, bytes: .detail.data.bytes}' "$tenk")
  i_floor=$(instr "$DIR/parse_floor" "$tenk")
  echo
  echo "instructions for 10,000 events (callgrind): efc $i_efc, jq $i_jq, parse floor $i_floor"
  echo "efc / jq:    $(ratio "$i_jq" "$i_efc")x fewer instructions   (target >= 2)"
  echo "efc / floor: $(ratio "$i_floor" "$i_efc") of the floor's speed  (target >= 0.8)"
fi

echo
echo "| rules | setup CPU s | matching CPU s | events/s | time vs 10 rules |"
echo "|---:|---:|---:|---:|---:|"
: > "$DIR/empty.ndjson"
base=""
for rules in 10 100 1000 10000; do
  flow="$DIR/rules-$rules.flow"
  awk -v n="$rules" 'BEGIN {
    print "import std.envelope"
    print "event ScreenCaptured from \"capture.client\" as \"Screen Captured\" extends Envelope { text: string? }"
    print "event Out { user: string, n: int }"
    for (i = 0; i < n; i++) {
      printf "event In%d from \"bench.src%d\" as \"Kind %d\" extends Envelope {}\n", i, i % 50, i
      printf "flow f%d {\n  on In%d where application.name == \"app%d\" and data.bytes > %d\n  | map { user: profile.user, n: %d }\n  -> emit Out\n}\n", i, i, i, i, i
    }
    print "flow hit {\n  on ScreenCaptured where application.name prefix \"vs\" and data.bytes > 100000\n  | map { user: profile.user, n: 0 }\n  -> emit Out\n}"
  }' > "$flow"
  "$EFC" compile "$flow" -o "$DIR/rules-$rules" >/dev/null
  # loading the image and compiling the rule set is paid once per run: measure it apart
  setup=$(cpu "$EFC" run "$DIR/rules-$rules" --events "$DIR/empty.ndjson" --out /dev/null)
  total=$(cpu "$EFC" run "$DIR/rules-$rules" --events "$small" --out /dev/null)
  t=$(awk -v a="$total" -v b="$setup" 'BEGIN { d = a - b; printf "%.3f", (d > 0.001 ? d : 0.001) }')
  [ -n "$base" ] || base=$t
  echo "| $rules | $setup | $t | $(rate $((N / 10)) "$t") | $(ratio "$t" "$base")x |"
done
echo "(target: 10,000 rules at most 2x the time of 10)"

echo
cpu "$EFC" run "$here/select.flow" --events "$small" --out /dev/null >/dev/null; m_small=$(peak_kb)
cpu "$EFC" run "$here/select.flow" --events "$events" --out /dev/null >/dev/null; m_big=$(peak_kb)
echo "peak memory of a stateless run: $((m_small / 1024)) MB over $((N / 10)) events, $((m_big / 1024)) MB over $N events"
