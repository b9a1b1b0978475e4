"""The master keyring: the secrets that live outside the database.

Two kinds of secret, both 32 random bytes:

* **master keys** (key-encryption keys) wrap every subject's data key. They have versions:
  ``rotate_keys`` adds a new one, re-wraps every data key under it, and the old versions stay
  until an operator retires them (backups taken before the rotation need them).
* the **blind-index key**, the stable root from which the per-purpose blind-index keys and the
  shred ledger's MAC key are derived. It never rotates with the master key, because every
  stored digest (and every ledger line) depends on it.

They come from one of two places, never from the database:

* the environment: ``HIMAYA_MASTER_KEY`` (base64; several comma-separated keys during a
  rotation, the first one current) and ``HIMAYA_BLIND_INDEX_KEY``, or the ``*_FILE`` variants;
* otherwise the key file ``KEYS_DIR/keyring.json`` (mode 0600), created by ``manage.py
  init_keys`` or, when ``HIMAYA_KEY_AUTOCREATE`` is on (development, tests), on first use.

A master key's id is a fingerprint of the key itself, so a key given through the environment
needs no name and a wrong key is recognised before any decryption is attempted.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone

KEYRING_FILENAME = "keyring.json"
KEYRING_FORMAT = "himaya-keyring/1"
KEY_BYTES = 32

#: Settings whose change (in tests, through override_settings) invalidates every cache.
KEY_SETTINGS = frozenset(
    {"KEYS_DIR", "HIMAYA_MASTER_KEY", "HIMAYA_BLIND_INDEX_KEY", "HIMAYA_KEY_AUTOCREATE"}
)


@dataclass(frozen=True, slots=True)
class MasterKey:
    kid: str
    secret: bytes = field(repr=False)
    aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "aead", AESGCM(self.secret))

    @property
    def kid_bytes(self) -> bytes:
        return bytes.fromhex(self.kid)


@dataclass(frozen=True, slots=True)
class Keyring:
    current: MasterKey
    master_keys: Mapping[str, MasterKey]
    blind_index_key: bytes = field(repr=False)
    #: Where the keys came from, for error messages: a variable name or the key file's path.
    source: str
    from_environment: bool

    def master_key(self, kid: str) -> MasterKey | None:
        return self.master_keys.get(kid)

    def derive(self, label: str) -> bytes:
        """A 32-byte key for one purpose, derived from the stable blind-index root.

        HMAC-SHA256 with a distinct label per purpose (a one-block HKDF-Expand): knowing the
        phone index key tells nothing about the CIN index key or the ledger key.
        """
        return hmac.new(
            self.blind_index_key, b"himaya/derive/v1\x00" + label.encode(), hashlib.sha256
        ).digest()


def master_key_id(secret: bytes) -> str:
    """The key's fingerprint: 4 bytes of HMAC(key, label), as 8 hex characters."""
    return hmac.new(secret, b"himaya/master-key-id/v1", hashlib.sha256).hexdigest()[:8]


def generate_secret() -> bytes:
    return os.urandom(KEY_BYTES)


def encode_secret(secret: bytes) -> str:
    return base64.b64encode(secret).decode("ascii")


