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
echo "## 4. in-process (no HTTP), closed loop"; $bench inprocess --clients 16 --batch 100 --seconds "$seconds"
echo "## 5. overload: 600 clients asking for 800,000 actions/s"; $bench http --clients 600 --batch 100 --seconds "$seconds" --rate 800000
