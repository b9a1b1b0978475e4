"""Data keys for envelope encryption (see himaya.core.crypto)."""
