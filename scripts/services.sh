#!/usr/bin/env bash
# The services adkg owns: Neo4j 5.26 Community (embedded, launched from tools/neo4j) and Redis (Debian's redis-server).
#
#   bash scripts/services.sh up       start whatever is not answering; a no-op when both answer
#   bash scripts/services.sh down     stop both cleanly
#   bash scripts/services.sh status   print each service and whether it answers; exit 1 unless both do
#
# Ports follow the same variables the code reads (src/common/config.ts):
#   NEO4J_URI (default bolt://127.0.0.1:7687)  or ADKG_NEO4J_BOLT_PORT to pick the Bolt port directly
#   REDIS_URL (default redis://127.0.0.1:6379)
# Other knobs: ADKG_SERVICES_DIR (default <repo>/.services), ADKG_NEO4J_HOME (default $ADKG_SERVICES_DIR/neo4j),
#   ADKG_NEO4J_HEAP (JVM heap, -Xms = -Xmx, default 1g; other JVM options in tools/neo4j/jvm.options), ADKG_NEO4J_PAGECACHE (default 256m), ADKG_SERVICES_TIMEOUT (seconds, default 180).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${ADKG_SERVICES_DIR:-$ROOT/.services}"
NEO4J_HOME="${ADKG_NEO4J_HOME:-$SERVICES_DIR/neo4j}"
NEO4J_LOG="$SERVICES_DIR/neo4j.log"
NEO4J_PIDFILE="$SERVICES_DIR/neo4j.pid"
REDIS_DIR="$SERVICES_DIR/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
LAUNCHER_DIR="$ROOT/tools/neo4j"
LAUNCHER_JAR="$LAUNCHER_DIR/target/adkg-neo4j.jar"
TIMEOUT="${ADKG_SERVICES_TIMEOUT:-180}"

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

# host and port of a URL such as bolt://127.0.0.1:7687 or redis://:pw@localhost:6380/0
url_host() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; printf '%s' "${rest%%:*}"; }
url_port() {
  local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"
  if [[ "$rest" == *:* ]]; then printf '%s' "${rest##*:}"; else printf '%s' "$2"; fi
}
is_local() { [[ "$1" == 127.0.0.1 || "$1" == localhost || "$1" == "::1" ]]; }

NEO4J_URI_EFFECTIVE="${NEO4J_URI:-bolt://127.0.0.1:7687}"
REDIS_URL_EFFECTIVE="${REDIS_URL:-redis://127.0.0.1:6379}"
NEO4J_HOST="$(url_host "$NEO4J_URI_EFFECTIVE")"
REDIS_HOST="$(url_host "$REDIS_URL_EFFECTIVE")"
BOLT_PORT="${ADKG_NEO4J_BOLT_PORT:-$(url_port "$NEO4J_URI_EFFECTIVE" 7687)}"
REDIS_PORT="$(url_port "$REDIS_URL_EFFECTIVE" 6379)"
[[ "$BOLT_PORT" =~ ^[0-9]+$ ]] || die "Bolt port '$BOLT_PORT' (from NEO4J_URI/ADKG_NEO4J_BOLT_PORT) is not a number"
[[ "$REDIS_PORT" =~ ^[0-9]+$ ]] || die "Redis port '$REDIS_PORT' (from REDIS_URL) is not a number"
# With ADKG_NEO4J_BOLT_PORT alone, the checks go to the local server on that port.
if [[ -n "${ADKG_NEO4J_BOLT_PORT:-}" && -z "${NEO4J_URI:-}" ]]; then NEO4J_URI_EFFECTIVE="bolt://127.0.0.1:$BOLT_PORT"; fi

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# True when the process in pidfile $1 is alive and its command line contains $2 (guards against reused pids).
pid_alive() {
  local pidfile="$1" pattern="$2" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern"
}

# ---------- Neo4j ----------

# The pid of the launcher JVM whose ADKG_NEO4J_HOME is ours (empty when none runs).
neo4j_pid_by_home() {
  local pid
  for pid in $(pgrep -f -- adkg-neo4j.jar); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx -- "ADKG_NEO4J_HOME=$NEO4J_HOME" || continue
    echo "$pid"
    return 0
  done
}

