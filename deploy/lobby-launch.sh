#!/bin/sh
# The box's launcher: what systemd runs (ExecStart), outside every version, so that a new version that
# crashes before any of its JavaScript runs still goes back to the previous one (A/B with a commit, as in
# Mender). Installed by install.sh to /usr/local/lib/motcua-lobby/lobby-launch; over-the-air updates never
# change it (they run as the box's user).
#
#   lobby-launch device --config /etc/motcua-lobby/office.yaml --data-dir /var/lib/motcua-lobby
#
# Runs <root>/<current>/bin/lobby with the arguments given. Without a trial marker it just execs the box.
# With one (written by the update agent before it moved `current`, device/update/), for the version it
# names:
#   - each start is counted (<update>/trial-starts); past `maxStarts` it goes back to `previous`;
#   - the box runs as a child, its output copied to <update>/logs/<V>.log (for the cloud's report);
#   - a watchdog stops it when it has not committed (removed the marker) within trialSeconds+graceSeconds;
#   - an exit 3 (the box refused its event log) goes back at once.
# Going back = write <update>/rolled-back, point `current` at `previous` in one rename, remove the marker;
# the previous version's agent reports it. A marker naming another version than `current` is stale (a cut
# between writing it and moving `current`): removed. Every file is replaced by rename and synced, so a
# power cut at any line leaves a box that starts a version that ran before, or the one on trial.
#
# Environment: LOBBY_RELEASE_ROOT (/opt/motcua-lobby), LOBBY_DATA_DIR (/var/lib/motcua-lobby).
set -u

ROOT="${LOBBY_RELEASE_ROOT:-/opt/motcua-lobby}"
DATA="${LOBBY_DATA_DIR:-/var/lib/motcua-lobby}"
UPD="$DATA/update"
TRIAL="$UPD/trial"
STARTS="$UPD/trial-starts"
TIMEOUT="$UPD/trial-timeout"
ROLLED="$UPD/rolled-back"

say() { echo "lobby-launch: $*" >&2; }
field() { sed -n "s/^$1=//p" "$2" 2>/dev/null | head -n 1; }
# Replaces a symlink of the root in one rename (GNU mv -T: never follow the old link into its folder).
point() {
  ln -sfn "$2" "$ROOT/.$1-$$" && mv -Tf "$ROOT/.$1-$$" "$ROOT/$1"
}
marker_names() { [ -f "$TRIAL" ] && [ "$(field version "$TRIAL")" = "$1" ]; }

# Goes back to the version the marker names as previous; $1 is why (start, health, refused-log).
roll_back() {
  v="$(field version "$TRIAL")"
  p="$(field previous "$TRIAL")"
  n="$(wc -l <"$STARTS" 2>/dev/null || echo 0)"
  if [ -z "$p" ] || [ ! -d "$ROOT/$p" ]; then
    say "cannot go back: the previous version '$p' is not in $ROOT; keeping $v"
    rm -f "$TRIAL" "$STARTS" "$TIMEOUT"
    sync
    return
  fi
  printf 'version=%s\nprevious=%s\nreason=%s\nstarts=%s\nat=%s\n' "$v" "$p" "$1" "$n" "$(date +%s)" >"$ROLLED.tmp"
  mv -f "$ROLLED.tmp" "$ROLLED"
  sync
  point current "$p"
  sync
  rm -f "$TRIAL" "$STARTS" "$TIMEOUT"
  sync
  say "version $v failed its trial ($1, $n start(s)): went back to $p"
}

mkdir -p "$UPD" 2>/dev/null
rm -f "$ROOT"/.current-* "$ROOT"/.previous-* 2>/dev/null
CUR="$(readlink "$ROOT/current" 2>/dev/null || true)"
if [ -z "$CUR" ]; then
  say "no version installed: $ROOT/current is missing (run install.sh)"
  exit 1
fi

ON_TRIAL=0
if [ -f "$TRIAL" ]; then
  if ! marker_names "$CUR"; then
    say "stale trial marker for $(field version "$TRIAL") (current is $CUR): removed"
    rm -f "$TRIAL" "$STARTS" "$TIMEOUT"
    sync
  else
    echo "$(date +%s)" >>"$STARTS"
    sync
    n="$(wc -l <"$STARTS")"
    if [ -f "$TIMEOUT" ]; then
      roll_back health
    elif [ "$n" -gt "$(field maxStarts "$TRIAL")" ]; then
      roll_back start
    else
      ON_TRIAL=1
      say "version $CUR on trial: start $n of $(field maxStarts "$TRIAL")"
    fi
    CUR="$(readlink "$ROOT/current")"
  fi
fi

export LOBBY_RELEASE_ROOT="$ROOT" LOBBY_RELEASE_VERSION="$CUR" LOBBY_UPDATE_DIR="$UPD"
BIN="$ROOT/$CUR/bin/lobby"
[ "$ON_TRIAL" = 1 ] || exec "$BIN" "$@"

# ---- on trial: a child with its output teed, a watchdog, and the verdict when it exits ------------------
mkdir -p "$UPD/logs"
LOG="$UPD/logs/$CUR.log"
FIFO="$UPD/.launch-$$.out"
rm -f "$FIFO"
mkfifo "$FIFO"
# tee ignores the stop signals (systemd sends SIGTERM to the whole unit): it ends when the box closes its
# output, so the box's last lines still reach the journal and the file, and the box never writes to a pipe
# nobody reads while it stops.
(
  trap '' TERM INT HUP
  exec tee -a "$LOG"
) <"$FIFO" &
TEE=$!
"$BIN" "$@" >"$FIFO" 2>&1 &
CHILD=$!
trap 'kill -TERM "$CHILD" 2>/dev/null' TERM INT HUP
LIMIT=$(($(field trialSeconds "$TRIAL") + $(field graceSeconds "$TRIAL")))
# The watchdog looks every second, and ends as soon as the box or this launcher is gone (no sleeper outlives
# them, whatever killed them).
LAUNCHER=$$
DEADLINE=$(($(date +%s) + LIMIT))
(
  while [ "$(date +%s)" -lt "$DEADLINE" ]; do
    sleep 1
    kill -0 "$LAUNCHER" 2>/dev/null && kill -0 "$CHILD" 2>/dev/null || exit 0
  done
  if marker_names "$CUR"; then
    echo "lobby-launch: version $CUR did not commit within ${LIMIT}s: stopping it" >>"$LOG"
    : >"$TIMEOUT"
    sync
    kill -TERM "$CHILD" 2>/dev/null
    i=0
    while [ "$i" -lt 15 ] && kill -0 "$CHILD" 2>/dev/null; do
      sleep 1
      i=$((i + 1))
    done
    kill -KILL "$CHILD" 2>/dev/null
  fi
) </dev/null >/dev/null 2>&1 &
DOG=$!
RC=0
wait "$CHILD" || RC=$?
while kill -0 "$CHILD" 2>/dev/null; do
  RC=0
  wait "$CHILD" || RC=$?
done
kill "$DOG" 2>/dev/null
wait "$TEE" 2>/dev/null
rm -f "$FIFO"
if marker_names "$CUR"; then
  if [ "$RC" = 3 ]; then
    roll_back refused-log
  elif [ -f "$TIMEOUT" ]; then
    roll_back health
  elif [ "$(wc -l <"$STARTS")" -ge "$(field maxStarts "$TRIAL")" ]; then
    roll_back start
  fi
  # The supervisor starts the launcher again: on the version on trial, or the one it went back to (never
  # exit 3 after going back: the unit's RestartPreventExitStatus=3 would stop it).
  [ "$RC" = 3 ] && RC=1
fi
exit "$RC"
