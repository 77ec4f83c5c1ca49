# Shared by the dashboard end-to-end scripts (sourced, after they define SESSION, SERVER_JS, CLI_JS,
# log and fail): installs tmux when missing, checks the build, and reads the tmux screen.

if ! command -v tmux >/dev/null; then
  log "installing tmux"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
fi
[ -f "$SERVER_JS" ] && [ -f "$CLI_JS" ] || { log "build first: npm run build"; exit 1; }

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
screen() { tmux capture-pane -p -t "$SESSION"; }

# Waits (at most $2 seconds, default 30) until the screen matches the extended regex $1.
wait_for() {
  local pattern="$1" limit="${2:-30}" i
  for ((i = 0; i < limit * 5; i++)); do
    screen | grep -Eq -- "$pattern" && return 0
    sleep 0.2
  done
  fail "the screen never showed /$pattern/"
}
