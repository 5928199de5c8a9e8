# Shared by the bench/ scripts: a release build, free ports, a private redis-server,
# and cleanup of everything started.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh" bench >/dev/null
export ARGUS_BUILD_DIR="${ARGUS_BUILD_DIR:-$root/build-bench}"
"$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release -DARGUS_SANITIZE=OFF -DARGUS_BUILD_TESTS=OFF >/dev/null
bin="$ARGUS_BUILD_DIR/bin"
work="$(mktemp -d)"
bench_pids=()
bench_cleanup() {
  for pid in "${bench_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_redis() {  # sets redis_port
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
    >"$work/redis.log" 2>&1 &
  bench_pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis-server did not start" >&2; exit 1
}

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
