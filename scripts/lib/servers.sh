# Starting Strata and its peers for the benchmark scripts (sourced, not run, from the
# repository's root): each server alone, on 127.0.0.1:PORT, with a fresh data dir, as
# ../shared/peers/start-peers.sh starts the peers. STRATA_ARGS adds flags to Strata's.

# Where things are (SHARED and CACHE override), and a work dir removed on exit together
# with the servers still running.
strata=target/release/strata
shared="${SHARED:-../shared}"
cache="${CACHE:-/tmp/peers/cache}"
bench="$shared/peers/bench"
dataset="$shared/datasets/scrape-1s-A"
work=$(mktemp -d)
trap stop_all EXIT

stop_all() { # stops the servers, waits until they have exited (a server still flushing its
  # data dir makes `rm -rf` fail, which failed CI), then removes the work dir
  local pids; pids=$(jobs -p)
  [[ -z $pids ]] || kill $pids 2>/dev/null || true
  for _ in $(seq 1 100); do
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  [[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work" || echo "warning: could not remove $work" >&2
  return 0
}

batches() { # path (rw, prom or lp) -> the pickle of pre-built batches, built on first use
  local src="$dataset.prom.gz"; [[ $1 == lp ]] && src="$dataset.lp.gz"
  [[ -f $cache/$1.pkl ]] || python3 "$bench/build_batches.py" --fmt "$1" "$src" "$cache/$1.pkl" >&2
  echo "$cache/$1.pkl"
}

wait_http() { # url
  for _ in $(seq 1 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}

start_server() { # name port dir; the server is the caller's last background job ($!)
  case "$1" in
    # shellcheck disable=SC2086 # STRATA_ARGS: extra flags, split on spaces
    strata) "$strata" server --listen "127.0.0.1:$2" --grpc-listen 127.0.0.1:0 --data-dir "$3" --log-level warn ${STRATA_ARGS:-} 2>"$3.log" &
            wait_http "http://127.0.0.1:$2/-/ready" ;;
    prometheus) mkdir -p "$3"; prometheus --config.file="$shared/peers/conf/prometheus-empty.yml" \
              --storage.tsdb.path="$3" --web.listen-address="127.0.0.1:$2" --web.enable-remote-write-receiver \
              --storage.tsdb.retention.time=100y >"$3.log" 2>&1 &
            wait_http "http://127.0.0.1:$2/-/ready" ;;
    victoriametrics) victoria-metrics -storageDataPath="$3" -httpListenAddr="127.0.0.1:$2" \
              -retentionPeriod=100y -search.latencyOffset=0s >"$3.log" 2>&1 &
            wait_http "http://127.0.0.1:$2/health" ;;
    # InfluxDB 1.6 as ../shared/peers/start-peers.sh configures it (RPC on PORT+1), without
    # its internal monitor database.
    influxdb) mkdir -p "$3"; cat >"$3/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$(($2 + 1))"
[meta]
  dir = "$3/meta"
[data]
  dir = "$3/data"
  wal-dir = "$3/wal"
  query-log-enabled = false
  index-version = "inmem"
  max-series-per-database = 0
  max-values-per-tag = 0
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$2"
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
CONF
            influxd -config "$3/influxdb.conf" >"$3.log" 2>&1 &
            wait_http "http://127.0.0.1:$2/ping" ;;
    *) echo "unknown server $1" >&2; return 2 ;;
  esac
}
