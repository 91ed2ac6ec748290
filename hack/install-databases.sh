#!/usr/bin/env bash
# Makes PostgreSQL and MariaDB answer on loopback, as make run and make test need them (the SQL
# broker's shared servers): installs them from Debian when missing and starts them when stopped.
# What this script installs gets the access the defaults assume (POSTGRES_URL
# postgres://postgres@127.0.0.1:5432/postgres, MARIADB_URL mysql://root@127.0.0.1:3306): PostgreSQL
# trusts loopback connections and MariaDB's root connects from 127.0.0.1 without a password. That
# suits a development machine only. With POSTGRES_URL or MARIADB_URL set, that server is yours:
# this script leaves it alone.
set -euo pipefail

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_listening() {
  for _ in $(seq 1 60); do
    listening "$1" && return 0
    sleep 0.5
  done
  echo "$2 did not start on 127.0.0.1:$1" >&2
  return 1
}

apt_install() {
  echo "installing $* from Debian" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  listening 5432 && return 0
  local fresh=no
  if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    apt_install postgresql postgresql-contrib
    fresh=yes
  fi
  local version cluster
  read -r version cluster _ < <(pg_lsclusters --no-header | head -n 1) || true
  if [ -z "${version:-}" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    cluster=main
    $SUDO pg_createcluster "$version" "$cluster" >/dev/null
    fresh=yes
  fi
  if [ "$fresh" = yes ]; then
    # the broker administers it as postgres, without a password, from loopback only
    $SUDO sed -i -E 's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+)[a-z0-9-]+#\1trust#' \
      "/etc/postgresql/$version/$cluster/pg_hba.conf"
  fi
  # the package's installation may have started it already
  if pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1; then
    $SUDO pg_ctlcluster "$version" "$cluster" reload
  else
    $SUDO pg_ctlcluster "$version" "$cluster" start
  fi
  wait_listening 5432 PostgreSQL
}

ensure_mariadb() {
  listening 3306 && return 0
  local fresh=no
  if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    apt_install mariadb-server
    fresh=yes
  fi
  if [ -x /etc/init.d/mariadb ]; then
    $SUDO /etc/init.d/mariadb start >/dev/null
  else
    $SUDO sh -c 'mariadbd-safe --user=mysql >/dev/null 2>&1 &'
  fi
  wait_listening 3306 MariaDB
  if [ "$fresh" = yes ]; then
    # root connects through the socket as the system's root; this adds root from loopback over TCP
    $SUDO mariadb -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
  fi
}

[ -n "${POSTGRES_URL:-}" ] || ensure_postgres
[ -n "${MARIADB_URL:-}" ] || ensure_mariadb
