"""Retry schedule: exponential, capped, jitter bounded and reproducible, at most MAX_ATTEMPTS tries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.integrations.webhooks.backoff import (
    BASE_DELAY,
    JITTER,
    MAX_ATTEMPTS,
    MAX_DELAY,
    next_attempt_at,
    retry_delay,
)

FAILED_AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
ids = st.from_regex(r"msg_[A-Z0-9]{26}", fullmatch=True)


@settings(max_examples=150)
@given(message_id=ids, attempt=st.integers(min_value=1, max_value=40))
def test_delay_is_the_exponential_base_plus_bounded_jitter(message_id: str, attempt: int) -> None:
    base = min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY)
    delay = retry_delay(message_id, attempt)
    assert base <= delay <= base * (1 + JITTER)
    assert retry_delay(message_id, attempt) == delay  # reproducible


@settings(max_examples=100)
@given(message_id=ids)
def test_delays_grow_until_the_cap_and_retries_stop_after_max_attempts(message_id: str) -> None:
    schedule = [next_attempt_at(message_id, n, FAILED_AT) for n in range(1, MAX_ATTEMPTS + 1)]
    assert schedule[-1] is None
    waits = [at - FAILED_AT for at in schedule[:-1] if at is not None]
    assert len(waits) == MAX_ATTEMPTS - 1
    # Jitter is at most 25 %, so each uncapped step at least 2 × base still outgrows the last.
    assert all(later > earlier for earlier, later in itertools.pairwise(waits))
    assert waits[0] >= timedelta(seconds=30)


def test_jitter_spreads_messages_that_failed_together() -> None:
    delays = {retry_delay(f"msg_{n}", 3) for n in range(50)}
    assert len(delays) > 40


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        retry_delay("msg_1", 0)
