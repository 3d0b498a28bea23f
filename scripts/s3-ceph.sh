#!/usr/bin/env bash
# A throw-away, one-node Ceph cluster with the RADOS Gateway (S3) on 127.0.0.1, for tests and for a
# person trying snap's S3 support. Everything lives under DIR (configuration, monitor store, logs,
# sockets, pid files); nothing is written to /etc/ceph or /var/lib/ceph. The OSD uses the in-memory
# `memstore` backend, so the data are gone when the cluster stops.
#
#   scripts/s3-ceph.sh start DIR PORT   start it; S3 on http://127.0.0.1:PORT. Prints shell lines
#                                       (export AWS_ENDPOINT_URL=… AWS_ACCESS_KEY_ID=… …) on stdout,
#                                       and writes them to DIR/env too: eval "$(scripts/s3-ceph.sh start …)"
#   scripts/s3-ceph.sh stop DIR         stop every daemon started in DIR (by its pid file)
#
# Needs the Debian packages ceph-mon, ceph-osd and radosgw (Ceph 16.2):
#   apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw
# The settings that matter (see the Ceph docs): no cephx (`auth_*_required = none`), and
# `ms mon client mode = crc` (without it radosgw loops on "get_initial_auth_request returned -13").
# Start-up takes about 15 s. Progress and errors go to stderr; the daemons' logs are in DIR/log.
# Exit status: 0 started (or stopped), 2 usage, 3 a daemon did not start (the logs' tails are printed).
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT | $0 stop DIR" >&2; exit 2; }
say() { echo "s3-ceph: $*" >&2; }

# A free TCP port on 127.0.0.1 (the kernel picks one; a race with another process is unlikely).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

stop_cluster() {
  local dir="$1"
  [ -d "$dir/run" ] || return 0
  # radosgw and the OSD at once (each takes 1-2 s to shut down), then the monitor: an OSD that
  # outlives the monitor waits for it about 6 s before it exits.
  stop_daemons "$dir" client.rgw osd.0
  stop_daemons "$dir" mon.a
}

# stop_daemons DIR NAME...: SIGTERM each daemon (by its pid file) at once; SIGKILL any still there after 5 s.
stop_daemons() {
  local dir="$1" name pidfile pid pids=()
  shift
  for name in "$@"; do
    pidfile="$dir/run/$name.pid"
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$pidfile"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

fail() {
  local dir="$1"; shift
  say "$*"
  for f in "$dir"/log/*.log; do
    [ -f "$f" ] || continue
    echo "--- tail of $f" >&2
    tail -n 30 "$f" >&2
  done
  stop_cluster "$dir"
  exit 3
}

# wait_for SECONDS DESCRIPTION COMMAND...: run COMMAND every 0.25 s until it succeeds.
wait_for() {
  local seconds="$1" what="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.25
  done
  say "$what after ${SECONDS} s"
}

start_cluster() {
  local dir="$1" port="$2"
  for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph python3 curl; do
    command -v "$tool" >/dev/null || { say "$tool is not installed (apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw)"; exit 3; }
  done
  case "$port" in ''|*[!0-9]*) usage ;; esac
  # Something already answering on PORT would be taken for the new server: refuse.
  if ! python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$port" 2>/dev/null; then
    say "127.0.0.1:$port is in use or not a valid port"; exit 3
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -e "$dir/ceph.conf" ]; then say "$dir already holds a cluster (stop it and use an empty folder)"; exit 3; fi
  mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/tmp"
  local fsid mon_port conf
  fsid="$(python3 -c 'import uuid; print(uuid.uuid4())')"
  mon_port="$(free_port)"
  conf="$dir/ceph.conf"
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms bind msgr1 = false
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon cluster log file = default=$dir/log/\$cluster.\$channel.log cluster=$dir/log/\$cluster.log
keyring = $dir/keyring
crash dir = $dir/tmp
exporter sock dir = $dir/run
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd op num shards = 1
osd op num threads per shard = 1
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
rgw dns name = localhost
rgw enable usage log = false
EOF
  touch "$dir/keyring"
  local c=(-c "$conf")

  say "monitor on 127.0.0.1:$mon_port"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null 2>>"$dir/log/setup.log" || fail "$dir" "monmaptool failed"
  ceph-mon "${c[@]}" --mkfs -i a --monmap "$dir/monmap" >>"$dir/log/setup.log" 2>&1 || fail "$dir" "ceph-mon --mkfs failed"
  ceph-mon "${c[@]}" -i a >>"$dir/log/setup.log" 2>&1 || fail "$dir" "ceph-mon did not start"
  wait_for 30 "monitor up" ceph "${c[@]}" --connect-timeout 2 mon stat || fail "$dir" "the monitor does not answer"

  say "OSD (memstore)"
  local osd_id
  osd_id="$(ceph "${c[@]}" osd create 2>>"$dir/log/setup.log")" || fail "$dir" "ceph osd create failed"
  [ "$osd_id" = 0 ] || fail "$dir" "expected OSD id 0, got $osd_id"
  mkdir -p "$dir/osd/ceph-0"
  ceph-osd "${c[@]}" -i 0 --mkfs >>"$dir/log/setup.log" 2>&1 || fail "$dir" "ceph-osd --mkfs failed"
  ceph "${c[@]}" osd crush add osd.0 1.0 host=localhost root=default >>"$dir/log/setup.log" 2>&1 || fail "$dir" "crush add failed"
  ceph-osd "${c[@]}" -i 0 >>"$dir/log/setup.log" 2>&1 || fail "$dir" "ceph-osd did not start"
  wait_for 60 "OSD up" sh -c "ceph ${c[*]} osd stat 2>/dev/null | grep -q '1 up'" || fail "$dir" "the OSD did not come up"

  say "RADOS Gateway on 127.0.0.1:$port"
  radosgw "${c[@]}" -n client.rgw >>"$dir/log/setup.log" 2>&1 || fail "$dir" "radosgw did not start"
  wait_for 90 "S3 answers" curl -sf -o /dev/null "http://127.0.0.1:$port/" || fail "$dir" "radosgw does not answer on 127.0.0.1:$port"

  local access secret
  access="SNAP$(python3 -c 'import secrets; print(secrets.token_hex(8).upper())')"
  secret="$(python3 -c 'import secrets; print(secrets.token_hex(20))')"
  radosgw-admin "${c[@]}" -n client.rgw user create --uid=snap --display-name=snap \
    --access-key="$access" --secret-key="$secret" >>"$dir/log/setup.log" 2>&1 || fail "$dir" "radosgw-admin user create failed"
  cat >"$dir/env" <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=us-east-1
EOF
  cat "$dir/env"
  say "ready in ${SECONDS} s; stop with: $0 stop $dir"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; start_cluster "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop_cluster "$2" ;;
  *) usage ;;
esac
