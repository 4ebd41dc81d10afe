#!/usr/bin/env bash
# The docker-compose topology without containers, on loopback: a throwaway PostgreSQL, three silo processes
# (instances BASE..BASE+2: silo ports 11111+N, gateways 30000+N, /metrics 9464+N, dashboards 8080+N) and Prometheus
# scraping them. Started, health-checked, and stopped by one command:
#   deploy/run-local.sh           # up until Ctrl-C, then everything stops
#   deploy/run-local.sh --smoke   # up, checked, one job through the gateways, then everything stops (CI runs this)
# Environment: RUN_LOCAL_BIN (folder holding Agents.Silo.dll and p2p-ai-agents.dll; built here when unset),
# RUN_LOCAL_BASE (first instance, default 0), RUN_LOCAL_PROMETHEUS_PORT (default 9090).
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=false
[ "${1:-}" = "--smoke" ] && smoke=true
base="${RUN_LOCAL_BASE:-0}"
prom_port="${RUN_LOCAL_PROMETHEUS_PORT:-9090}"
work="$(mktemp -d -t agents-local-XXXXXX)"
pids=()
say() { printf '[run-local] %s\n' "$*"; }

bin="${RUN_LOCAL_BIN:-}"
if [ -z "$bin" ]; then
  say "building"
  dotnet build client/Agents.Cli -c Release -o "$work/bin" -v quiet -nologo >/dev/null
  bin="$work/bin"
fi
for f in Agents.Silo.dll p2p-ai-agents.dll; do
  [ -f "$bin/$f" ] || { say "$bin/$f is missing (set RUN_LOCAL_BIN to a build output with both)"; exit 1; }
done
prometheus="$(command -v prometheus || true)"
[ -n "$prometheus" ] || { say "prometheus is not installed (apt-get install -y prometheus)"; exit 1; }

pg_bin="$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_all() {
  set +e
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null
  done
  [ -f "$work/pg/PG_VERSION" ] && as_pg "$pg_bin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1
  rm -rf "$work"
  say "stopped"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_port="$(free_port)"
chown postgres "$work" 2>/dev/null || true
as_pg "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$work/pg" -w -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $work" -l "$work/pg.log" start >/dev/null
export P2P_CLUSTER="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
say "PostgreSQL on 127.0.0.1:$pg_port"

for i in 0 1 2; do
  n=$((base + i))
  args=(--instance "$n" --data-dir "$work/silo-$n")
  [ "$i" = 0 ] && args+=(--init-schema)
  dotnet "$bin/Agents.Silo.dll" "${args[@]}" >"$work/silo-$n.log" 2>&1 &
  pids+=($!)
  say "silo $n: pid $!, gateway 127.0.0.1:$((30000 + n)), metrics http://127.0.0.1:$((9464 + n))/metrics, dashboard http://127.0.0.1:$((8080 + n))/"
  # The first silo applies the schema before the others join.
  if [ "$i" = 0 ]; then
    for _ in $(seq 1 120); do (echo > "/dev/tcp/127.0.0.1/$((30000 + n))") 2>/dev/null && break; sleep 0.5; done
  fi
done

targets=""
for i in 0 1 2; do targets="$targets\"127.0.0.1:$((9464 + base + i))\","; done
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 2s}
scrape_configs:
  - job_name: agents-silos
    static_configs: [{targets: [${targets%,}]}]
YAML
"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids=("$!" "${pids[@]}")
say "Prometheus on http://127.0.0.1:$prom_port"

fail() { say "unhealthy: $*"; for f in "$work"/*.log; do echo "--- $f"; tail -n 20 "$f"; done; exit 1; }
cli() { dotnet "$bin/p2p-ai-agents.dll" "$@"; }

# Health: three active silos in one cluster (membership), every /metrics answering, every Prometheus target up.
deadline=$((SECONDS + 180))
until [ "$(cli stats --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["nodes"]))' 2>/dev/null || echo 0)" = 3 ]; do
  [ $SECONDS -lt $deadline ] || fail "three silos did not report to the metrics aggregator"
  sleep 2
done
say "cluster: 3 silos active"
for i in 0 1 2; do
  # (Read whole, then searched: grep -q closing the pipe early would fail curl under pipefail.)
  text="$(curl -fsS "http://127.0.0.1:$((9464 + base + i))/metrics")" || fail "no answer at http://127.0.0.1:$((9464 + base + i))/metrics"
  grep -q '^# TYPE ' <<<"$text" || fail "no metrics at port $((9464 + base + i))"
done
until [ "$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/query?query=sum(up%7Bjob%3D%22agents-silos%22%7D)" 2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null || echo 0)" = 3 ]; do
  [ $SECONDS -lt $deadline ] || fail "Prometheus does not see three silos up"
  sleep 1
done
say "Prometheus: 3 targets up"

if $smoke; then
  gateways="127.0.0.1:$((30000 + base)),127.0.0.1:$((30001 + base)),127.0.0.1:$((30002 + base))"
  P2P_CLUSTER= P2P_GATEWAYS="$gateways" cli benchmark --mode cluster --tasks 3000 --warmup 0 --document-size 1024 --nodes 3 || fail "the job failed"
  say "smoke test passed"
  exit 0
fi

say "up; Ctrl-C stops everything"
wait "${pids[-1]}"
