"""The append-only, hash-chained audit log (see himaya.core.audit)."""
