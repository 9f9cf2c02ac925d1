#!/usr/bin/env bash
# `efc test-event-pattern`, the local twin of `aws events test-event-pattern`:
# results, file:// arguments, refused patterns (EventBridge's reason, exit 1),
# events that are not JSON objects (exit 1), usage errors (exit 2), --help.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

# tep EXPECTED_STDOUT EXPECTED_STATUS NAME ARGS...
tep() {
  local want_out=$1 want_rc=$2 name=$3
  shift 3
  "$EFC" test-event-pattern "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" -eq "$want_rc" ] && [ "$(cat "$TMP/out")" = "$want_out" ]; then
    ok 0 "$name"
  else
    ok 1 "$name"
    { echo "status $rc (want $want_rc), stdout:"; cat "$TMP/out"; echo "stderr:"; cat "$TMP/err"; } | diag
  fi
}

T='{"Result": true}'
F='{"Result": false}'
EC2='{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],"detail":{"instance-id":"i-1234567890abcdef0","state":"terminated"}}'
TERM='{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}'

tep "$T" 0 "the User Guide's EC2 termination example matches" --event-pattern "$TERM" --event "$EC2"
tep "$F" 0 "a different state does not" --event-pattern '{"detail":{"state":["running"]}}' --event "$EC2"
tep "$T" 0 "the event needs no envelope" --event-pattern '{"detail":{"n":[{"numeric":[">",0,"<=",5]}]}}' --event '{"detail":{"n":5}}'
tep "$T" 0 "numbers written differently are equal" --event-pattern '{"n":[300]}' --event '{"n":3.0e2}'
tep "$F" 0 "a string is not a number" --event-pattern '{"n":[300]}' --event '{"n":"300"}'
tep "$T" 0 "exists false on an absent field" --event-pattern '{"detail":{"c-count":[{"exists":false}]}}' --event '{"detail":{}}'
tep "$F" 0 "array consistency" --event-pattern '{"e":{"first":["Anna"],"last":["Jones"]}}' \
  --event '{"e":[{"first":"Anna","last":"Smith"},{"first":"Peter","last":"Jones"}]}'
tep "$T" 0 "\$or, cidr and wildcard" \
  --event-pattern '{"$or":[{"ip":[{"cidr":"10.0.0.0/24"}]},{"f":[{"wildcard":"dir/*.png"}]}]}' --event '{"ip":"10.0.0.9"}'
tep "$T" 0 "--opt=value spelling" "--event-pattern=$TERM" "--event=$EC2"

printf '%s\n' "$TERM" > "$TMP/pattern.json"
printf '%s\n' "$EC2" > "$TMP/event.json"
tep "$T" 0 "file:// for both arguments" --event-pattern "file://$TMP/pattern.json" --event "file://$TMP/event.json"
tep "$T" 0 "file:// for one argument" --event-pattern "file://$TMP/pattern.json" --event "$EC2"
tep "$T" 0 "file://- reads standard input" --event-pattern "$TERM" --event file://- < "$TMP/event.json"
tep "" 1 "a missing file is an error" --event-pattern "file://$TMP/nope.json" --event "$EC2"
grep -q "cannot read pattern $TMP/nope.json" "$TMP/err"
ok $? "  ... naming the file"

tep "" 1 "an invalid pattern: exit 1" --event-pattern '{"source":"aws.ec2"}' --event "$EC2"
grep -qx 'InvalidEventPatternException: Event pattern is not valid. Reason: "source" must be an object or an array at source' "$TMP/err"
ok $? "  ... InvalidEventPatternException with EventBridge's reason"
tep "" 1 "an unknown operator" --event-pattern '{"a":[{"contains":"x"}]}' --event '{}'
grep -q '^InvalidEventPatternException: .*Unrecognized match type contains' "$TMP/err"
ok $? "  ... names it"
tep "" 1 "a pattern that is not JSON" --event-pattern "{'source': ['aws.ec2']}" --event '{}'
grep -q '^InvalidEventPatternException: .*not valid JSON' "$TMP/err"
ok $? "  ... says so"
tep "" 1 "an empty value list" --event-pattern '{"resources":[]}' --event '{}'
grep -q 'Empty arrays are not allowed' "$TMP/err"
ok $? "  ... says so"

tep "" 1 "an event that is not JSON: exit 1" --event-pattern "$TERM" --event '{"source": aws.ec2}'
grep -q 'the event is not valid JSON' "$TMP/err"
ok $? "  ... says so"
tep "" 1 "an event with NaN" --event-pattern "$TERM" --event '{"n": NaN}'
tep "" 1 "an event with single quotes" --event-pattern "$TERM" --event "{'source': 'aws.ec2'}"
tep "" 1 "an event with text after it" --event-pattern "$TERM" --event '{} {}'
tep "" 1 "an event that is an array" --event-pattern "$TERM" --event '["aws.ec2"]'
grep -q 'must be a JSON object' "$TMP/err"
ok $? "  ... says so"
tep "" 1 "a truncated event" --event-pattern "$TERM" --event '{"source":"aws.'

tep "" 2 "no arguments: usage error" 
tep "" 2 "a missing --event: usage error" --event-pattern "$TERM"
tep "" 2 "an unknown option: usage error" --event-pattern "$TERM" --event "$EC2" --bogus
grep -q '^usage: efc test-event-pattern' "$TMP/err"
ok $? "  ... prints the usage"

"$EFC" test-event-pattern --help > "$TMP/help"
ok $? "--help exits 0"
grep -q -- '--event-pattern PATTERN --event EVENT' "$TMP/help" && grep -q 'file://' "$TMP/help"
ok $? "--help describes the arguments"
"$EFC" help test-event-pattern | cmp -s - "$TMP/help"
ok $? "efc help test-event-pattern prints the same"
"$EFC" --help | grep -q '^  test-event-pattern '
ok $? "efc --help lists the command"

done_testing
