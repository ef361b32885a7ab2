#!/usr/bin/env bash
# Starts a throw-away Ceph cluster for tests: one monitor, one in-memory OSD (memstore) and the
# RADOS Gateway (S3 API) on 127.0.0.1:PORT, with the S3 keys TESTKEY / TESTSECRET.
#
#   scripts/start-ceph-rgw.sh DIR PORT [MON_PORT]
#
# DIR must be empty or absent (use a temp folder); all state, logs and pid files live there.
# PIDs are recorded in DIR/run/{mon.a,osd.0,client.rgw}.pid and printed as `pid <name> <pid>`.
# Stop: kill the PIDs in DIR/run/*.pid and wait for them to exit (never kill by process name).
# Needs: radosgw ceph-mon ceph-osd (scripts/install-ceph.sh). Takes ~17 s and ~550 MB of RAM.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 DIR PORT [MON_PORT]" >&2
  exit 2
fi
D=$1
PORT=$2
MON_PORT=${3:-6789}
case "$PORT$MON_PORT" in *[!0-9]*) echo "PORT and MON_PORT must be numbers" >&2; exit 2 ;; esac
for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
  command -v "$bin" >/dev/null || { echo "$bin not found: run scripts/install-ceph.sh" >&2; exit 3; }
done
if [ -e "$D" ] && [ -n "$(ls -A "$D")" ]; then
  echo "$D is not empty; give a fresh directory" >&2
  exit 2
fi
mkdir -p "$D"
D=$(cd "$D" && pwd)
mkdir -p "$D/mon.a" "$D/osd.0" "$D/rgw" "$D/log" "$D/run"

# On any failure, stop what this script already started (by recorded PID only).
cleanup_on_error() {
  echo "failed at line ${BASH_LINENO[0]}: ${BASH_COMMAND}" >&2
  for f in "$D"/run/*.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  echo "ceph start failed; logs in $D/log" >&2
}
trap cleanup_on_error ERR

uuid() { cat /proc/sys/kernel/random/uuid; }
FSID=$(uuid)
cat >"$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $D/run
log file = $D/log/\$name.log
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
ms bind ipv6 = false
public addr = 127.0.0.1
[mon.a]
mon data = $D/mon.a
[osd]
osd data = $D/osd.\$id
osd objectstore = memstore
memstore device bytes = 4294967296
osd max object name len = 460
osd max object namespace len = 64
osd class load list = *
osd class default list = *
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
rgw dns name = localhost
rgw enable usage log = false
rgw thread pool size = 64
CONF
C=(-c "$D/ceph.conf")
CEPH=(ceph -c "$D/ceph.conf" --connect-timeout 30)

monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap"
ceph-mon "${C[@]}" -i a
mon_up=0
for _ in $(seq 1 60); do
  if ceph -c "$D/ceph.conf" --connect-timeout 5 -s >/dev/null 2>&1; then mon_up=1; break; fi
  sleep 0.5
done
[ "$mon_up" = 1 ] || { echo "ceph-mon did not answer on 127.0.0.1:$MON_PORT" >&2; false; }

OSD_UUID=$(uuid)
OSD_ID=$("${CEPH[@]}" osd create "$OSD_UUID") # without the uuid: "mon_cmd_maybe_osd_create fail: 'wrong fsid'"
ceph-osd "${C[@]}" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >>"$D/log/osd-mkfs.out" 2>&1
"${CEPH[@]}" osd crush add-bucket localhost host >/dev/null 2>&1 || true
"${CEPH[@]}" osd crush move localhost root=default >/dev/null 2>&1 || true
"${CEPH[@]}" osd crush add "osd.$OSD_ID" 1.0 host=localhost >/dev/null 2>&1 || true
ceph-osd "${C[@]}" -i "$OSD_ID" 2>>"$D/log/osd-start.err" # its start-up chatter goes to the log
for _ in $(seq 1 60); do "${CEPH[@]}" osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.5; done

radosgw "${C[@]}" -n client.rgw
up=0
for _ in $(seq 1 240); do
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then up=1; break; fi
  sleep 0.5
done
if [ "$up" != 1 ]; then
  echo "radosgw did not answer on 127.0.0.1:$PORT" >&2
  false
fi
radosgw-admin "${C[@]}" user create --uid=test --display-name=test --access-key=TESTKEY --secret=TESTSECRET >/dev/null

for n in mon.a "osd.$OSD_ID" client.rgw; do
  echo "pid $n $(cat "$D/run/$n.pid")"
done
echo "rgw up: http://127.0.0.1:$PORT (TESTKEY/TESTSECRET)"
