"""Standard Webhooks signatures: the spec's published vector, and an independent verifier."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.integrations.webhooks.signing import (
    generate_secret,
    secret_key,
    sign,
    signature_headers,
)
from tests.integrations.webhooks.verifier import verification_error

SENT_AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
NOW = int(SENT_AT.timestamp())


def test_matches_the_published_standard_webhooks_vector() -> None:
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_generated_secrets_are_whsec_base64_of_24_random_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24
    assert secret_key(first) == base64.b64decode(first[6:])


@pytest.mark.parametrize("bad", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!"])
def test_malformed_secrets_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        secret_key(bad)


def test_naive_send_time_is_refused() -> None:
    with pytest.raises(ValueError):
        signature_headers(generate_secret(), "msg_1", datetime(2025, 3, 10), b"{}")


@settings(max_examples=150, deadline=None)
@given(
    key=st.binary(min_size=24, max_size=64),
    other_key=st.binary(min_size=24, max_size=64),
    message_id=st.from_regex(r"msg_[A-Za-z0-9]{1,30}", fullmatch=True),
    body=st.binary(max_size=300),
    flip=st.integers(min_value=0, max_value=299),
)
def test_independent_verifier_accepts_ours_and_rejects_tampering(
    key: bytes, other_key: bytes, message_id: str, body: bytes, flip: int
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    headers = signature_headers(secret, message_id, SENT_AT, body)
    assert headers["webhook-id"] == message_id
    assert headers["webhook-timestamp"] == str(NOW)
    assert verification_error(secret, headers, body, NOW) is None
    assert verification_error(secret, headers, body, NOW + 299) is None

    tampered = bytearray(body + b"x")
    tampered[flip % len(tampered)] ^= 0x01
    assert verification_error(secret, headers, bytes(tampered), NOW) == "no matching signature"
    if other_key != key:
        wrong = "whsec_" + base64.b64encode(other_key).decode()
        assert verification_error(wrong, headers, body, NOW) == "no matching signature"
    assert verification_error(secret, headers, body, NOW + 301) == "stale timestamp"
    replayed = {**headers, "webhook-id": message_id + "x"}
    assert verification_error(secret, replayed, body, NOW) == "no matching signature"


def test_a_rewritten_timestamp_breaks_the_signature() -> None:
    secret = generate_secret()
    headers = signature_headers(secret, "msg_1", SENT_AT, b"{}")
    later = SENT_AT + timedelta(minutes=1)
    moved = {**headers, "webhook-timestamp": str(int(later.timestamp()))}
    assert verification_error(secret, moved, b"{}", int(later.timestamp())) == "no matching signature"
