#!/bin/sh
# Create the secret files deploy/compose.yaml reads (docs/deploy.md, "Secrets for compose").
# Run once, on the server, from the repository: sh deploy/make-secrets.sh
# It never overwrites an existing secret: losing the master key loses every survivor's file.
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 0700 secrets

for name in secret_key master_key blind_index_key audit_signing_key postgres_password \
    database_url database_replica_url replication_password; do
    if [ -e "secrets/$name" ]; then
        echo "secrets/$name exists; not touching any secret. Remove the files deliberately first." >&2
        exit 1
    fi
done

token() { python3 -c "import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))" "$1"; }
key32() { head -c 32 /dev/urandom | base64; }

token 64 > secrets/secret_key
key32 > secrets/master_key
key32 > secrets/blind_index_key
key32 > secrets/audit_signing_key
password=$(token 32)
printf '%s' "$password" > secrets/postgres_password
printf 'postgres://himaya:%s@postgres:5432/himaya' "$password" > secrets/database_url
printf 'postgres://himaya:%s@postgres-replica:5432/himaya' "$password" > secrets/database_replica_url
token 32 > secrets/replication_password

# The containers run as other users (application 10001, PostgreSQL 999) and each secret is
# mounted as a single file: readable inside, private on the host through the 0700 directory.
chmod 0444 secrets/*
echo "Created deploy/secrets/. Now copy master_key, blind_index_key, audit_signing_key and"
echo "secret_key to your organisation's secret store: without them no sealed data can be read."