# Runs RETURN 1 over Bolt with neo4j-driver; prints the server version on success.
neo4j_query() {
  [[ -d "$ROOT/node_modules/neo4j-driver" ]] || { echo "neo4j-driver is not installed (run npm ci)"; return 2; }
  (cd "$ROOT" && NEO4J_CHECK_URI="$NEO4J_URI_EFFECTIVE" timeout 30 node -e '
    const neo4j = require("neo4j-driver");
    const auth = neo4j.auth.basic(process.env.NEO4J_USER || "neo4j", process.env.NEO4J_PASSWORD || "adkg-local");
    const driver = neo4j.driver(process.env.NEO4J_CHECK_URI, auth, { connectionTimeout: 5000, maxConnectionPoolSize: 1 });
    (async () => {
      const session = driver.session();
      try {
        const one = await session.run("RETURN 1 AS one");
        if (one.records[0].get("one").toNumber() !== 1) throw new Error("RETURN 1 did not return 1");
        const c = await session.run("CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition AS e");
        console.log(c.records[0].get("v") + " " + c.records[0].get("e"));
      } finally { await session.close(); await driver.close(); }
    })().catch((e) => {
      const cause = /Caused by: (.*)/.exec(e.message);
      console.log(cause ? cause[1] : e.message.split("\n")[0]);
      process.exit(1);
    });
  ' 2>&1)
}

# The JVM options of every adkg Neo4j server (tools/neo4j/jvm.options), with this server's heap.
mapfile -t NEO4J_JVM_OPTS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$LAUNCHER_DIR/jvm.options")
NEO4J_JVM_OPTS=(-Xms"${ADKG_NEO4J_HEAP:-1g}" -Xmx"${ADKG_NEO4J_HEAP:-1g}" "${NEO4J_JVM_OPTS[@]}")

launcher_needs_build() {
  [[ -f "$LAUNCHER_JAR" && -d "$LAUNCHER_DIR/target/lib" ]] || return 0
  [[ "$LAUNCHER_DIR/pom.xml" -nt "$LAUNCHER_JAR" ]] && return 0
  [[ -n "$(find "$LAUNCHER_DIR/src" -newer "$LAUNCHER_JAR" -type f -print -quit)" ]] && return 0
  return 1
}

ensure_java_and_maven() {
  if command -v java >/dev/null && command -v mvn >/dev/null; then return 0; fi
  apt_install openjdk-17-jdk-headless maven
}

build_launcher() {
  ensure_java_and_maven
  log "building the Neo4j launcher (tools/neo4j, Maven; a first build downloads ~125 MB of jars into ~/.m2)"
  local started=$SECONDS
  # After a pom change, clean so target/lib never holds jars of an older Neo4j version next to the new ones.
  local goals=(package)
  if [[ -f "$LAUNCHER_JAR" && "$LAUNCHER_DIR/pom.xml" -nt "$LAUNCHER_JAR" ]]; then goals=(clean package); fi
  # sed: Maven 3.8 prints colour resets even with -B -q.
  mvn -q -B -Dstyle.color=never -f "$LAUNCHER_DIR/pom.xml" "${goals[@]}" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 \
    || die "Maven build of tools/neo4j failed (see output above)"
  log "launcher built in $((SECONDS - started))s"
}

neo4j_up() {
  if ! is_local "$NEO4J_HOST"; then
    log "neo4j: NEO4J_URI points at $NEO4J_HOST, not this machine; not starting a local server"
    local out; out="$(neo4j_query)" || die "neo4j: $NEO4J_URI_EFFECTIVE does not answer: $out"
    log "neo4j: $NEO4J_URI_EFFECTIVE answers (Neo4j $out)"
    return 0
  fi
  # Built even when a server already answers: the tests start private servers from this checkout's launcher.
  if launcher_needs_build; then build_launcher; fi
  local out
  if pid_alive "$NEO4J_PIDFILE" adkg-neo4j.jar; then
    local running_port
    running_port="$(tr '\0' '\n' <"/proc/$(cat "$NEO4J_PIDFILE")/environ" | sed -n 's/^ADKG_NEO4J_BOLT_PORT=//p')"
    [[ "$running_port" == "$BOLT_PORT" ]] || die "neo4j: the server started from $SERVICES_DIR runs on port $running_port, not $BOLT_PORT; \
run 'services.sh down' first, or give a second instance its own ADKG_SERVICES_DIR"
  fi
  if pid_alive "$NEO4J_PIDFILE" adkg-neo4j.jar || port_open 127.0.0.1 "$BOLT_PORT"; then
    if out="$(neo4j_query)"; then
      log "neo4j: already up on $NEO4J_URI_EFFECTIVE (Neo4j $out)"
      return 0
    fi
    if ! pid_alive "$NEO4J_PIDFILE" adkg-neo4j.jar; then
      die "neo4j: port $BOLT_PORT is taken by a process that does not answer Bolt ($out); free it or set ADKG_NEO4J_BOLT_PORT/NEO4J_URI"
    fi
    log "neo4j: our server (pid $(cat "$NEO4J_PIDFILE")) is running but not answering yet; waiting"
  else
    mkdir -p "$NEO4J_HOME" "$SERVICES_DIR"
    log "neo4j: starting on 127.0.0.1:$BOLT_PORT (data $NEO4J_HOME, log $NEO4J_LOG)"
    printf '\n==== %s starting adkg-neo4j on port %s\n' "$(date -Is)" "$BOLT_PORT" >>"$NEO4J_LOG"
    # setsid+nohup: the server outlives this shell and the npm/jest process that called it.
    ADKG_NEO4J_HOME="$NEO4J_HOME" ADKG_NEO4J_BOLT_PORT="$BOLT_PORT" ADKG_NEO4J_PAGECACHE="${ADKG_NEO4J_PAGECACHE:-256m}" \
      setsid nohup java "${NEO4J_JVM_OPTS[@]}" -jar "$LAUNCHER_JAR" >>"$NEO4J_LOG" 2>&1 </dev/null 9>&- &
    echo $! >"$NEO4J_PIDFILE"
    # setsid forks when its caller leads a process group (a shell with job control on), and then $! is a parent
    # that has already exited: record the java process itself.
    local real
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      real="$(neo4j_pid_by_home)"
      [[ -n "$real" ]] && break
      sleep 0.3
    done
    [[ -n "$real" ]] && echo "$real" >"$NEO4J_PIDFILE"
  fi
  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! pid_alive "$NEO4J_PIDFILE" adkg-neo4j.jar; then
      tail -n 25 "$NEO4J_LOG" >&2 || true
      die "neo4j: the server exited during start-up; see $NEO4J_LOG and $NEO4J_HOME/logs/debug.log"
    fi
    if port_open 127.0.0.1 "$BOLT_PORT" && out="$(neo4j_query)"; then
      log "neo4j: up on $NEO4J_URI_EFFECTIVE (Neo4j $out, pid $(cat "$NEO4J_PIDFILE"))"
      return 0
    fi
    sleep 1
  done
  tail -n 25 "$NEO4J_LOG" >&2 || true
  die "neo4j: Bolt on 127.0.0.1:$BOLT_PORT did not answer RETURN 1 within ${TIMEOUT}s; see $NEO4J_LOG and $NEO4J_HOME/logs/debug.log"
}

neo4j_down() {
  if ! pid_alive "$NEO4J_PIDFILE" adkg-neo4j.jar; then
    rm -f "$NEO4J_PIDFILE"
    if is_local "$NEO4J_HOST" && port_open 127.0.0.1 "$BOLT_PORT"; then
      log "neo4j: port $BOLT_PORT is served by a process this project did not start; leaving it alone"
    else
      log "neo4j: not running"
    fi
    return 0
  fi
  local pid; pid="$(cat "$NEO4J_PIDFILE")"
  log "neo4j: stopping pid $pid (checkpoint and clean shutdown)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 90))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "neo4j: still running after 90s; killing pid $pid (the next start will recover from the transaction log)"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$NEO4J_PIDFILE"
  log "neo4j: stopped"
}

# ---------- Redis ----------

redis_cli() { timeout 10 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"; }

apt_install() {
  [[ "$(id -u)" == 0 ]] || die "$* missing and this is not root: install it with: sudo apt-get install -y $*"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1; then
    log "apt-get install $* failed with the current package lists; running apt-get update first"
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
  fi
  log "installed $* with apt-get"
}

redis_up() {
  if ! command -v redis-cli >/dev/null || ! command -v redis-server >/dev/null; then apt_install redis-server; fi
  if [[ "$(redis_cli ping 2>/dev/null)" == PONG ]]; then
    local policy; policy="$(redis_cli config get maxmemory-policy | sed -n 2p)"
    if [[ "$policy" != noeviction ]]; then
      log "redis: maxmemory-policy was '$policy'; setting noeviction (queues must never lose jobs)"
      redis_cli config set maxmemory-policy noeviction >/dev/null
    fi
    log "redis: already up on $REDIS_URL_EFFECTIVE"
    return 0
  fi
  is_local "$REDIS_HOST" || die "redis: REDIS_URL points at $REDIS_HOST, which does not answer PING; not starting a local server"
  if pid_alive "$REDIS_PIDFILE" redis-server; then
    die "redis: the server started from $SERVICES_DIR runs as '$(tr -s '\0 ' ' ' <"/proc/$(cat "$REDIS_PIDFILE")/cmdline" | sed 's/ *$//')', not on port $REDIS_PORT; \
run 'services.sh down' first, or give a second instance its own ADKG_SERVICES_DIR"
  fi
  port_open 127.0.0.1 "$REDIS_PORT" && die "redis: port $REDIS_PORT is taken by something that does not answer PING; free it or set REDIS_URL"
  mkdir -p "$REDIS_DIR"
  log "redis: starting on 127.0.0.1:$REDIS_PORT (data $REDIS_DIR)"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" \
    --maxmemory-policy noeviction --save 60 1000 --appendonly no >/dev/null 9>&- \
    || die "redis: redis-server failed to start; see $REDIS_LOG"
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    if [[ "$(redis_cli ping 2>/dev/null)" == PONG ]]; then
      log "redis: up on $REDIS_URL_EFFECTIVE (pid $(cat "$REDIS_PIDFILE" 2>/dev/null || echo '?'))"
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$REDIS_LOG" >&2 || true
  die "redis: no PONG on 127.0.0.1:$REDIS_PORT within 30s; see $REDIS_LOG"
}

redis_down() {
  if ! pid_alive "$REDIS_PIDFILE" redis-server; then
    rm -f "$REDIS_PIDFILE"
    if [[ "$(redis_cli ping 2>/dev/null)" == PONG ]]; then
      log "redis: $REDIS_URL_EFFECTIVE is served by a process this project did not start; leaving it alone"
    else
      log "redis: not running"
    fi
    return 0
  fi
  local pid; pid="$(cat "$REDIS_PIDFILE")"
  log "redis: stopping pid $pid"
  redis_cli shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$REDIS_PIDFILE"
  log "redis: stopped"
}

# ---------- commands ----------

status() {
  local ok=0 out
  if out="$(neo4j_query)"; then
    printf 'neo4j  %-28s up    Neo4j %s\n' "$NEO4J_URI_EFFECTIVE" "$out"
  else
    printf 'neo4j  %-28s DOWN  %s\n' "$NEO4J_URI_EFFECTIVE" "$out"
    ok=1
  fi
  if command -v redis-cli >/dev/null && [[ "$(redis_cli ping 2>/dev/null)" == PONG ]]; then
    printf 'redis  %-28s up    maxmemory-policy %s\n' "$REDIS_URL_EFFECTIVE" "$(redis_cli config get maxmemory-policy | sed -n 2p)"
  else
    printf 'redis  %-28s DOWN\n' "$REDIS_URL_EFFECTIVE"
    ok=1
  fi
  return $ok
}

# One `up`/`down` at a time per services directory (several shells may run npm test at once).
with_lock() {
  mkdir -p "$SERVICES_DIR"
  exec 9>"$SERVICES_DIR/.lock"
  if ! flock -n 9; then
    log "another services.sh holds $SERVICES_DIR/.lock; waiting for it"
    flock -w "$((TIMEOUT + 300))" 9 || die "timed out waiting for $SERVICES_DIR/.lock"
  fi
  "$@"
}

up() {
  local started=$SECONDS
  redis_up
  neo4j_up
  log "both services up ($((SECONDS - started))s)"
}

down() {
  neo4j_down
  redis_down
}

case "${1:-}" in
  up) with_lock up ;;
  down) with_lock down ;;
  status) status ;;
  *) echo "usage: bash scripts/services.sh up|down|status" >&2; exit 2 ;;
esac
