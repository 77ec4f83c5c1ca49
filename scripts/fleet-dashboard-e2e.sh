#!/usr/bin/env bash
# End-to-end proof of the fleet dashboard in a real terminal, run by `npm run test:dashboard` (after
# `npm run build`):
#   1. installs tmux when missing (Debian's package; needs root and apt-get);
#   2. starts three replicas of examples/dashboard (`--attach`: Streamable HTTP plus a DashboardEndpoint,
#      one token for all) and makes a known number of calls on each with real SDK clients (2026-07-28
#      and 2025-era);
#   3. runs `lantern dashboard --url A --url B --url C` in a 120x34 tmux session: the Overview's total is
#      the sum of the calls made and the breakdown shows each replica with its own count;
#   4. kills one replica with SIGKILL: it shows as down with its counts kept, and calls made on the
#      others afterwards are counted; restarted on the same ports, it is up again and the fleet's total
#      carries on (its counters started from zero);
#   5. stops everything it started and removes its temp dir, pass or fail.
# DASHBOARD_E2E_CAPTURE_DIR=dir keeps the fleet Overview screen with its colors (dir/fleet.ansi) for
# scripts/dashboard-screenshot.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

SESSION="lantern-fleet-dashboard-e2e-$$"
WORK="$(mktemp -d)"
declare -a PIDS=("" "" "")
declare -a MCP_PORTS DASH_PORTS

log() { printf '[fleet-dashboard-e2e] %s\n' "$*"; }
fail() {
  log "FAIL: $*"
  log "screen:"
  tmux capture-pane -p -t "$SESSION" 2>/dev/null | sed 's/^/  | /' || true
  local i
  for i in 0 1 2; do [ -s "$WORK/replica-$i.log" ] && { log "replica $i output:"; tail -n 20 "$WORK/replica-$i.log" | sed 's/^/  | /'; }; done
  exit 1
}
stop_replica() {
  local pid="${PIDS[$1]}"
  if [ -n "$pid" ]; then kill -"${2:-TERM}" "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  PIDS[$1]=""
}
cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  local i
  for i in 0 1 2; do stop_replica "$i"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

source scripts/tmux-screen.sh

# Starts replica $1 on its ports and waits until its attach endpoint is announced.
start_replica() {
  local i="$1" n
  : > "$WORK/replica-$i.log"
  LANTERN_REPLICA_ID="replica-$i" PORT="${MCP_PORTS[$i]}" DASHBOARD_PORT="${DASH_PORTS[$i]}" node "$SERVER_JS" --attach >> "$WORK/replica-$i.log" 2>&1 &
  PIDS[$i]=$!
  for ((n = 0; n < 150; n++)); do
    grep -q "dashboard telemetry on http://127.0.0.1:${DASH_PORTS[$i]}" "$WORK/replica-$i.log" && return 0
    kill -0 "${PIDS[$i]}" 2>/dev/null || fail "replica $i exited"
    sleep 0.2
  done
  fail "replica $i never announced its attach endpoint"
}

# Makes $2 calls in the 2026-07-28 era and $3 in the 2025 era on replica $1.
drive() { node scripts/fleet-dashboard-e2e-client.mjs "http://127.0.0.1:${MCP_PORTS[$1]}/mcp" "$2" "$3" || fail "calls on replica $1 failed"; }

# The breakdown's row of replica $1: name, state, calls, errors.
# A replica's row is named by the replica id its telemetry carries (LANTERN_REPLICA_ID).
row() { printf 'replica-%s +%s +%s +0 ' "$1" "$2" "$3"; }

export LANTERN_DASHBOARD_TOKEN="e2e-$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')"
for i in 0 1 2; do MCP_PORTS[$i]="$(free_port)"; DASH_PORTS[$i]="$(free_port)"; done
for i in 0 1 2; do start_replica "$i"; done
log "three replicas up: MCP on ${MCP_PORTS[*]}, telemetry on ${DASH_PORTS[*]}"

# Known calls: 5, 7 and 9 (21 in all), each replica serving both eras.
drive 0 3 2
drive 1 4 3
drive 2 5 4
URLS="--url http://127.0.0.1:${DASH_PORTS[0]} --url http://127.0.0.1:${DASH_PORTS[1]} --url http://127.0.0.1:${DASH_PORTS[2]}"
start_tmux "node $CLI_JS dashboard $URLS --token \$LANTERN_DASHBOARD_TOKEN; echo CLI-EXITED=\$?; sleep 600"
wait_for "LANTERN +hr-api 1\\.0\\.0 · http 3 of 3 replicas up"
wait_for "Calls +21 +Errors +0 "
wait_for "Replicas \\(3 of 3 up\\)"
wait_for "$(row 0 up 5)"
wait_for "$(row 1 up 7)"
wait_for "$(row 2 up 9)"
wait_for "attached to 3 replicas"
log "Overview: 21 calls = 5 + 7 + 9, one row per replica: ok"

stop_replica 2 KILL
log "replica 2 killed (SIGKILL)"
wait_for "$(row 2 down 9).*stale counts · unreachable \\(ECONNREFUSED\\)"
wait_for "Replicas \\(2 of 3 up\\)"
drive 0 2 2
drive 1 3 0
wait_for "Calls +28 +Errors +0 "
wait_for "$(row 0 up 9)"
wait_for "$(row 1 up 10)"
screen | grep -Eq "$(row 2 down 9)" || fail "the killed replica is no longer shown as down"
log "killed replica down with its 9 calls kept; 7 calls made since on the others counted (28): ok"
if [ -n "${DASHBOARD_E2E_CAPTURE_DIR:-}" ]; then
  mkdir -p "$DASHBOARD_E2E_CAPTURE_DIR"
  tmux capture-pane -e -p -t "$SESSION" > "$DASHBOARD_E2E_CAPTURE_DIR/fleet.ansi"
fi

start_replica 2
drive 2 1 1
wait_for "$(row 2 up 11).*restarted 1×"
wait_for "Calls +30 +Errors +0 "
wait_for "Replicas \\(3 of 3 up\\)"
log "restarted replica up again, its 2 new calls added to its 9 (fleet 30): ok"

tmux send-keys -t "$SESSION" 2
wait_for "\\[2 Tools\\]" 10
wait_for "search_employees +30 +0 "
tmux send-keys -t "$SESSION" 3
wait_for "\\[3 Agents\\]" 10
wait_for "fleet-modern +[0-9]+ +0 +2026-07-28 +18 +0 +0 "
# The 2025-era client leaves its sessions open (it never sends DELETE): 5 seen, 4 open, the killed
# replica's one no longer counted as open.
wait_for "fleet-legacy +5 +4 +2025-[0-9-]+ +12 +0 +0 "
log "Tools and Agents tabs add up over the replicas: ok"
tmux send-keys -t "$SESSION" 4
wait_for "\\[4 Logs\\]" 10
wait_for "TIME +REPLICA +CLIENT +TOOL"
wait_for "replica-2 +fleet-legacy +search_employees +ok"
wait_for "30 recent calls"
tmux send-keys -t "$SESSION" 6
wait_for "\\[6 Raw Logs\\]" 10
for i in 0 1 2; do wait_for "replica-$i +console\\.log +hr-api is up"; done
log "Logs and Raw Logs name the replica of each line: ok"
screen | grep -q "$LANTERN_DASHBOARD_TOKEN" && fail "the token is on screen"
tmux send-keys -t "$SESSION" q
wait_for "CLI-EXITED=0" 20
log "q quit lantern dashboard: ok"
log "PASS"
