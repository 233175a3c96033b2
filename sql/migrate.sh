#!/bin/sh
# migrate.sh: applies sql/migrations/NNN_*.sql in order, each in its own
# transaction, recording it in schema_migrations so that a second run is a
# no-op. Usage: sql/migrate.sh [psql connection options or conninfo]
# (for example: sql/migrate.sh "host=/run/pf dbname=personaforge").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
conn=${1:-${PF_DATABASE:-}}
psql_run() { psql -X -q -v ON_ERROR_STOP=1 ${conn:+"$conn"} "$@"; }

psql_run -c "CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())" 2>/dev/null || true
for file in "$here"/migrations/[0-9][0-9][0-9]_*.sql; do
	version=$(basename "$file" .sql)
	# one transaction per migration; the advisory lock serialises concurrent
	# runs, the insert is what makes a second run skip it
	psql_run -1 <<SQL
SELECT pg_advisory_xact_lock(727272);
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = '$version') AS todo \gset
\if :todo
\i $file
INSERT INTO schema_migrations (version) VALUES ('$version');
\echo applied $version
\endif
SQL
done
