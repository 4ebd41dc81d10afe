#!/usr/bin/env bash
# The cluster benchmark on one host: starts a throwaway PostgreSQL unless P2P_CLUSTER names one, then
# `p2p-ai-agents benchmark --mode cluster` starts the silo processes, runs the workload, and stops them.
#   deploy/benchmark-cluster.sh --nodes 3 --tasks 10000 --distribution round-robin --output results/cluster-3-nodes.json
#   deploy/benchmark-cluster.sh --nodes 1..2 --pin --task-type embedding --tasks 2000 --document-size 100 --output results/scale-embedding.json
# Every flag is passed to `benchmark`; --mode cluster is added.
set -euo pipefail
cd "$(dirname "$0")/.."
cli=(dotnet run -c Release --project client/Agents.Cli --)

if [ -z "${P2P_CLUSTER:-}" ]; then
  bin="$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)"
  dir="$(mktemp -d)"; port=$((20000 + RANDOM % 20000))
  chown postgres "$dir" 2>/dev/null || true
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" -l "$dir/log" start >/dev/null
  trap 'as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null; rm -rf "$dir"' EXIT
  export P2P_CLUSTER="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  echo "PostgreSQL on 127.0.0.1:$port (stopped at exit)"
fi

"${cli[@]}" benchmark --mode cluster "$@"
