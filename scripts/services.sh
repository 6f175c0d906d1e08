#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on loopback, starting them when
# they do not: PostgreSQL from Debian's postgresql-15 binaries (initdb as the
# postgres user), Redis from Debian's redis-server (installed if missing),
# with AOF (appendfsync always: a 202 survives a crash) and noeviction; with TUYENSINH_BROWSER=1
# also Debian's chromium for the browser tests. Idempotent; prints what it
# does. Data of servers it starts lives under $TUYENSINH_DATA
# (default /var/tmp/tuyensinh), with Redis' pid in redis/redis.pid, so that
# scripts/stop.sh (make stop) stops those and no others.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
DATA=${TUYENSINH_DATA:-/var/tmp/tuyensinh}

say() { echo "services: $*"; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
	say "installing $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

redis_ping() {
	tcp_open "$REDIS_HOST" "$REDIS_PORT" || return 1
	exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT"
	printf 'PING\r\n' >&3
	local reply=""
	read -r -t 2 reply <&3 || true
	exec 3>&-
	[[ "$reply" == +PONG* ]]
}

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	return 1
}

ensure_postgres() {
	if tcp_open "$PGHOST" "$PGPORT"; then
		say "PostgreSQL answers on $PGHOST:$PGPORT"
		return
	fi
	local bin
	if ! bin=$(pg_bin); then
		apt_install postgresql
		bin=$(pg_bin)
	fi
	local dir=$DATA/pg
	as_root mkdir -p "$DATA"
	if [ ! -s "$dir/PG_VERSION" ]; then
		say "initdb $dir"
		as_root mkdir -p "$dir"
		as_root chown postgres:postgres "$dir"
		as_root chmod 700 "$dir"
		as_root runuser -u postgres -- "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	fi
	as_root mkdir -p /var/run/postgresql && as_root chown postgres:postgres /var/run/postgresql
	say "starting PostgreSQL on $PGHOST:$PGPORT ($dir)"
	as_root runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
		-o "-c listen_addresses=$PGHOST -p $PGPORT -c unix_socket_directories=/var/run/postgresql -c max_connections=200" >/dev/null
}

ensure_redis() {
	# The fault and stall tests start Redis servers of their own, so the
	# binary is needed even when a Redis already answers.
	command -v redis-server >/dev/null || apt_install redis-server
	if redis_ping; then
		say "Redis answers on $REDIS_HOST:$REDIS_PORT"
		return
	fi
	local dir=$DATA/redis
	as_root mkdir -p "$dir"
	say "starting Redis on $REDIS_HOST:$REDIS_PORT with AOF (always), noeviction ($dir)"
	as_root redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --dir "$dir" \
		--appendonly yes --appendfsync always --maxmemory-policy noeviction --save '' \
		--logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
	for _ in $(seq 50); do redis_ping && return; sleep 0.1; done
	say "Redis did not start; see $dir/redis.log"
	exit 1
}

ensure_database() { # name
	local url="postgres://postgres@$PGHOST:$PGPORT/postgres?sslmode=disable"
	if ! psql "$url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1; then
		say "creating database $1"
		psql "$url" -qc "CREATE DATABASE $1"
	fi
}

ensure_browser() {
	if command -v chromium >/dev/null; then
		return
	fi
	apt_install chromium
}

ensure_postgres
ensure_redis
# The browser tests drive Debian's Chromium.
if [ "${TUYENSINH_BROWSER:-}" = 1 ]; then ensure_browser; fi
# The parents' slip tests read the PDF with poppler's pdftotext and pdftoppm.
if [ "${TUYENSINH_BROWSER:-}" = 1 ] && ! command -v pdftotext >/dev/null; then apt_install poppler-utils; fi
for db in "$@"; do ensure_database "$db"; done
