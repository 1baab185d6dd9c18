"""Secrets at rest: webhook signing secrets and provider keys are stored as Fernet tokens.

Keys come from settings (``FLEXPRICE_SECRET_KEYS``, comma-separated; the embedded default reads
``<home>/secret.keys``, written by ``flexprice init``). ``MultiFernet`` semantics: the first key
encrypts, every key decrypts, so rotation is "put a new key first, run ``flexprice secrets rotate``,
then drop the old key". Columns of type ``EncryptedText`` encrypt on write and decrypt on read;
code above the column only ever sees plaintext, and the database only ciphertext.

No dagster here: the API, the CLI and the migrations import this module.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, MetaData, Table, Text, select, update
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator

from flexprice_pipelines.settings import Settings, get_settings

# Version byte + timestamp + IV + one AES block + HMAC: the shortest Fernet token, decoded.
_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32


class SecretsNotConfigured(RuntimeError):
    """No encryption key is configured."""


class SecretUnreadable(RuntimeError):
    """A stored value is no token any configured key can open (a dropped key, or plaintext)."""


def generate_key() -> str:
    """A fresh Fernet key (32 random bytes, url-safe base64)."""
    return Fernet.generate_key().decode()


def looks_encrypted(value: str) -> bool:
    """Whether ``value`` has a Fernet token's shape (version 0x80, whole AES blocks). Plaintext
    secrets (``whsec_…``, ``sk_…``) never do: this tells the migration which rows to encrypt."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return len(raw) >= _MIN_TOKEN_BYTES and raw[0] == 0x80 and (len(raw) - 57) % 16 == 0


class SecretBox:
    """Encrypts with the first key, decrypts with any (``MultiFernet``)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretsNotConfigured(
                "no key for stored secrets: set FLEXPRICE_SECRET_KEYS (required in production), "
                "or run `flexprice init` to create <home>/secret.keys for the embedded default"
            )
        try:
            fernets = [Fernet(key.encode() if isinstance(key, str) else key) for key in keys]
        except (ValueError, binascii.Error) as exc:
            raise SecretsNotConfigured(
                "FLEXPRICE_SECRET_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)"
            ) from exc
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(settings.resolved_secret_keys)

    def encrypt(self, plaintext: str) -> str:
        return self._primary.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._all.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured keys "
                "(was a key removed before `flexprice secrets rotate` ran?)"
            ) from None

    def is_current(self, token: str) -> bool:
        """Whether the primary key encrypted ``token`` (nothing for ``rotate`` to do)."""
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` under the primary key; the same token when it already is (idempotent)."""
        if self.is_current(token):
            return token
        try:
            return self._all.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("a stored secret cannot be decrypted with the configured keys") from None


_lock = threading.Lock()
_configured: Settings | None = None
_override: SecretBox | None = None
# The box of the last settings object seen: keys are read (maybe from a file) once per settings,
# not once per row. A process picks up new keys when it restarts.
_built: tuple[Settings, SecretBox] | None = None


def configure(settings: Settings) -> None:
    """Take keys from ``settings`` instead of the environment (an app built with explicit settings)."""
    global _configured
    _configured = settings


def secret_box() -> SecretBox:
    """The box of the configured keys (built on first use, so nothing needs a key until a secret is
    written or read)."""
    global _built
    if _override is not None:
        return _override
    settings = _configured or get_settings()
    with _lock:
        if _built is None or _built[0] is not settings:
            _built = (settings, SecretBox.from_settings(settings))
        return _built[1]


@contextmanager
def using(box: SecretBox) -> Iterator[SecretBox]:
    """Use ``box`` for every encrypted column inside the block (the rotate command, tests)."""
    global _override
    previous, _override = _override, box
    try:
        yield box
    finally:
        _override = previous


class EncryptedText(TypeDecorator[str]):
    """A text column stored as a Fernet token of the value; reads give the plaintext back."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return secret_box().encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return secret_box().decrypt(str(value))


def write_key_file(path: Path) -> bool:
    """Create ``path`` holding one fresh key, readable by its owner only (0600); False when it exists.

    ``O_EXCL``: a second ``flexprice init`` never replaces the key the stored secrets need."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write("# Fernet keys for stored secrets, primary first (flexprice secrets rotate).\n")
        handle.write(generate_key() + "\n")
    return True


@dataclass(frozen=True)
class RotationResult:
    """One encrypted column after ``rotate_column``: rows holding a secret, rows re-encrypted."""

    table: str
    column: str
    secrets: int
    rotated: int


def encrypted_columns(*metadatas: MetaData) -> list[tuple[Table, Column[Any]]]:
    """Every ``EncryptedText`` column of the given tables, in a stable order."""
    found = []
    for metadata in metadatas:
        for table in metadata.sorted_tables:
            found += [(table, c) for c in table.columns if isinstance(c.type, EncryptedText)]
    return sorted(found, key=lambda tc: (tc[0].name, tc[1].name))


def rotate_column(
    connection: Connection, box: SecretBox, table: Table, column: Column[Any]
) -> RotationResult:
    """Re-encrypt every value of ``column`` that is not under the primary key (the caller commits).

    Raw tokens are read and written (no decrypt-on-read type), and each update only applies while
    the row still holds the token that was read, so a secret changed meanwhile is never overwritten."""
    keys = [c.name for c in table.primary_key.columns]
    raw = sa_table(table.name, *(sa_column(name) for name in (*keys, column.name)))
    stored = raw.c[column.name]
    rows = connection.execute(select(raw).where(stored.is_not(None))).all()
    rotated = 0
    for row in rows:
        token = row._mapping[column.name]
        if box.is_current(token):
            continue
        match = [raw.c[k] == row._mapping[k] for k in keys]
        connection.execute(
            update(raw).where(*match, stored == token).values({column.name: box.rotate(token)})
        )
        rotated += 1
    return RotationResult(table.name, column.name, len(rows), rotated)
