#!/usr/bin/env bash
# Round trip of the bytecode image through the real binary: compile, load,
# verify, disassemble; a flipped byte anywhere or a truncation is rejected
# with a clear message and exit status 1, never a crash.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$EFC" compile examples/timecard/timecard.flow -o "$TMP/out" 2>/dev/null
ok $? "compile the timecard example"
efb="$TMP/out/timecard.efb"
"$EFC" disasm "$efb" > "$TMP/listing"
ok $? "disasm loads and verifies the image"
grep -q '^entry 0: flow "video"' "$TMP/listing" && grep -q '^entry 4: flow "timecard"' "$TMP/listing" &&
  grep -q 'call "intervals"' "$TMP/listing"
ok $? "the listing shows the flow entry and its stages"
size=$(stat -c %s "$efb")
# About 340 offsets spread over the whole image (each try starts a few
# processes: every 7th byte of a 7 KB image took two minutes).
step=$((size / 340 + 1))
rejected=0 crashed=0 tries=0
for off in $(seq 0 $step $((size - 1))); do
  cp "$efb" "$TMP/bad.efb"
  byte=$(od -An -tu1 -j "$off" -N1 "$efb" | tr -d ' ')
  printf "$(printf '\\%03o' $(( (byte ^ 0x5a) & 255 )))" | dd of="$TMP/bad.efb" bs=1 seek="$off" conv=notrunc status=none
  "$EFC" disasm "$TMP/bad.efb" >/dev/null 2>"$TMP/err"
  rc=$?
  tries=$((tries + 1))
  [ $rc -eq 1 ] && rejected=$((rejected + 1))
  [ $rc -gt 1 ] && crashed=$((crashed + 1))
done
[ $rejected -eq $tries ]
ok $? "every flipped byte is rejected ($rejected of $tries offsets)"
[ $crashed -eq 0 ]
ok $? "no flipped byte crashes the loader"
cp "$efb" "$TMP/bad.efb"
printf '\377' | dd of="$TMP/bad.efb" bs=1 seek=40 conv=notrunc status=none
"$EFC" disasm "$TMP/bad.efb" 2>"$TMP/err" >/dev/null
grep -q 'checksum mismatch' "$TMP/err"
ok $? "a changed byte is reported as a checksum mismatch"
for len in 0 3 15 16 17 $((size / 2)) $((size - 1)); do
  head -c "$len" "$efb" > "$TMP/short.efb"
  "$EFC" disasm "$TMP/short.efb" >/dev/null 2>"$TMP/err"
  [ $? -eq 1 ] && [ -s "$TMP/err" ]
  ok $? "an image truncated to $len bytes is rejected: $(head -c 100 "$TMP/err")"
done
printf 'not an image at all, just text\n' > "$TMP/text.efb"
"$EFC" disasm "$TMP/text.efb" 2>"$TMP/err" >/dev/null
[ $? -eq 1 ] && grep -q 'magic' "$TMP/err"
ok $? "a file that is not an image is rejected for its magic number"
"$EFC" disasm "$TMP/nonexistent.efb" 2>"$TMP/err" >/dev/null
[ $? -eq 1 ] && grep -q 'nonexistent.efb' "$TMP/err"
ok $? "a missing file is reported with its name"
done_testing
