#!/usr/bin/env bash
# moto_server (Python, an in-memory S3 emulator) on 127.0.0.1, for tests and for a person trying
# snap's S3 support. moto honours `If-None-Match: *` (also in versioned buckets), which Ceph 16 does
# not; its Object Lock is partial (a COMPLIANCE retention can be shortened). The log, pid file and
# credentials are kept under DIR.
#
#   scripts/s3-moto.sh start DIR PORT   start it; S3 on http://127.0.0.1:PORT. Prints shell lines
#                                       (export AWS_ENDPOINT_URL=… …) on stdout and writes them to DIR/env:
#                                       eval "$(scripts/s3-moto.sh start …)"
#   scripts/s3-moto.sh stop DIR         stop it (by its pid file)
#
# Needs `python3 -m moto.server` (pip install 'moto[server]'). moto accepts any credentials.
# Exit status: 0 started (or stopped), 2 usage, 3 it did not start (the log's tail is printed).
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT | $0 stop DIR" >&2; exit 2; }
say() { echo "s3-moto: $*" >&2; }

stop_server() {
  local dir="$1" pid
  [ -f "$dir/moto.pid" ] || return 0
  pid="$(cat "$dir/moto.pid")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/moto.pid"
}

start_server() {
  local dir="$1" port="$2"
  case "$port" in ''|*[!0-9]*) usage ;; esac
  # Something already answering on PORT would be taken for the new server: refuse.
  if ! python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$port" 2>/dev/null; then
    say "127.0.0.1:$port is in use or not a valid port"; exit 3
  fi
  command -v python3 >/dev/null || { say "python3 is not installed"; exit 3; }
  command -v curl >/dev/null || { say "curl is not installed"; exit 3; }
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/moto.pid" ] && kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null; then say "a server already runs from $dir"; exit 3; fi
  # setsid: the server outlives this script, in its own process group.
  # SNAP_MOTO_PLANT=1 (the tests): moto_server plus a route to put many objects in one request
  # (scripts/moto-plant-server.py).
  local server=(python3 -m moto.server)
  if [ "${SNAP_MOTO_PLANT:-}" = 1 ]; then server=(python3 "$(dirname "$0")/moto-plant-server.py"); fi
  setsid "${server[@]}" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 < /dev/null &
  echo $! >"$dir/moto.pid"
  local deadline=$((SECONDS + 60))
  # Ready when our server says it listens on PORT and answers there: another server that took PORT
  # first (a race between picking a free port and binding it) answers curl too, while ours fails to
  # bind ("Address already in use") and exits.
  until grep -q "Running on http://127.0.0.1:$port" "$dir/moto.log" && curl -sf -o /dev/null "http://127.0.0.1:$port/" && kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null; do
    if ! kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      say "moto_server did not start on 127.0.0.1:$port"
      tail -n 30 "$dir/moto.log" >&2 || true
      stop_server "$dir"
      exit 3
    fi
    sleep 0.25
  done
  cat >"$dir/env" <<EOT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=snaptest
export AWS_SECRET_ACCESS_KEY=snaptest
export AWS_REGION=us-east-1
EOT
  cat "$dir/env"
  say "ready in ${SECONDS} s; stop with: $0 stop $dir"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; start_server "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop_server "$2" ;;
  *) usage ;;
esac
