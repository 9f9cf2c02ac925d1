#!/bin/sh
# gen_events.sh [SEED] — the sample events of the timecard example, NDJSON on
# stdout: one working day (2026-11-23) of four users, two sessions each
# (morning and afternoon), deterministic for a seed.
#
# In a session a user works in one application after another: long stretches
# (4-25 min), short switches to chat or the browser (30-100 s), one meeting in
# zoom a day (20-40 min, with a look at slack in the middle), and breaks on
# the lock screen (5-15 min).  Three clients report it, and every event's
# `time` is when the interval it reports starts:
#   Video Captured  the screen recorder: clips of 90-240 s of the application
#                   in focus (data.duration_ms), 1-15 s apart; now and then a
#                   clip is missing, and on the lock screen it writes an empty
#                   clip (duration_ms 0)
#   Audio Captured  the meeting recorder: chunks of 120 s of zoom's audio, for
#                   the whole meeting (also while slack has the focus)
#   App Usage       the usage client: the application in focus, reported in
#                   pieces of 7-10 min (focus_ms) that overlap by up to 5 s;
#                   one piece in eight is lost; it also reports the lock
#                   screen (application "idle") and background applications
#                   (foreground: false)
# About one event in 25 arrives 20-90 s late, so the file is not quite in
# time order.  The ids are tc-1, tc-2, ... in file order.
SEED=${1:-7}
awk -v seed="$SEED" '
# The Park-Miller generator: every product stays exact in a double.
function rnd(m) { state = (state * 16807) % 2147483647; return int(state / 64) % m }
function between(a, b) { return a + rnd(b - a + 1) }
function two(x) { return x < 10 ? "0" x : x }
function stamp(t) { return sprintf("2026-11-23T%s:%s:%sZ", two(int(t / 3600)), two(int(t % 3600 / 60)), two(t % 60)) }
function min(a, b) { return a < b ? a : b }

# One event: its time, detail-type, source and detail; printed with the
# time it arrives (a few arrive late) and its order, for the sort below.
function event(t, type, source, detail,   late) {
  late = rnd(25) == 0 ? between(20, 90) : 0
  n++
  printf "%d\t%d\t{\"version\":\"0\",\"id\":\"@ID@\",\"detail-type\":\"%s\",\"source\":\"%s\",\"account\":\"123456789012\",\"time\":\"%s\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{%s}}\n", t + late, n, type, source, stamp(t), detail
}
function head(app) {
  return sprintf("\"profile\":{\"session_id\":\"%s\",\"user\":\"%s\",\"device\":\"%s\"},\"application\":{\"name\":\"%s\",\"window\":\"%s\",\"pid\":%d}", session, user, device, app, window[app], pid[app])
}
function video(t, seconds, app) {
  clips++
  event(t, "Video Captured", "capture.client", sprintf("%s,\"data\":{\"uri\":\"s3://captures/%s/%d.mp4\",\"mime\":\"video/mp4\",\"bytes\":%d,\"duration_ms\":%d}", head(app), session, clips, seconds ? 40000 * seconds + rnd(200000) : 0, seconds * 1000))
}
function audio(t, seconds) {
  chunks++
  event(t, "Audio Captured", "capture.client", sprintf("%s,\"data\":{\"uri\":\"s3://audio/%s/%d.wav\",\"mime\":\"audio/wav\",\"bytes\":%d,\"duration_ms\":%d}", head("zoom"), session, chunks, 32000 * seconds, seconds * 1000))
}
function usage(t, seconds, app, foreground) {
  event(t, "App Usage", "usage.client", sprintf("%s,\"focus_ms\":%d,\"foreground\":%s", head(app), seconds * 1000, foreground ? "true" : "false"))
}

# The user works in `app` from t0 to t1: the recorder and the usage client report it.
function focus(app, t0, t1,   c, e, p, q, s) {
  for (c = t0 + rnd(10); c < t1 - 5; c = e + between(1, 15)) {
    e = min(c + between(90, 240), t1)
    if (rnd(15) != 0) video(c, e - c, app)
  }
  for (p = t0; p < t1; p = q) {
    q = min(p + between(420, 600), t1)
    s = p > t0 ? p - rnd(6) : p
    if (rnd(8) != 0) usage(s, q - s, app, 1)
    if (rnd(10) == 0) usage(p + between(10, 60), between(30, 300), other[app], 0)
  }
}
function meeting(t0, t1,   a, e, look, back) {
  for (a = t0; a < t1; a = e + rnd(3)) {
    e = min(a + 120, t1)
    audio(a, e - a)
  }
  look = t0 + between(600, t1 - t0 - 600)
  back = look + between(60, 180)
  focus("zoom", t0, look)
  focus("slack", look, back)
  focus("zoom", back, t1)
}

BEGIN {
  state = seed % 2147483646 + 1
  split("ana bo chen dara", users, " ")
  split("vscode terminal|figma chrome|chrome slack|vscode chrome", mains, "|")
  split("vscode slack chrome zoom idle terminal figma", apps, " ")
  split("main.c - efc|#general|Docs - EventBridge patterns|Weekly sync|Lock screen|~/efc$ make check|Design review", titles, "|")
  for (i = 1; i <= 7; i++) { window[apps[i]] = titles[i]; pid[apps[i]] = 1000 + i * 7 }
  other["vscode"] = "slack"; other["terminal"] = "slack"; other["figma"] = "chrome"; other["chrome"] = "slack"
  other["slack"] = "chrome"; other["zoom"] = "slack"
  for (u = 1; u <= 4; u++) {
    user = users[u]; device = "laptop-" u
    split(mains[u], main, " ")
    for (part = 1; part <= 2; part++) {
      session = "s-" user "-" part; clips = 0; chunks = 0
      t = part == 1 ? 8 * 3600 + 45 * 60 + rnd(1800) : 13 * 3600 + rnd(1800)
      start = t
      stop = part == 1 ? 12 * 3600 + rnd(1800) : 16 * 3600 + 30 * 60 + rnd(3600)
      meet = part == 2 - u % 2 ? t + between(1800, 5400) : stop
      while (t < stop - 60) {
        if (t >= meet && stop - t >= 1500) {
          end = min(t + between(1200, 2400), stop)
          meeting(t, end)
          meet = stop
        } else if (rnd(7) == 0 && t > start + 1800) {
          end = min(t + between(300, 900), stop)
          usage(t, end - t, "idle", 1)
          video(t + rnd(20), 0, "idle")
        } else if (rnd(10) < 3) {
          end = min(t + between(30, 100), stop)
          focus(rnd(2) ? "slack" : "chrome", t, end)
        } else {
          end = min(t + between(240, 1500), stop)
          focus(rnd(4) ? main[1 + rnd(2)] : apps[1 + rnd(3)], t, end)
        }
        t = end + rnd(4)
      }
    }
  }
}' | LC_ALL=C sort -t "$(printf '\t')" -k1,1n -k2,2n | awk -F '\t' '{ sub(/@ID@/, "tc-" NR, $3); print $3 }'
