#!/usr/bin/env bash
# Stops what `make run` started, and only that: the serve process whose pid
# make run recorded in $SERVE_PIDFILE (checked to still be that binary, so
# a reused pid is left alone), then the PostgreSQL and Redis servers that
# scripts/services.sh started itself, found by their data under
# $TUYENSINH_DATA (default /var/tmp/tuyensinh). Servers it did not start
# (a system PostgreSQL, a Redis of the distribution) have no data there and
# keep running. Idempotent; prints what it does.
set -euo pipefail

DATA=${TUYENSINH_DATA:-/var/tmp/tuyensinh}
BIN=$(realpath -m "${BIN:-bin/tuyensinh}")
SERVE_PIDFILE=${SERVE_PIDFILE:-bin/serve.pid}

say() { echo "stop: $*"; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# wait_gone pid seconds: true once the process has exited.
wait_gone() {
	for _ in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

stop_serve() {
	[ -s "$SERVE_PIDFILE" ] || { say "no serve process recorded ($SERVE_PIDFILE)"; return; }
	local pid exe
	pid=$(cat "$SERVE_PIDFILE")
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
	if [ "${exe% (deleted)}" != "$BIN" ]; then
		say "serve (pid $pid) is not running"
		rm -f "$SERVE_PIDFILE"
		return
	fi
	# SIGTERM: serve drains (SHUTDOWN_DRAIN_DELAY) and finishes requests
	# in flight (SHUTDOWN_TIMEOUT) before it exits.
	say "stopping serve (pid $pid)"
	kill -TERM "$pid"
	if ! wait_gone "$pid" 60; then
		say "serve (pid $pid) still runs after 60s; left alone"
		exit 1
	fi
	rm -f "$SERVE_PIDFILE"
}

stop_postgres() {
	local dir=$DATA/pg
	if ! as_root test -s "$dir/postmaster.pid"; then
		say "no PostgreSQL of ours runs ($dir)"
		return
	fi
	local bin
	bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)")
	say "stopping PostgreSQL ($dir)"
	as_root runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
}

stop_redis() {
	local dir=$DATA/redis pid
	if ! as_root test -s "$dir/redis.pid"; then
		say "no Redis of ours runs ($dir)"
		return
	fi
	pid=$(as_root cat "$dir/redis.pid")
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != redis-server ]; then
		say "Redis (pid $pid) is not running"
		as_root rm -f "$dir/redis.pid"
		return
	fi
	# SIGTERM: Redis flushes its AOF and exits.
	say "stopping Redis (pid $pid, $dir)"
	as_root kill -TERM "$pid"
	wait_gone "$pid" 30 || { say "Redis (pid $pid) still runs after 30s"; exit 1; }
}

stop_serve
stop_postgres
stop_redis
