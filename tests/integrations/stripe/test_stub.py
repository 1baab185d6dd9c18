"""The local Stripe stub behaves like Stripe where the sync depends on it (through the real SDK)."""

from __future__ import annotations

import pytest
import stripe

from tests.integrations.stripe.conftest import make_client
from tests.support.stripe_stub import Fault, StripeStub, decode_form


def test_form_decoding_nests_brackets_and_arrays() -> None:
    assert decode_form("a=1&metadata[k]=v&period[start]=5&expand[0]=x&expand[1]=y") == {
        "a": "1",
        "metadata": {"k": "v"},
        "period": {"start": "5"},
        "expand": ["x", "y"],
    }


def test_same_key_replays_and_other_params_conflict(stub: StripeStub, client: stripe.StripeClient) -> None:
    first = client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "k"})
    again = client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "k"})
    assert first.id == again.id
    assert stub.count("customers") == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={"name": "B"}, options={"idempotency_key": "k"})
    assert stub.count("customers") == 1


def test_errors_have_stripes_shape(stub: StripeStub, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.invoices.retrieve("in_missing")
    assert (err.value.http_status, err.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.AuthenticationError):
        make_client(stub, key="rk_wrong").v1.customers.create(params={"name": "A"})


def test_items_attach_only_to_a_draft_of_the_same_customer(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    a = client.v1.customers.create(params={"name": "A"})
    b = client.v1.customers.create(params={"name": "B"})
    inv = client.v1.invoices.create(params={"customer": a.id, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.create(
            params={"customer": b.id, "invoice": inv.id, "currency": "usd", "amount": 1}
        )
    client.v1.invoice_items.create(
        params={"customer": a.id, "invoice": inv.id, "currency": "usd", "amount": 250}
    )
    done = client.v1.invoices.finalize_invoice(inv.id)
    assert (done.status, done.total) == ("open", 250)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.create(
            params={"customer": a.id, "invoice": inv.id, "currency": "usd", "amount": 1}
        )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.finalize_invoice(inv.id)


def test_a_lost_response_did_the_work_and_the_key_replays_it(
    stub: StripeStub, client: stripe.StripeClient
) -> None:
    stub.inject(Fault(path="/v1/customers", lose_response=True))
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "lost"})
    assert stub.count("customers") == 1
    replay = client.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "lost"})
    assert replay.id == stub.objects("customers")[0]["id"]
    assert stub.count("customers") == 1


def test_the_stub_listens_on_loopback_only(stub: StripeStub) -> None:
    assert stub.url.startswith("http://127.0.0.1:")
