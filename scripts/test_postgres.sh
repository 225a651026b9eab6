#!/usr/bin/env bash
# Run the test suite against a throwaway PostgreSQL database, dropped afterwards.
set -euo pipefail
HOST=${PGHOST:-127.0.0.1}
USER_=${PGUSER:-postgres}
DB="gatehouse_test_$(date +%s)_$$"
psql -h "$HOST" -U "$USER_" -d postgres -qc "CREATE DATABASE $DB"
# the suite's parallel workers each make a database of their own beside it: $DB_gw0, ...
drop_all() {
  for db in $(psql -h "$HOST" -U "$USER_" -d postgres -Atc \
      "SELECT datname FROM pg_database WHERE datname = '$DB' OR datname LIKE '${DB}\_gw%'"); do
    psql -h "$HOST" -U "$USER_" -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  done
}
trap drop_all EXIT
export GATEHOUSE_TEST_DATABASE_URL="postgresql+psycopg://$USER_@$HOST:5432/$DB"
rc=0
.venv/bin/python -m pytest "$@" || rc=$?
if [ "$rc" -eq 5 ]; then rc=0; fi
exit "$rc"
