#!/bin/sh
# Primary, first start only (the postgres image runs /docker-entrypoint-initdb.d/* once, on an
# empty data directory): a role that may stream the WAL to the replica, and its pg_hba line.
set -eu
password=$(cat /run/secrets/replication_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$password" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
