"""One object store for invoice PDFs: a local directory (embedded default) or S3 (production).

Chosen from a URL (``FLEXPRICE_OBJECT_STORE``): ``file:///path`` or ``s3://bucket/prefix``. Keys are
relative, ``/``-separated paths (``invoices/tenant_x/env_y/inv_z.pdf``); the same key means the same
object on both backends, so the pipeline writes and the API reads without knowing which one runs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlparse

from flexprice_pipelines.settings import Settings


class ObjectStoreError(Exception):
    """Base class for object-store failures the caller can act on."""


class InvalidObjectKey(ObjectStoreError, ValueError):
    """A key that is empty, absolute, or escapes the store's root (``..``)."""


class ObjectNotFound(ObjectStoreError, LookupError):
    """``get`` of a key that holds no object."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object at {key!r}")
        self.key = key


@runtime_checkable
class ObjectStore(Protocol):
    """Put, get and locate immutable blobs by key."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` at ``key`` (replacing any previous object) and return its URI."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes at ``key``; ``ObjectNotFound`` when there are none."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""
        ...

    def url_for(self, key: str) -> str:
        """The URI of ``key`` (``file:///…`` or ``s3://bucket/…``), whether or not it exists yet."""
        ...


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative path, else raise ``InvalidObjectKey``."""
    if not isinstance(key, str) or not key:
        raise InvalidObjectKey("an object key must be a non-empty string")
    parts = key.split("/")
    if key.startswith("/") or "\\" in key or "\x00" in key or any(p in ("", ".", "..") for p in parts):
        raise InvalidObjectKey(f"invalid object key {key!r}: use a relative path without '.', '..' or '//'")
    return key


class LocalObjectStore:
    """Objects as files under ``root``; writes are atomic (temp file in the same directory + rename)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Write ``data`` atomically: readers see the old file or the new one, never a partial one."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path.as_uri()

    def get(self, key: str) -> bytes:
        """The file's bytes; ``ObjectNotFound`` when it does not exist."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc

    def exists(self, key: str) -> bool:
        """Whether a regular file is stored at ``key``."""
        return self._path(key).is_file()

    def url_for(self, key: str) -> str:
        """``file:///<root>/<key>``."""
        return self._path(key).as_uri()


def _error_code(exc: Exception) -> str | None:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


# boto3's retry handler: five attempts in "standard" mode (what dagster-aws ``S3Resource`` configured).
S3_MAX_ATTEMPTS = 5


def make_s3_client(endpoint_url: str | None = None) -> Any:
    """A boto3 S3 client, credentials from the usual AWS environment; ``endpoint_url`` points it at an
    S3-compatible server. boto3 directly, not dagster-aws: the API opens the store too, and Dagster is
    imported only under ``defs/`` (``tests/test_package_layering.py``)."""
    import boto3  # imported here: only an S3 store needs it
    from botocore.config import Config

    session = boto3.session.Session()
    return session.resource(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(retries={"max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"}),
    ).meta.client


class S3ObjectStore:
    """Objects in ``bucket`` under ``prefix`` through a boto3 S3 client (``make_s3_client``)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        if not bucket:
            raise ValueError("an S3 object store needs a bucket")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """One PutObject: S3 replaces objects atomically, so no temp key is needed."""
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        return self.url_for(key)

    def get(self, key: str) -> bytes:
        """The object's bytes; ``ObjectNotFound`` for a missing key."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            # Only a missing key is "not found"; NoSuchBucket is a configuration error and propagates.
            if _error_code(exc) == "NoSuchKey":
                raise ObjectNotFound(key) from exc
            raise
        body: bytes = response["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        """HeadObject: False on 404, any other error (403, 5xx) propagates."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def url_for(self, key: str) -> str:
        """``s3://<bucket>/<prefix>/<key>``."""
        return f"s3://{self.bucket}/{self._key(key)}"


def open_object_store(url: str, *, s3_endpoint_url: str | None = None, s3_client: Any = None) -> ObjectStore:
    """The store a URL names: ``file:///path`` → ``LocalObjectStore``, ``s3://bucket/prefix`` → ``S3ObjectStore``.

    Without ``s3_client`` the S3 client comes from ``make_s3_client`` (credentials from the usual AWS
    environment); ``s3_endpoint_url`` points it at an S3-compatible server.
    """
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file URLs must be local: {url!r}")
        return LocalObjectStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        client = s3_client if s3_client is not None else make_s3_client(s3_endpoint_url)
        return S3ObjectStore(client, parsed.netloc, unquote(parsed.path))
    raise ValueError(f"unsupported object store URL {url!r}: use file:///path or s3://bucket/prefix")


def object_store_from_settings(settings: Settings) -> ObjectStore:
    """The configured store (``FLEXPRICE_OBJECT_STORE``, default ``<home>/pdfs``)."""
    return open_object_store(settings.resolved_object_store, s3_endpoint_url=settings.s3_endpoint_url)
