"""The Ed25519 key that signs audit checkpoints. It lives outside the database.

Where the key comes from, first match wins:

1. ``settings.HIMAYA_AUDIT_SIGNING_KEY`` (environment ``HIMAYA_AUDIT_SIGNING_KEY`` or
   ``HIMAYA_AUDIT_SIGNING_KEY_FILE``): the 32-byte private key in base64, or a PKCS#8 PEM.
2. The file ``audit-signing.ed25519`` (PKCS#8 PEM, mode 0600) in ``settings.KEYS_DIR``;
   created on first use when ``settings.HIMAYA_KEY_AUTOCREATE`` is true (the embedded default).

The public key is written beside the private key file as ``audit-signing.ed25519.pub``
(SubjectPublicKeyInfo PEM, readable by ``openssl``) so auditors can verify checkpoints offline
without ever holding the private key. Someone who can only write to the database cannot
produce a valid checkpoint signature; that is what makes rewriting the whole chain detectable.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_FILENAME = "audit-signing.ed25519"
PUBLIC_KEY_FILENAME = KEY_FILENAME + ".pub"
# Public keys of retired signing keys, kept so old checkpoints still verify after rotation.
RETIRED_PUBLIC_KEY_GLOB = "audit-signing-*.ed25519.pub"
ENV_VAR = "HIMAYA_AUDIT_SIGNING_KEY"


def key_id(public_key: Ed25519PublicKey) -> str:
    """Short, stable name of a public key: first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True, slots=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    key_id: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def sign(self, message: bytes) -> str:
        """Hex Ed25519 signature of ``message``."""
        return self.private_key.sign(message).hex()


def _keys_dir() -> Path:
    return Path(settings.KEYS_DIR)


def _parse_private_key(text: str, *, source: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            loaded = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"{source} is not a readable PEM private key.") from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ImproperlyConfigured(f"{source} must hold an Ed25519 key.")
        return loaded
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{source} must be base64 or a PEM private key.") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{source} must decode to exactly 32 bytes.")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _write_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Writes ``data`` to ``path`` only if it does not exist yet; True if this call wrote it.

    The file is written completely under a temporary name and then hard-linked into place,
    so two processes starting at once never read a half-written key, and the loser of the
    race keeps the winner's key.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _ensure_public_key_file(directory: Path, public_key: Ed25519PublicKey) -> None:
    """Keeps ``audit-signing.ed25519.pub`` equal to the signing key's public half."""
    pem = public_key_pem(public_key)
    path = directory / PUBLIC_KEY_FILENAME
    try:
        if path.exists() and path.read_bytes() == pem:
            return
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o644)
        tmp.replace(path)
    except OSError:
        # A read-only key mount is a valid deployment: the .pub is a convenience for
        # auditors, and `verify_audit` derives the same key from the private key.
        return


def _load_key_file(path: Path) -> Ed25519PrivateKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ImproperlyConfigured(
            f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
        )
    return _parse_private_key(path.read_text(encoding="ascii"), source=str(path))


def load_signing_key(*, create: bool | None = None) -> SigningKey:
    """The checkpoint signing key; creates the key file when allowed and missing.

    ``create`` defaults to ``settings.HIMAYA_KEY_AUTOCREATE``. Raises ImproperlyConfigured,
    naming the file and the variable, when there is no key and none may be created.
    """
    configured = str(getattr(settings, "HIMAYA_AUDIT_SIGNING_KEY", "") or "")
    directory = _keys_dir()
    if configured:
        private_key = _parse_private_key(configured, source=ENV_VAR)
        if directory.is_dir():
            _ensure_public_key_file(directory, private_key.public_key())
        return SigningKey(private_key, key_id(private_key.public_key()))

    path = directory / KEY_FILENAME
    if not path.exists():
        allowed = settings.HIMAYA_KEY_AUTOCREATE if create is None else create
        if not allowed:
            raise ImproperlyConfigured(
                f"No audit signing key: set {ENV_VAR} or provide {path} (mode 0600)."
            )
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fresh = Ed25519PrivateKey.generate()
        pem = fresh.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_exclusive(path, pem, 0o600)
    private_key = _load_key_file(path)
    _ensure_public_key_file(directory, private_key.public_key())
    return SigningKey(private_key, key_id(private_key.public_key()))


def load_public_key_file(path: Path) -> Ed25519PublicKey:
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"{path} is not a readable PEM public key.") from exc
    if not isinstance(loaded, Ed25519PublicKey):
        raise ImproperlyConfigured(f"{path} must hold an Ed25519 public key.")
    return loaded


def trusted_public_keys(
    *, public_key_files: list[Path] | None = None
) -> dict[str, Ed25519PublicKey]:
    """Public keys that checkpoints may be signed with, by key id. Never creates a key.

    With ``public_key_files`` (an auditor's offline check) only those keys are trusted.
    Otherwise: the configured signing key (environment or key file), the ``.pub`` beside it,
    and retired keys' ``audit-signing-*.ed25519.pub`` files in ``KEYS_DIR``.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    if public_key_files is not None:
        for path in public_key_files:
            public_key = load_public_key_file(path)
            keys[key_id(public_key)] = public_key
        return keys
    with contextlib.suppress(ImproperlyConfigured):
        current = load_signing_key(create=False)
        keys[current.key_id] = current.public_key
    directory = _keys_dir()
    if directory.is_dir():
        candidates = [
            directory / PUBLIC_KEY_FILENAME,
            *sorted(directory.glob(RETIRED_PUBLIC_KEY_GLOB)),
        ]
        for path in candidates:
            if path.is_file():
                public_key = load_public_key_file(path)
                keys[key_id(public_key)] = public_key
    return keys


def verify_signature(public_key: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    try:
        public_key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
