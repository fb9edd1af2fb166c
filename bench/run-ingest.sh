#!/usr/bin/env bash
# Runs the ingest benchmarks reported in docs/benchmarks.md. Takes about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release -v quiet >/dev/null
bench="dotnet bench/Showrunner.Bench/bin/Release/net10.0/Showrunner.Bench.dll"
seconds=${SECONDS_PER_RUN:-30}
echo "## machine"; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; uname -r; dotnet --version
echo "## 1. HTTP, closed loop, 16 game servers, batches of 100"; $bench http --clients 16 --batch 100 --seconds "$seconds"
echo "## 2a. HTTP, open loop at 50,000 actions/s (half the 100,000 target)"; $bench http --clients 16 --batch 100 --seconds "$seconds" --rate 50000
echo "## 2b. HTTP, open loop at 86,000 actions/s (half the measured maximum)"; $bench http --clients 16 --batch 100 --seconds "$seconds" --rate 86000
echo "## 3. HTTP, closed loop, 10% re-sent actions"; $bench http --clients 16 --batch 100 --seconds "$seconds" --repeat 0.1
echo "## 3b. HTTP, closed loop, time-ordered ids (UUIDv7 style), 60 s"; $bench http --clients 16 --batch 100 --seconds 60 --ids time
echo "## 3c. HTTP, closed loop, random ids (UUIDv4 style), 60 s"; $bench http --clients 16 --batch 100 --seconds 60 --ids random
echo "## 4. in-process (no HTTP), closed loop"; $bench inprocess --clients 16 --batch 100 --seconds "$seconds"
echo "## 5. overload: 600 game servers in closed loop (each resends as soon as answered, 503 included)"; $bench http --clients 600 --batch 100 --seconds "$seconds"
echo "## 6. overload with wrk (C load generator, Debian package 'wrk'): 800 connections, as fast as they are answered"
if command -v wrk >/dev/null; then
  data=$(mktemp -d); port=5097
  # The admin key carries the load; its rate limit is raised so that 503 (overload) is what is measured.
  dotnet src/Showrunner.Server/bin/Release/net10.0/Showrunner.Server.dll --urls "http://127.0.0.1:$port" --data "$data" \
    --Showrunner:RateLimits:OperatorPerSecond=1000000 --Showrunner:RateLimits:OperatorBurst=1000000 >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
  key=$(cat "$data/admin.key")
  (while kill -0 "$pid" 2>/dev/null; do grep VmRSS "/proc/$pid/status"; sleep 1; done > "$data.rss") &
  SHOWRUNNER_KEY="$key" wrk -t2 -c800 -d"${seconds}s" --timeout 10s -s bench/overload.lua "http://127.0.0.1:$port" | grep -E "Latency|requests|Non-2xx|offered"
  curl -s -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/stats"; echo
  echo "server rss max: $(sort -k2 -n "$data.rss" | tail -1)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data" "$data.rss"
else
  echo "wrk not installed (apt-get install wrk): skipped"
fi