def _decode_secret(text: str) -> bytes | None:
    """32 bytes from standard or URL-safe base64 (padding optional), or None."""
    cleaned = text.strip()
    try:
        data = (cleaned + "=" * (-len(cleaned) % 4)).encode("ascii")
    except UnicodeEncodeError:
        return None
    for altchars in (None, b"-_"):
        try:
            raw = base64.b64decode(data, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == KEY_BYTES:
            return raw
    return None


def keyring_path() -> Path:
    return Path(settings.KEYS_DIR) / KEYRING_FILENAME


def missing_key_message() -> str:
    return (
        "No master key is configured. Set HIMAYA_MASTER_KEY (base64 of 32 random bytes; or "
        "HIMAYA_MASTER_KEY_FILE naming a file that holds it) together with "
        f"HIMAYA_BLIND_INDEX_KEY, or create the key file {keyring_path()} with "
        "`manage.py init_keys`."
    )


# --- loading ------------------------------------------------------------------------------


def _parse_environment(master_value: str, index_value: str) -> Keyring:
    keys: list[MasterKey] = []
    for position, part in enumerate(
        (p for p in master_value.replace("\n", ",").split(",") if p.strip()), start=1
    ):
        secret = _decode_secret(part)
        if secret is None:
            raise ImproperlyConfigured(
                f"HIMAYA_MASTER_KEY must hold base64 of exactly {KEY_BYTES} random bytes "
                f"(several keys separated by commas during a rotation); key number {position} "
                "is not. Create one with `manage.py init_keys --print-new-key`."
            )
        keys.append(MasterKey(kid=master_key_id(secret), secret=secret))
    if not keys:
        raise ImproperlyConfigured(missing_key_message())
    if not index_value.strip():
        raise ImproperlyConfigured(
            "HIMAYA_MASTER_KEY is set but HIMAYA_BLIND_INDEX_KEY is not. Set it too (base64 of "
            f"{KEY_BYTES} random bytes, kept with the master key; it never rotates)."
        )
    index_key = _decode_secret(index_value)
    if index_key is None:
        raise ImproperlyConfigured(
            f"HIMAYA_BLIND_INDEX_KEY must hold base64 of exactly {KEY_BYTES} random bytes."
        )
    return Keyring(
        current=keys[0],
        master_keys={key.kid: key for key in keys},
        blind_index_key=index_key,
        source="HIMAYA_MASTER_KEY",
        from_environment=True,
    )


def _damaged(path: Path, detail: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"The key file {path} cannot be used: {detail}. Restore it from your key backup, or set "
        "HIMAYA_MASTER_KEY and HIMAYA_BLIND_INDEX_KEY."
    )


def _parse_file(path: Path) -> Keyring:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ImproperlyConfigured(
                f"The key file {path} is readable by other users; run `chmod 600 {path}`."
            )
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _damaged(path, exc.strerror or type(exc).__name__) from None
    except ValueError:
        raise _damaged(path, "it is not valid JSON") from None
    if not isinstance(document, dict) or document.get("format") != KEYRING_FORMAT:
        raise _damaged(path, f"it is not a {KEYRING_FORMAT} file")
    keys: dict[str, MasterKey] = {}
    for entry in document.get("master_keys") or []:
        secret = _decode_secret(str(entry.get("key", ""))) if isinstance(entry, dict) else None
        if secret is None:
            raise _damaged(path, "a master key entry is malformed")
        key = MasterKey(kid=master_key_id(secret), secret=secret)
        if entry.get("id") != key.kid:
            raise _damaged(path, f"master key {entry.get('id')!r} does not match its id")
        keys[key.kid] = key
    current = keys.get(str(document.get("current")))
    if current is None:
        raise _damaged(path, "its current master key is missing")
    index_key = _decode_secret(str(document.get("blind_index_key", "")))
    if index_key is None:
        raise _damaged(path, "its blind-index key is malformed")
    return Keyring(
        current=current,
        master_keys=keys,
        blind_index_key=index_key,
        source=str(path),
        from_environment=False,
    )


def _document(keyring: Keyring, created: Mapping[str, str]) -> dict[str, Any]:
    now = timezone.now().isoformat(timespec="seconds")
    return {
        "format": KEYRING_FORMAT,
        "current": keyring.current.kid,
        "master_keys": [
            {"id": key.kid, "key": encode_secret(key.secret), "created": created.get(kid, now)}
            for kid, key in keyring.master_keys.items()
        ],
        "blind_index_key": encode_secret(keyring.blind_index_key),
    }


def _write_private(path: Path, text: str) -> Path:
    """Write ``text`` to a fresh 0600 temporary file next to ``path``; return its path."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_keys_dir() -> Path:
    directory = Path(settings.KEYS_DIR)
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


@contextlib.contextmanager
def _keyring_lock() -> Iterator[None]:
    directory = ensure_keys_dir()
    fd = os.open(directory / ".keyring.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _create_file(path: Path) -> Keyring:
    """Create a new key file; if another process wins the race, load theirs."""
    secret = generate_secret()
    master = MasterKey(kid=master_key_id(secret), secret=secret)
    keyring = Keyring(
        current=master,
        master_keys={master.kid: master},
        blind_index_key=generate_secret(),
        source=str(path),
        from_environment=False,
    )
    ensure_keys_dir()
    tmp = _write_private(path, json.dumps(_document(keyring, {}), indent=2))
    try:
        # link() fails if the file exists: two processes creating at once keep one keyring.
        os.link(tmp, path)
    except FileExistsError:
        return _parse_file(path)
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)
    return keyring


def load_keyring(*, create: bool) -> tuple[Keyring, bool]:
    """Read the keyring from the environment or the key file, without any cache.

    Returns the keyring and whether a key file was just created. Raises
    ``ImproperlyConfigured`` with a message naming what to set; never a cryptography error.
    """
    master_value = getattr(settings, "HIMAYA_MASTER_KEY", "") or ""
    if master_value.strip():
        index_value = getattr(settings, "HIMAYA_BLIND_INDEX_KEY", "") or ""
        return _parse_environment(master_value, index_value), False
    path = keyring_path()
    if path.exists():
        return _parse_file(path), False
    if not create:
        raise ImproperlyConfigured(missing_key_message())
    return _create_file(path), True


# --- the per-process cache ----------------------------------------------------------------


class _KeyringCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keyring: Keyring | None = None
        self.derived: dict[str, bytes] = {}


_cache = _KeyringCache()


def get_keyring() -> Keyring:
    """The process's keyring, loaded once (auto-created only if HIMAYA_KEY_AUTOCREATE)."""
    keyring = _cache.keyring
    if keyring is None:
        with _cache.lock:
            keyring = _cache.keyring
            if keyring is None:
                keyring, _created = load_keyring(create=settings.HIMAYA_KEY_AUTOCREATE)
                _cache.keyring = keyring
    return keyring


def reload_keyring() -> Keyring:
    """Re-read the keys, e.g. when a data key names a master key version this process has
    not seen yet because ``rotate_keys`` added it after the process started."""
    with _cache.lock:
        _cache.keyring = None
        _cache.derived.clear()
    return get_keyring()


def derived_key(label: str) -> bytes:
    """``get_keyring().derive(label)``, memoised (blind indexes derive on every search)."""
    key = _cache.derived.get(label)
    if key is None:
        key = get_keyring().derive(label)
        _cache.derived[label] = key
    return key


def reset_caches() -> None:
    """Forget the keyring and every unwrapped data key held by this process."""
    with _cache.lock:
        _cache.keyring = None
        _cache.derived.clear()
    from himaya.core import crypto

    crypto.clear_data_key_cache()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    if setting in KEY_SETTINGS:
        reset_caches()


# --- changing the key file (rotation) -----------------------------------------------------


def _require_file(keyring: Keyring, action: str) -> Path:
    if keyring.from_environment:
        raise ImproperlyConfigured(
            f"The master keys come from HIMAYA_MASTER_KEY, so {action} is done there: "
            "put the new key first in HIMAYA_MASTER_KEY (comma-separated, old keys after it), "
            "restart, and run `manage.py rotate_keys`; drop the old keys once it has finished."
        )
    return keyring_path()


def _rewrite_file(path: Path, mutate: Callable[[Keyring], Keyring]) -> Keyring:
    with _keyring_lock():
        keyring = _parse_file(path)
        raw = json.loads(path.read_text(encoding="utf-8"))
        created = {entry["id"]: entry.get("created", "") for entry in raw["master_keys"]}
        new_keyring = mutate(keyring)
        tmp = _write_private(path, json.dumps(_document(new_keyring, created), indent=2))
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    reload_keyring()
    return new_keyring


def add_master_key_version() -> MasterKey:
    """Add a new master key to the key file and make it current; older versions stay."""
    path = _require_file(get_keyring(), "adding a master key")
    secret = generate_secret()
    new = MasterKey(kid=master_key_id(secret), secret=secret)

    def mutate(keyring: Keyring) -> Keyring:
        return Keyring(
            current=new,
            master_keys={**keyring.master_keys, new.kid: new},
            blind_index_key=keyring.blind_index_key,
            source=keyring.source,
            from_environment=False,
        )

    _rewrite_file(path, mutate)
    return new


def retire_master_keys(kids: Iterable[str]) -> list[str]:
    """Remove old master key versions from the key file; the current one is never removed.

    The caller proves first that no data key is still wrapped by them (``rotate_keys
    --retire`` does). Backups taken while they were in use can no longer be opened.
    """
    path = _require_file(get_keyring(), "retiring a master key")
    to_retire = set(kids)
    retired: list[str] = []

    def mutate(keyring: Keyring) -> Keyring:
        keep = {}
        for kid, key in keyring.master_keys.items():
            if kid in to_retire and kid != keyring.current.kid:
                retired.append(kid)
            else:
                keep[kid] = key
        return Keyring(
            current=keyring.current,
            master_keys=keep,
            blind_index_key=keyring.blind_index_key,
            source=keyring.source,
            from_environment=False,
        )

    _rewrite_file(path, mutate)
    return retired
