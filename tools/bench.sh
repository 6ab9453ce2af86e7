#!/bin/sh
# make bench: measured against the running stack (make run). Modules add their loads here;
# the last line is one `bench:` line of key=value pairs so runs can be compared by a script.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8080}
DUR=${BENCH_SECONDS:-10}
curl -fsS "http://127.0.0.1:$PORT/hg/health" >/dev/null || { echo "bench: the stack is not running (make run)" >&2; exit 1; }
static=$(wrk -t2 -c100 -d"${DUR}s" "http://127.0.0.1:$PORT/index.html" | awk '/Requests\/sec/ {printf "%d", $2}')
health=$(wrk -t2 -c100 -d"${DUR}s" "http://127.0.0.1:$PORT/hg/health" | awk '/Requests\/sec/ {printf "%d", $2}')
echo "static file: $static req/s; /hg/health (one DB round trip): $health req/s"
echo "bench: static_per_s=$static health_per_s=$health"
