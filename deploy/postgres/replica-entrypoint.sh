#!/bin/sh
# Streaming replica (hot standby) of the primary `postgres` service, for statistics reads.
# First start: copy the primary with pg_basebackup, which also writes standby.signal and the
# connection to follow (-R) and creates a replication slot (-C -S) so that the primary keeps
# the WAL this replica has not received yet. Later starts: just run the standby.
set -eu
export PGDATA=/var/lib/postgresql/data/pgdata
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -q -h postgres -p 5432; do sleep 1; done
    PGPASSWORD=$(cat /run/secrets/replication_password) pg_basebackup \
        --host=postgres --port=5432 --username=replicator --pgdata="$PGDATA" \
        --wal-method=stream --write-recovery-conf --create-slot --slot=himaya_replica \
        --no-password --progress
fi
exec postgres
