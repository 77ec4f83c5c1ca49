#!/usr/bin/env bash
# End-to-end proof of the live dashboard in a real terminal, run by `npm run test:dashboard`
# (after `npm run build`):
#   1. installs tmux when missing (Debian's package; needs root and apt-get);
#   2. in-process: starts examples/dashboard over Streamable HTTP with listen({ dashboard: true }) in a
#      120x34 tmux session, drives known calls with two real SDK clients, presses 1-6 and reads each
#      tab from `tmux capture-pane`, then q, which must stop the server;
#   3. attach: a real SDK client spawns the same example over stdio (telemetry on a token-protected
#      loopback endpoint) and drives the same calls; `lantern dashboard --url --token` runs in tmux,
#      1-6 are pressed and read again, then q;
#   4. stops everything it started and removes its temp dir, pass or fail.
# DASHBOARD_E2E_CAPTURE_DIR=dir keeps the Overview screen with its colors (dir/overview.ansi) for
# scripts/dashboard-screenshot.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

SESSION="lantern-dashboard-e2e-$$"
WORK="$(mktemp -d)"
DRIVER_PID=""

log() { printf '[dashboard-e2e] %s\n' "$*"; }
fail() {
  log "FAIL: $*"
  log "screen:"
  tmux capture-pane -p -t "$SESSION" 2>/dev/null | sed 's/^/  | /' || true
  [ -s "$WORK/server.err" ] && { log "server stderr:"; sed 's/^/  | /' "$WORK/server.err"; }
  exit 1
}
cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  if [ -n "$DRIVER_PID" ]; then kill "$DRIVER_PID" 2>/dev/null || true; wait "$DRIVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

source scripts/tmux-screen.sh

# Presses key $1, waits for tab $2 to be the active one, then checks every further pattern.
tab() {
  local key="$1" title="$2"
  shift 2
  tmux send-keys -t "$SESSION" "$key"
  wait_for "\\[$key $title\\]" 10
  local pattern
  for pattern in "$@"; do wait_for "$pattern" 5; done
  log "tab $key $title: ok"
}

# ---- 1. in-process, Streamable HTTP ------------------------------------------------------------
PORT="$(free_port)"
log "in-process dashboard: $SERVER_JS on port $PORT"
start_tmux "PORT=$PORT node $SERVER_JS 2>$WORK/server.err; echo SERVER-EXITED=\$?; sleep 600"
wait_for "LANTERN +hr-api 1\\.0\\.0 · http http://127\\.0\\.0\\.1:$PORT/mcp"
node scripts/dashboard-e2e-client.mjs http "http://127.0.0.1:$PORT/mcp"
wait_for "Calls +6 +Errors +1 +Error rate 17% ▲ >5%"
tab 1 Overview "Clients +2 connected" "claude-desktop +create_employee +ok" "cursor +create_employee +error" "p50 +[0-9.]+ m?s"
if [ -n "${DASHBOARD_E2E_CAPTURE_DIR:-}" ]; then
  mkdir -p "$DASHBOARD_E2E_CAPTURE_DIR"
  tmux capture-pane -e -p -t "$SESSION" > "$DASHBOARD_E2E_CAPTURE_DIR/overview.ansi"
fi
tab 2 Tools "search_employees +4 +0 " "create_employee +2 +1 "
tab 3 Agents "cursor +1 +1 +2025-11-25 +2 +1 +0 " "claude-desktop +1 +1 +2025-11-25 +4 +0 +0 +[0-9:]+ +[0-9:]+ +create_employee"
tab 4 Logs "cursor +create_employee +error .*-32602: Invalid arguments" "6 recent calls"
tab 5 Metrics "Throughput calls/s, last 5m" "█" "Percentiles +p50 " "-32602 +1 +create_employee +1"
tab 6 "Raw Logs" "console\\.log +hr-api is up" "stdout +\\{.*\"message\":\"call finished\""
tmux send-keys -t "$SESSION" Tab
wait_for "\\[1 Overview\\]" 10
tmux send-keys -t "$SESSION" Left
wait_for "\\[6 Raw Logs\\]" 10
log "Tab and ← switch tabs: ok"
tmux send-keys -t "$SESSION" q
wait_for "SERVER-EXITED=0" 20
log "q stopped the server: ok"
tmux kill-session -t "$SESSION"

# ---- 2. attach mode, stdio server --------------------------------------------------------------
export LANTERN_DASHBOARD_TOKEN="e2e-$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')"
export DASHBOARD_PORT="$(free_port)"
log "attach mode: stdio server spawned by a real client, telemetry on port $DASHBOARD_PORT"
node scripts/dashboard-e2e-client.mjs stdio "$SERVER_JS" "$WORK/ready" > "$WORK/server.err" 2>&1 &
DRIVER_PID=$!
for ((i = 0; i < 150; i++)); do [ -s "$WORK/ready" ] && break; kill -0 "$DRIVER_PID" 2>/dev/null || fail "the stdio client stopped"; sleep 0.2; done
[ -s "$WORK/ready" ] || fail "the stdio server never exposed its telemetry"
URL="$(cat "$WORK/ready")"
start_tmux "node $CLI_JS dashboard --url $URL --token \$LANTERN_DASHBOARD_TOKEN; echo CLI-EXITED=\$?; sleep 600"
wait_for "LANTERN +hr-api 1\\.0\\.0 · stdio"
tab 1 Overview "Calls +6 +Errors +1 " "Clients +1 connected" "stdio-agent +create_employee +error" "attached to http://127\\.0\\.0\\.1:$DASHBOARD_PORT"
tab 2 Tools "search_employees +4 +0 " "create_employee +2 +1 "
tab 3 Agents "stdio-agent +1 +1 +[0-9-]+ +6 +1 +0 "
tab 4 Logs "stdio-agent +create_employee +error .*-32602: Invalid arguments"
tab 5 Metrics "Percentiles +p50 " "-32602 +1 +create_employee +1"
tab 6 "Raw Logs" "stderr +\\{.*\"message\":\"call finished\""
screen | grep -q "$LANTERN_DASHBOARD_TOKEN" && fail "the token is on screen"
tmux send-keys -t "$SESSION" q
wait_for "CLI-EXITED=0" 20
log "q quit lantern dashboard: ok"
log "PASS"
