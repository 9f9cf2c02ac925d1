#!/bin/sh
# gen_events.sh [N] [SEED] — the sample input of the knowledge-base example
# (events.ndjson was made with `sh gen_events.sh 300 7`): app-usage pings,
# screen captures and call recordings of three people over a morning, with
# URIs into blobs/.  Deterministic for a seed (its own generator, so any awk
# gives the same output).
N=${1:-300}
SEED=${2:-7}
exec awk -v n="$N" -v seed="$SEED" '
function rnd(m) { state = (state * 1103515245 + 12345) % 2147483648; return int(state / 16) % m }
function two(x) { return x < 10 ? "0" x : x }
function stamp(t,   h, mi, s) {
  h = int(t / 3600); t -= h * 3600; mi = int(t / 60); s = t - mi * 60
  return sprintf("2026-11-23T%s:%s:%sZ", two(h), two(mi), two(s))
}
function envelope(dt, src, body) {
  printf "{\"version\":\"0\",\"id\":\"kb-%d\",\"detail-type\":\"%s\",\"source\":\"%s\",\"account\":\"123456789012\",\"time\":\"%s\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":%s}\n", i, dt, src, stamp(t), body
}
BEGIN {
  state = seed
  split("ana bo dara", users, " ")
  # per user: app|window|screenshot (blobs/screens/, "" if never captured)
  w["ana", 1] = "code|kb.flow - efc - Visual Studio Code|editor.png"
  w["ana", 2] = "terminal|~/efc$ make check|terminal.png"
  w["ana", 3] = "chrome|Docs - EventBridge event patterns|"
  w["ana", 4] = "slack|#efc-dev - Slack|"
  w["ana", 5] = "zoom|Standup - Team EFC|slides.png"
  w["bo", 1] = "figma|Onboarding flow - Figma|slides.png"
  w["bo", 2] = "excel|Q4 budget.xlsx - Excel|"
  w["bo", 3] = "chrome|Amazon Bedrock pricing - Google Chrome|"
  w["bo", 4] = "chrome|Private Browsing - Google Chrome|editor.png"
  w["bo", 5] = "zoom|Design review - Onboarding|slides.png"
  w["dara", 1] = "terminal|ssh prod-db-1: tail -f /var/log/api.log|terminal.png"
  w["dara", 2] = "chrome|Grafana - API latency dashboard|dashboard.png"
  w["dara", 3] = "code|view_indexer.c - efc - Visual Studio Code|editor.png"
  w["dara", 4] = "notion|Runbook: SQLite WAL checkpoints - Notion|"
  w["dara", 5] = "zoom|Incident call - API latency|dashboard.png"
  ip["ana"] = "10.0.1.15"; ip["bo"] = "10.0.2.20"; ip["dara"] = "10.0.3.9"
  t = 9 * 3600
  for (i = 1; i <= n; i++) {
    t += 10 + rnd(40)
    u = users[1 + rnd(3)]
    k = 1 + rnd(5)
    if (rnd(12) == 0) k = 0
    split(k ? w[u, k] : "idle|Lock screen|", f, "|")
    prof = sprintf("{\"session_id\":\"s-%s-1\",\"user\":\"%s\",\"device\":\"laptop-%s\"}", u, u, u)
    app = sprintf("{\"name\":\"%s\",\"window\":\"%s\",\"pid\":%d}", f[1], f[2], 1000 + k * 7)
    kind = rnd(10)
    if (f[1] == "zoom" && u != "bo" && kind < 3) {
      # a call recording: the standup of ana or the incident call of dara; some too short
      clip = u == "ana" ? "standup" : "incident"
      ms = rnd(100) >= 75 ? 800 + rnd(600) : (clip == "standup" ? 2740 : 1837)
      envelope("Audio Captured", "capture.client", sprintf("{\"profile\":%s,\"application\":%s,\"data\":{\"uri\":\"audio/%s.wav\",\"mime\":\"audio/wav\",\"bytes\":%d,\"duration_ms\":%d}}", prof, app, clip, clip == "standup" ? 87706 : 58824, ms))
    } else if (f[3] != "" && kind < 6) {
      # a screenshot; bo sometimes works from home (not the office network)
      addr = u == "bo" && rnd(3) == 0 ? "192.168.1.7" : ip[u]
      envelope("Screen Captured", "capture.client", sprintf("{\"profile\":%s,\"application\":%s,\"data\":{\"uri\":\"screens/%s\",\"mime\":\"image/png\",\"bytes\":%d},\"source_ip\":\"%s\"}", prof, app, f[3], 100 + rnd(200), addr))
    } else {
      envelope("App Usage", "usage.client", sprintf("{\"profile\":%s,\"application\":%s,\"focus_ms\":%d,\"foreground\":%s}", prof, app, 5000 + rnd(600000), rnd(5) ? "true" : "false"))
    }
  }
}'
