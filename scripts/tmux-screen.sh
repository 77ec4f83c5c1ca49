# Shared by the dashboard end-to-end scripts (sourced from the repository root, after they define
# SESSION, log and fail): the terminal's size and the built files they run, installs tmux when
# missing, checks the build, starts the tmux session and reads its screen.

COLS=120
ROWS=34
SERVER_JS=dist-examples/examples/dashboard/main.js
CLI_JS=dist/cli/main.js

if ! command -v tmux >/dev/null; then
  log "installing tmux"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
fi
[ -f "$SERVER_JS" ] && [ -f "$CLI_JS" ] || { log "build first: npm run build"; exit 1; }

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
screen() { tmux capture-pane -p -t "$SESSION"; }

# Runs command $1 in the $COLS x $ROWS tmux session. Ink draws only the last frame when it sees a CI
# variable (its is-in-ci check): a person's terminal has none, so the command runs without them.
start_tmux() { tmux new-session -d -s "$SESSION" -x "$COLS" -y "$ROWS" "env -u CI -u CONTINUOUS_INTEGRATION $1"; }

# Waits (at most $2 seconds, default 30) until the screen matches the extended regex $1.
wait_for() {
  local pattern="$1" limit="${2:-30}" i
  for ((i = 0; i < limit * 5; i++)); do
    screen | grep -Eq -- "$pattern" && return 0
    sleep 0.2
  done
  fail "the screen never showed /$pattern/"
}
