#!/bin/sh
# Generates a realistic .flow program of about N lines (default 5000):
# events extending the standard envelope, flows with pushable and residual
# predicates, aggregators, maps and routes.
N=${1:-5000}
awk -v n="$N" 'BEGIN {
  print "import std.envelope"
  print "import std.filters"
  print "import std.views"
  print ""
  lines = 4
  for (i = 0; lines < n; i++) {
    printf "event Raw%d from \"bench.source%d\" as \"Raw Event %d\" extends Envelope {\n", i, i % 7, i
    print "  score: float"
    print "  tags: [string]"
    print "  region_code: string?"
    print "}"
    print ""
    printf "event Out%d {\n  user: string\n  app: string\n  total: int\n  best: float\n  label: string\n}\n\n", i
    printf "flow flow%d {\n", i
    printf "  on Raw%d where data.bytes > %d and application.name != \"idle\" and (region_code prefix \"eu-\" or region_code == \"us-east-1\") and len(profile.user) > 2\n", i, i
    print  "  | where score * 2.0 > 1.0"
    print  "  | aggregator("
    print  "      by: [profile.user, application.name],"
    print  "      keep: { user: first(profile.user), total: sum(data.bytes), best: max(score) },"
    print  "      count: 10,"
    print  "      after: 5m,"
    print  "    )"
    printf "  | map { user: user, app: string(key[1]), total: total, best: best, label: if best > 0.5 then \"high\" else \"low\" }\n"
    printf "  -> emit Out%d\n}\n\n", i
    printf "route Out%d where total >= 1000 -> \"arn:aws:sqs:us-east-1:123456789012:q%d\"\n\n", i, i
    lines += 28
  }
}'
