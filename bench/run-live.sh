#!/usr/bin/env bash
# Runs the live-event benchmarks whose results are in docs/benchmarks.md ("Live events").
# Everything but the restart run takes about 8 minutes. The restart run's in-process fill of 10 M
# actions dominates: 10 minutes and 7.2 GiB on the machine of docs/benchmarks.md (2 vCPU, quiet),
# and about 1.3 GiB of memory for the benchmark process; it prints its rate and time to go.
# Run it on a quiet machine: every figure is the server and its load generator sharing the cores.
# Environment: SECONDS_PER_RUN (default 30), RESTART_ACTIONS (default 10000000),
# LEDGER_ENTRIES (default 1000000), SEED (default 1). The benchmark calls the servers it starts with
# the admin key each writes to <data>/admin.key (bench --key KEY, or $SHOWRUNNER_KEY, for a server at --url).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release -v quiet src/Showrunner.Server >/dev/null
dotnet build -c Release -v quiet bench/Showrunner.Bench >/dev/null
bench="dotnet bench/Showrunner.Bench/bin/Release/net10.0/Showrunner.Bench.dll"
seconds=${SECONDS_PER_RUN:-30}
actions=${RESTART_ACTIONS:-10000000}
entries=${LEDGER_ENTRIES:-1000000}
seed=${SEED:-1}
echo "## machine"; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; uname -r; dotnet --version
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (should be near 0 before a run)"
echo "free disk in ${TMPDIR:-/tmp}: $(df -h --output=avail "${TMPDIR:-/tmp}" | tail -1)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "## L1. live: 20 running events, 100,000 players, HTTP closed loop, 16 game servers, batches of 100, ${seconds} s"
$bench live --clients 16 --batch 100 --seconds "$seconds" --seed "$seed"

echo "## L1b. the same for 150 s: the steady state, above 1/3 grant per action"
$bench live --clients 16 --batch 100 --seconds 150 --seed "$seed"

echo "## L2. live: open loop at 50,000 actions/s (the target)"
$bench live --clients 16 --batch 100 --seconds "$seconds" --rate 50000 --seed "$seed"

echo "## L2b. live: open loop at 10,000 actions/s"
$bench live --clients 16 --batch 100 --seconds "$seconds" --rate 10000 --seed "$seed"

echo "## L4. restart: fill ${actions} actions in-process (1 event per action), then restart-to-ready after a clean stop and after SIGKILL under load"
$bench restart --actions "$actions" --kill-after 10 --clients 16 --batch 100 --seed "$seed" --zones-per-event 1 --data "$work/restart"

echo "## L3. receipts: rewards of 1,000 players and 2,000 receipts of the restart run's grants, 4 clients, 500 verified offline"
$bench receipts --data "$work/restart" --sample-players 1000 --receipts 2000 --receipt-clients 4 --verify 500 --seed "$seed"
rm -rf "$work/restart"

echo "## L5. ledger micro-measurements (in-process, one thread): appends, durable commits of 256, checkpoints, proofs over ${entries} entries"
$bench ledger --entries "$entries" --commit-batch 256 --checkpoints 200 --proofs 2000 --seed "$seed"
