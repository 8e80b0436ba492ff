#!/usr/bin/env bash
# localdbs.sh up|ensure|down|status — throwaway PostgreSQL 15 + MariaDB 10.11 that emulate Amazon RDS with
# IAM database authentication, on 127.0.0.1 only. See tests/dbs/README.md.
#
#   up      (root) install what is missing, wipe $LOCALDBS_DIR, generate TLS certs, start both
#           servers, write and print $LOCALDBS_DIR/env.json. Running `up` again starts afresh.
#   ensure  (root) like up, but keeps both servers if they are already running (then it says
#           "reusing running servers" on stderr). Used by the pytest plugin.
#   down    (root) stop the servers by PID, remove the pam.d file and $LOCALDBS_DIR. Exit 0 when
#           nothing was running.
#   status  print whether each server is up; exit 0 if both are, 3 otherwise.
#
# Environment: LOCALDBS_DIR (/tmp/clickpipes-localdbs), LOCALDBS_CACHE (/var/cache/clickpipes-localdbs),
# LOCALDBS_PG_PORT (55432), LOCALDBS_MARIADB_PORT (53306),
# LOCALDBS_PAM_SERVICE (clickpipes-localdbs; clickpipes-localdbs-<cksum of dir> for another LOCALDBS_DIR),
# LOCALDBS_MARIADB_REQUIRE_TLS (1: MariaDB refuses TCP logins without TLS, like PostgreSQL here).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE=${LOCALDBS_DIR:-/tmp/clickpipes-localdbs}
CACHE=${LOCALDBS_CACHE:-/var/cache/clickpipes-localdbs}
PG_PORT=${LOCALDBS_PG_PORT:-55432}
MY_PORT=${LOCALDBS_MARIADB_PORT:-53306}
# One pam.d file per base dir, so instances in other LOCALDBS_DIRs (other ports) do not collide.
BASE_ID=$(printf '%s' "$BASE" | cksum | cut -d' ' -f1)
if [ "$BASE" = /tmp/clickpipes-localdbs ]; then DEFAULT_PAM=clickpipes-localdbs; else DEFAULT_PAM=clickpipes-localdbs-$BASE_ID; fi
PAM_SERVICE=${LOCALDBS_PAM_SERVICE:-$DEFAULT_PAM}
LOCK_FILE=/tmp/.clickpipes-localdbs-$BASE_ID.lock   # serialises up/down on the same base dir
MY_REQUIRE_TLS=${LOCALDBS_MARIADB_REQUIRE_TLS:-1}   # 1: refuse non-TLS TCP logins (unix socket is fine)
PAM_FILE=/etc/pam.d/$PAM_SERVICE
HOST=127.0.0.1
PGBIN=/usr/lib/postgresql/15/bin
PG_SUPERUSER=pgsuper
# Static test credentials: they only ever sign tokens for these throwaway servers.
IAM_ACCESS_KEY_ID=AKIACLICKPIPESTEST01
IAM_SECRET_ACCESS_KEY=localdbs/Test+Secret/0123456789abcdefGHI
IAM_REGION=us-east-1
MARKER=.clickpipes-localdbs    # marks a base dir this script may wipe

PG=$BASE/postgres; PGDATA=$PG/data; PG_RUN=$PG/run
MY=$BASE/mariadb; MY_RUN=$MY/run; MY_SOCK=$MY/run/mysqld.sock; MY_PID=$MY/run/mariadbd.pid
TLS=$BASE/tls; IAM=$BASE/iam
APT=(apt-get -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root -y -q)

