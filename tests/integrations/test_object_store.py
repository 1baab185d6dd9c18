"""The object store contract on a local directory and on S3 (a moto server on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.integrations.object_store import (
    InvalidObjectKey,
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    S3ObjectStore,
    object_store_from_settings,
    open_object_store,
)
from flexprice_pipelines.settings import Settings

MOTO = Path(sys.executable).with_name("moto_server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """An S3-compatible server on a free local port, started and stopped by this module."""
    if not MOTO.exists():
        pytest.skip("moto_server is not installed in the venv")
    port = _free_port()
    process = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(endpoint, timeout=0.5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto accepts any credentials; set them so no real profile or metadata endpoint is consulted.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3_bucket(moto_endpoint: str, aws_env: None, request: pytest.FixtureRequest) -> str:
    bucket = f"pdfs-{abs(hash(request.node.name)) % 10**8}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return open_object_store((tmp_path / "objects").as_uri())
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return open_object_store(f"s3://{bucket}/prod/pdfs", s3_endpoint_url=endpoint)


def test_put_get_exists_and_replace(store: ObjectStore) -> None:
    key = "invoices/tenant_1/env_1/inv_1.pdf"
    assert not store.exists(key)
    uri = store.put(key, b"%PDF-1 first", "application/pdf")
    assert uri == store.url_for(key)
    assert store.exists(key)
    assert store.get(key) == b"%PDF-1 first"
    store.put(key, b"%PDF-1 second", "application/pdf")
    assert store.get(key) == b"%PDF-1 second"
    assert not store.exists("invoices/tenant_1/env_1/inv_2.pdf")


def test_missing_object_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound) as info:
        store.get("invoices/nothing.pdf")
    assert info.value.key == "invoices/nothing.pdf"


@pytest.mark.parametrize("key", ["", "/abs.pdf", "../escape.pdf", "a/../../b", "a//b", "a/./b", "a\\b"])
def test_unsafe_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        store.put(key, b"x")
    with pytest.raises(InvalidObjectKey):
        store.exists(key)


def test_local_uris_and_atomic_writes(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    uri = store.put("a/b/c.pdf", b"data")
    assert uri == (tmp_path / "a" / "b" / "c.pdf").resolve().as_uri()
    # Only the final file remains: the temporary file was renamed, not copied.
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["c.pdf"]


def test_local_failed_write_leaves_the_old_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("inv.pdf", b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put("inv.pdf", b"new")
    monkeypatch.undo()
    assert store.get("inv.pdf") == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["inv.pdf"]


@settings(max_examples=100, deadline=None)
@given(
    parts=st.lists(
        st.text(alphabet=st.characters(categories=["L", "N"], include_characters="-_"), min_size=1),
        min_size=1,
        max_size=4,
    ),
    data=st.binary(max_size=256),
)
def test_local_round_trip_for_any_safe_key(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str], data: bytes
) -> None:
    root = tmp_path_factory.mktemp("store")
    store = LocalObjectStore(root)
    key = "/".join(parts)
    store.put(key, data)
    assert store.get(key) == data
    assert Path(store.url_for(key).removeprefix("file://")).is_relative_to(root.resolve())


def test_s3_objects_live_under_the_prefix_with_their_content_type(moto_endpoint: str, s3_bucket: str) -> None:
    store = open_object_store(f"s3://{s3_bucket}/prod/pdfs/", s3_endpoint_url=moto_endpoint)
    uri = store.put("invoices/inv_1.pdf", b"%PDF", "application/pdf")
    assert uri == f"s3://{s3_bucket}/prod/pdfs/invoices/inv_1.pdf"
    head = boto3.client("s3", endpoint_url=moto_endpoint).head_object(
        Bucket=s3_bucket, Key="prod/pdfs/invoices/inv_1.pdf"
    )
    assert head["ContentType"] == "application/pdf"
    assert head["ContentLength"] == 4


def test_s3_missing_bucket_is_an_error_not_a_missing_object(moto_endpoint: str, aws_env: None) -> None:
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    store = S3ObjectStore(client, "no-such-bucket")
    with pytest.raises(Exception, match="NoSuchBucket"):
        store.get("x.pdf")


def test_store_is_chosen_by_settings(tmp_path: Path) -> None:
    default = object_store_from_settings(Settings(home=tmp_path))
    assert isinstance(default, LocalObjectStore)
    assert default.root == (tmp_path / "pdfs").resolve()
    configured = object_store_from_settings(
        Settings(home=tmp_path, object_store=(tmp_path / "elsewhere").as_uri())
    )
    assert isinstance(configured, LocalObjectStore)
    assert configured.root == (tmp_path / "elsewhere").resolve()


@pytest.mark.parametrize("url", ["ftp://host/x", "file://remote-host/x", "s3:///prefix-without-bucket"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        open_object_store(url, s3_client=object())