log() { printf 'localdbs: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "'$1' must run as root (apt, /etc/pam.d, runuser)"; }

check_config() {
  case $BASE in /*) ;; *) die "LOCALDBS_DIR must be an absolute path: '$BASE'" ;; esac
  case $BASE in / | /tmp | /tmp/ | /var | /root | /home) die "refusing LOCALDBS_DIR='$BASE'" ;; esac
  local p
  for p in "$PG_PORT" "$MY_PORT"; do
    [[ $p =~ ^[0-9]+$ ]] && [ "$p" -gt 0 ] && [ "$p" -lt 65536 ] || die "bad port '$p'"
  done
}

# ---------------------------------------------------------------------------------------------
# packages
# ---------------------------------------------------------------------------------------------
APT_UPDATED=0
apt_update_once() { [ $APT_UPDATED = 1 ] || { "${APT[@]}" update >&2; APT_UPDATED=1; }; }

install_packages() {
  local need=()
  [ -x $PGBIN/initdb ] && [ -x $PGBIN/postgres ] || need+=(postgresql-15)
  command -v psql >/dev/null || need+=(postgresql-client-15)
  [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null || need+=(mariadb-server)
  command -v mariadb >/dev/null && command -v mariadb-admin >/dev/null || need+=(mariadb-client)
  command -v openssl >/dev/null || need+=(openssl)
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  [ -x /usr/bin/python3 ] || need+=(python3)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    apt_update_once
    # Keep the package's own service (port 3306/5432) from starting: we run private instances.
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive "${APT[@]}" install --no-install-recommends "${need[@]}" >&2 || rc=$?
    [ $made_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || die "apt-get install ${need[*]} failed (rc=$rc)"
  fi
  install_plugin_headers
}

# MariaDB server plugin headers ship only in libmariadbd-dev (~95 MB .deb): extract just them, once.
install_plugin_headers() {
  [ -f "$CACHE/include/mysql/plugin_auth.h" ] && return 0
  log "fetching MariaDB server plugin headers (libmariadbd-dev) into $CACHE"
  local tmp version
  tmp=$(mktemp -d)
  version=$(dpkg-query -W -f='${Version}' mariadb-server 2>/dev/null || true)
  if ! (cd "$tmp" && { "${APT[@]}" download "libmariadbd-dev=$version" || "${APT[@]}" download libmariadbd-dev; }) >&2; then
    apt_update_once
    (cd "$tmp" && "${APT[@]}" download libmariadbd-dev) >&2 || { rm -rf "$tmp"; die "apt-get download libmariadbd-dev failed"; }
  fi
  dpkg-deb --fsys-tarfile "$tmp"/libmariadbd-dev_*.deb \
    | tar -x -C "$tmp" --wildcards './usr/include/mariadb/server/*' \
    || { rm -rf "$tmp"; die "extracting headers from libmariadbd-dev failed"; }
  mkdir -p "$CACHE"
  rm -rf "$CACHE/include" "$CACHE/include.new"
  mv "$tmp/usr/include/mariadb/server" "$CACHE/include.new"
  basename "$tmp"/libmariadbd-dev_*.deb >"$CACHE/include.new/SOURCE-PACKAGE"
  mv "$CACHE/include.new" "$CACHE/include"
  rm -rf "$tmp"
}

# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------
# stop_pid PIDFILE SIGNAL COMM — signal the process named in PIDFILE (first line) if it is still
# the expected program, wait up to 30 s, then SIGKILL. Returns 0 if it is gone.
stop_pid() {
  local pidfile=$1 sig=$2 comm=$3 pid
  [ -f "$pidfile" ] || return 0
  pid=$(head -n1 "$pidfile" | tr -d '[:space:]')
  [[ $pid =~ ^[0-9]+$ ]] || { log "ignoring malformed pid file $pidfile"; return 0; }
  kill -0 "$pid" 2>/dev/null || return 0
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then
    log "pid $pid from $pidfile is not $comm (stale pid file), not touching it"
    return 0
  fi
  log "stopping $comm (pid $pid)"
  kill "-$sig" "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "$comm (pid $pid) did not exit in 30 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "$comm (pid $pid) survived SIGKILL"
  return 1
}

stop_servers() {
  local rc=0
  stop_pid "$PGDATA/postmaster.pid" INT postgres || rc=1          # SIGINT = fast shutdown
  stop_pid "$MY_PID" TERM mariadbd || rc=1
  stop_pid "$MY_RUN/launch.pid" TERM mariadbd || rc=1              # died before writing its pid file?
  return $rc
}

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pg_up() {
  [ -f "$PGDATA/postmaster.pid" ] && kill -0 "$(head -n1 "$PGDATA/postmaster.pid")" 2>/dev/null \
    && pg_isready -q -h "$PG_RUN" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres
}
my_up() {
  [ -f "$MY_PID" ] && kill -0 "$(cat "$MY_PID")" 2>/dev/null \
    && mariadb-admin --no-defaults -uroot --socket="$MY_SOCK" --connect-timeout=2 ping >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------
# up
# ---------------------------------------------------------------------------------------------
STEP=""
STEP_LOG=""   # the log file that explains a failure of STEP
UP_DONE=0
on_up_exit() {
  local rc=$?
  [ $UP_DONE = 1 ] && return 0
  [ $rc != 0 ] || rc=1
  log "ERROR: 'up' failed during: $STEP (rc=$rc)"
  if [ -n "$STEP_LOG" ] && [ -s "$STEP_LOG" ]; then
    log "---- last lines of $STEP_LOG"
    tail -n 25 "$STEP_LOG" >&2
  fi
  stop_servers || true
  rm -f "$PAM_FILE"
  log "servers stopped; files kept in $BASE for inspection ('$0 down' removes them)"
  exit "$rc"
}

wipe_base() {
  if [ -e "$BASE" ]; then
    if [ ! -e "$BASE/$MARKER" ] && [ -n "$(ls -A "$BASE")" ]; then
      die "$BASE exists, is not empty and was not created by localdbs.sh; refusing to wipe it"
    fi
    rm -rf "$BASE"
  fi
}

make_certs() {
  install -d -m 755 "$TLS"
  cat >"$TLS/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  local name
  for name in ca wrong-ca; do
    openssl req -x509 -new -config "$TLS/openssl.cnf" -extensions ca "${ec[@]}" -days 30 \
      -subj "/O=clickpipes-localdbs/CN=$name $(date +%s)" -keyout "$TLS/$name.key" -out "$TLS/$name.pem" 2>>"$TLS/openssl.log"
  done
  openssl req -new -config "$TLS/openssl.cnf" "${ec[@]}" -subj "/O=clickpipes-localdbs/CN=localhost" \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>>"$TLS/openssl.log"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 30 -extfile "$TLS/openssl.cnf" -extensions server \
    -out "$TLS/server.pem" 2>>"$TLS/openssl.log"
  openssl verify -CAfile "$TLS/ca.pem" "$TLS/server.pem" >/dev/null
  chmod 600 "$TLS"/*.key
  chmod 644 "$TLS"/*.pem
  rm -f "$TLS/server.csr" "$TLS/wrong-ca.key"
}

install_verifier() {
  install -d -m 755 "$IAM"
  install -m 755 "$HERE/rds_iam_verify.py" "$IAM/rds_iam_verify.py"
  /usr/bin/python3 - "$IAM/config.json" "$IAM_ACCESS_KEY_ID" "$IAM_SECRET_ACCESS_KEY" "$IAM_REGION" <<'EOF'
import json, sys
path, akid, secret, region = sys.argv[1:]
with open(path, "w") as fh:
    json.dump({"keys": {akid: secret}, "region": region, "max_skew_seconds": 300, "allowed_hosts": [],
               "authorities_dir": path.rsplit("/", 1)[0] + "/authorities"}, fh, indent=2)
EOF
  chmod 644 "$IAM/config.json"
  # Where each running local IAM (tests/harness/iam_authority.py) puts its URL: root writes, the servers read.
  install -d -m 755 "$IAM/authorities"
  # The servers' OS users must be able to execute it: an empty token must be refused (exit 1).
  local user rc
  for user in postgres mysql; do
    rc=0
    runuser -u "$user" -- "$IAM/rds_iam_verify.py" --config "$IAM/config.json" nobody </dev/null 2>/dev/null || rc=$?
    [ $rc = 1 ] || die "OS user '$user' cannot run $IAM/rds_iam_verify.py (exit $rc, expected 1)"
  done
}

start_postgres() {
  STEP="PostgreSQL initdb"; STEP_LOG=$PG/initdb.log
  install -d -o postgres -g postgres -m 755 "$PG" "$PG_RUN"
  runuser -u postgres -- $PGBIN/initdb -D "$PGDATA" -U "$PG_SUPERUSER" --auth=trust \
    -E UTF8 --no-locale --no-sync --no-instructions >"$PG/initdb.log" 2>&1
  install -o postgres -g postgres -m 600 "$TLS/server.key" "$PG/server.key"
  install -o postgres -g postgres -m 644 "$TLS/server.pem" "$PG/server.pem"
  cat >>"$PGDATA/postgresql.conf" <<EOF

# ---- clickpipes-localdbs (RDS emulation) ----
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
ssl = on
ssl_cert_file = '$PG/server.pem'
ssl_key_file = '$PG/server.key'
fsync = off
full_page_writes = off
synchronous_commit = off
shared_buffers = 32MB
max_connections = 50
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
log_connections = on
EOF
  # Like RDS with rds.force_ssl=1: TCP only over TLS; rds_iam members authenticate with a token
  # (checked by PAM -> pam_rds_iam.so -> verifier), everybody else with a SCRAM password.
  cat >"$PGDATA/pg_hba.conf" <<EOF
# TYPE  DATABASE     USER       ADDRESS       METHOD
local   all          all                      trust
hostssl all          +rds_iam   $HOST/32  pam pamservice=$PAM_SERVICE
hostssl all          all        $HOST/32  scram-sha-256
hostssl replication  +rds_iam   $HOST/32  pam pamservice=$PAM_SERVICE
hostssl replication  all        $HOST/32  scram-sha-256
EOF
  # pam_exec passes at most 511 bytes of a password (an STS-signed token is longer): our own module.
  STEP="building pam_rds_iam.so"; STEP_LOG=$PG/pam-build.log
  gcc -shared -fPIC -O2 -Wall -Werror -o "$IAM/pam_rds_iam.so" "$HERE/pam_rds_iam.c" -l:libpam.so.0 >"$STEP_LOG" 2>&1
  chmod 755 "$IAM/pam_rds_iam.so"
  printf '%s\n' "# clickpipes-localdbs: RDS IAM token check for PostgreSQL (removed by localdbs.sh down)" \
    "auth    required $IAM/pam_rds_iam.so $IAM/rds_iam_verify.py $IAM/config.json" \
    "account required pam_permit.so" >"$PAM_FILE"

  STEP="PostgreSQL start"; STEP_LOG=$PG/server.log
  setsid -w runuser -u postgres -- $PGBIN/pg_ctl -D "$PGDATA" -l "$PG/server.log" -w -t 30 start >/dev/null 9>&-

  STEP="PostgreSQL RDS roles"
  psql -qX -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres \
    -v pw="$PG_ADMIN_PASSWORD" >/dev/null <<'SQL'
CREATE ROLE rds_iam NOLOGIN;
CREATE ROLE rds_superuser NOLOGIN;
CREATE ROLE rds_replication NOLOGIN;
-- The RDS master user: powerful, but not a superuser.
CREATE ROLE rdsmaster LOGIN CREATEROLE CREATEDB PASSWORD :'pw' IN ROLE rds_superuser;
-- As on RDS, the master user owns the initial database (and so, on PG15, its public schema).
ALTER DATABASE postgres OWNER TO rdsmaster;
SQL
}

build_plugin() {
  STEP="building the AWSAuthenticationPlugin (aws_auth.so)"; STEP_LOG=$MY/plugin-build.log
  install -d -o mysql -g mysql -m 755 "$MY/plugin"
  ln -s /usr/lib/mysql/plugin/* "$MY/plugin/"
  gcc -shared -fPIC -O2 -Wall -Werror -DMYSQL_DYNAMIC_PLUGIN -I "$CACHE/include" \
    -o "$MY/plugin/aws_auth.so" "$HERE/aws_auth.c" >"$MY/plugin-build.log" 2>&1
}

start_mariadb() {
  STEP="MariaDB install-db"; STEP_LOG=$MY/install-db.log
  install -d -o mysql -g mysql -m 755 "$MY" "$MY_RUN"
  install -o mysql -g mysql -m 600 "$TLS/server.key" "$MY/server.key"
  install -o mysql -g mysql -m 644 "$TLS/server.pem" "$MY/server.pem"
  mariadb-install-db --no-defaults --datadir="$MY/data" --user=mysql \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >"$MY/install-db.log" 2>&1

  STEP="MariaDB start"; STEP_LOG=$MY/error.log
  # A clean environment; the plugin finds the verifier and its config through these variables.
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    RDS_IAM_VERIFIER="$IAM/rds_iam_verify.py" RDS_IAM_CONFIG="$IAM/config.json" \
    setsid /usr/sbin/mariadbd --no-defaults --user=mysql \
    --datadir="$MY/data" --socket="$MY_SOCK" --pid-file="$MY_PID" --log-error="$MY/error.log" \
    --port="$MY_PORT" --bind-address="$HOST" --skip-name-resolve --plugin-dir="$MY/plugin" \
    --ssl-ca="$TLS/ca.pem" --ssl-cert="$MY/server.pem" --ssl-key="$MY/server.key" \
    --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL --server-id=1 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=0 \
    --innodb-doublewrite=0 --sync-binlog=0 --max-connections=50 \
    --innodb-buffer-pool-dump-at-shutdown=0 --innodb-buffer-pool-load-at-startup=0 \
    "--require-secure-transport=$([ "$MY_REQUIRE_TLS" = 1 ] && echo ON || echo OFF)" \
    </dev/null >/dev/null 2>&1 9>&- &   # 9>&-: the servers must not inherit the up/down lock
  echo $! >"$MY_RUN/launch.pid"
  local launched=$! _
  for _ in $(seq 300); do
    my_up && break
    kill -0 "$launched" 2>/dev/null || die "mariadbd exited during startup"
    sleep 0.1
  done
  my_up || die "mariadbd did not answer within 30 s"

  STEP="MariaDB users, IAM plugin and rds_* procedures"
  mariadb --no-defaults -uroot --socket="$MY_SOCK" <<SQL
-- Loaded at run time (not --plugin-load-add) so tests can UNINSTALL/INSTALL it like on RDS.
INSTALL SONAME 'aws_auth';
CREATE USER 'admin'@'%' IDENTIFIED BY '$MY_ADMIN_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;

-- Emulation of RDS's mysql.rds_set_configuration / mysql.rds_show_configuration.
CREATE TABLE mysql.rds_configuration (
  name        VARCHAR(100) NOT NULL PRIMARY KEY,
  value       VARCHAR(100) NULL,
  description VARCHAR(300) NOT NULL
) ENGINE=InnoDB;
INSERT INTO mysql.rds_configuration VALUES
  ('binlog retention hours', NULL,
   'binlog retention hours specifies the duration in hours before binary logs are automatically deleted.');

DELIMITER //
CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_set_configuration(IN p_name VARCHAR(100), IN p_value INT)
  MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
  IF p_name IS NULL OR NOT EXISTS (SELECT 1 FROM mysql.rds_configuration WHERE name = p_name) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'Invalid configuration name';
  END IF;
  IF p_name = 'binlog retention hours' AND p_value IS NOT NULL AND (p_value < 1 OR p_value > 168) THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'For binlog retention hours the value must be between 1 and 168 inclusive or be NULL';
  END IF;
  UPDATE mysql.rds_configuration SET value = p_value WHERE name = p_name;
END//
CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_show_configuration()
  READS SQL DATA SQL SECURITY DEFINER
BEGIN
  SELECT name, value, description FROM mysql.rds_configuration ORDER BY name;
END//
DELIMITER ;
SQL
}

write_env() {
  STEP="writing env.json"; STEP_LOG=""
  HOST=$HOST PG_PORT=$PG_PORT MY_PORT=$MY_PORT PG_SUPERUSER=$PG_SUPERUSER PG_RUN=$PG_RUN MY_SOCK=$MY_SOCK \
  PG_ADMIN_PASSWORD=$PG_ADMIN_PASSWORD MY_ADMIN_PASSWORD=$MY_ADMIN_PASSWORD TLS=$TLS BASE=$BASE IAM=$IAM \
  IAM_ACCESS_KEY_ID=$IAM_ACCESS_KEY_ID IAM_SECRET_ACCESS_KEY=$IAM_SECRET_ACCESS_KEY IAM_REGION=$IAM_REGION \
  PAM_SERVICE=$PAM_SERVICE /usr/bin/python3 - "$BASE/env.json" <<'EOF'
import json, os, sys
e = os.environ
env = {
    "postgres": {
        "host": e["HOST"], "port": int(e["PG_PORT"]),
        "admin_user": "rdsmaster", "admin_password": e["PG_ADMIN_PASSWORD"],
        "superuser": e["PG_SUPERUSER"], "socket_dir": e["PG_RUN"],
    },
    "mariadb": {
        "host": e["HOST"], "port": int(e["MY_PORT"]),
        "admin_user": "admin", "admin_password": e["MY_ADMIN_PASSWORD"],
        "root_socket": e["MY_SOCK"],
    },
    "ca_file": e["TLS"] + "/ca.pem",
    "wrong_ca_file": e["TLS"] + "/wrong-ca.pem",
    "iam": {"access_key_id": e["IAM_ACCESS_KEY_ID"], "secret_access_key": e["IAM_SECRET_ACCESS_KEY"],
            "region": e["IAM_REGION"]},
    "base_dir": e["BASE"],
    "verifier": e["IAM"] + "/rds_iam_verify.py",
    "verifier_config": e["IAM"] + "/config.json",
    "pam_service": e["PAM_SERVICE"],
}
with open(sys.argv[1], "w") as fh:
    json.dump(env, fh, indent=2)
    fh.write("\n")
EOF
  chmod 644 "$BASE/env.json"
}

up() {
  need_root up
  local t0=$SECONDS
  STEP="stopping a previous instance"
  down_quiet || die "could not stop the previous instance in $BASE"
  STEP="installing packages"
  install_packages
  local p
  for p in "$PG_PORT" "$MY_PORT"; do
    if port_in_use "$p"; then
      die "port $HOST:$p is already in use by another program (set LOCALDBS_PG_PORT/LOCALDBS_MARIADB_PORT)"
    fi
  done
  STEP="preparing $BASE"
  wipe_base
  install -d -m 755 "$BASE"
  : >"$BASE/$MARKER"
  trap on_up_exit EXIT
  PG_ADMIN_PASSWORD=$(openssl rand -hex 16)
  MY_ADMIN_PASSWORD=$(openssl rand -hex 16)
  STEP="generating TLS certificates"; STEP_LOG=$TLS/openssl.log
  make_certs
  STEP="installing the IAM token verifier"
  install_verifier
  build_plugin        # first: a compile error should not wait for two servers
  start_postgres
  start_mariadb
  write_env
  UP_DONE=1
  log "up in $((SECONDS - t0)) s: PostgreSQL $HOST:$PG_PORT, MariaDB $HOST:$MY_PORT, env in $BASE/env.json"
  cat "$BASE/env.json"
}

# ---------------------------------------------------------------------------------------------
# down / status
# ---------------------------------------------------------------------------------------------
down_quiet() {
  local rc=0
  stop_servers || rc=1
  rm -f "$PAM_FILE"
  if [ -e "$BASE" ]; then
    if [ -e "$BASE/$MARKER" ]; then rm -rf "$BASE"; else log "$BASE was not created by localdbs.sh: left alone"; fi
  fi
  return $rc
}

down() {
  need_root down
  down_quiet || die "some server did not stop; see messages above"
  log "down"
}

status() {
  local rc=0
  if pg_up; then
    echo "postgres: up (pid $(head -n1 "$PGDATA/postmaster.pid"), $HOST:$PG_PORT)"
  else
    echo "postgres: down"; rc=3
  fi
  if my_up; then
    echo "mariadb: up (pid $(cat "$MY_PID"), $HOST:$MY_PORT)"
  else
    echo "mariadb: down"; rc=3
  fi
  [ -f "$BASE/env.json" ] && echo "env: $BASE/env.json"
  return $rc
}

ensure() {
  if pg_up && my_up && [ -f "$BASE/env.json" ]; then
    log "reusing running servers in $BASE"
    cat "$BASE/env.json"
  else
    up
  fi
}

with_lock() {
  exec 9>>"$LOCK_FILE"
  flock -w 900 9 || die "another localdbs.sh up/down on $BASE is still running (lock $LOCK_FILE)"
  "$@"
}

check_config
case ${1:-} in
  up) with_lock up ;;
  ensure) with_lock ensure ;;
  down) with_lock down ;;
  status) status ;;
  *) echo "usage: $0 up|ensure|down|status" >&2; exit 2 ;;
esac
