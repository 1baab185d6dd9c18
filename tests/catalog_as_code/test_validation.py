"""A bad file is refused as a whole, with the path of every offending field; nothing is written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.catalog.as_code import CatalogFileError, load_catalog
from tests.catalog_as_code.helpers import apply_text, example_text, snapshot


def errors_of(text: str) -> dict[str, str]:
    with pytest.raises(CatalogFileError) as raised:
        load_catalog(text)
    return dict(raised.value.errors)


def test_the_example_is_valid() -> None:
    catalog = load_catalog(example_text())
    assert [p.lookup_key for p in catalog.plans] == ["starter", "pro"]
    assert catalog.plans[1].prices[0].amount == Decimal("49.00")


def test_numbers_are_read_as_exact_decimals_not_floats() -> None:
    catalog = load_catalog(
        example_text().replace("amount: 0.0000004", "amount: 0.1000000000000000055511151231")
    )
    [price] = [p for p in catalog.plans[1].prices if p.lookup_key == "pro_tokens_small"]
    assert price.amount == Decimal("0.1000000000000000055511151231")


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        (  # unsorted tiers, reported by billing.pricing.Price
            "{up_to: 100, unit_amount: 0.25, flat_amount: 5.00}",
            "{up_to: 5, unit_amount: 0.25}",
            "plans[1].prices[4].tiers[1].up_to",
            "greater than",
        ),
        (
            "meter: tokens_small",
            "meter: tokens_tiny",
            "plans[1].prices[3].meter",
            "unknown meter 'tokens_tiny'",
        ),
        ("meter: tokens_large\n    unit", "meter: nope\n    unit", "features[1].meter", "unknown meter"),
        (
            "- feature: sso\n        is_enabled",
            "- feature: saml\n        is_enabled",
            "plans[0].entitlements[1].feature",
            "unknown feature",
        ),
        ("divide_by: 1000", "divide_by: 0", "plans[1].prices[1].transform_quantity.divide_by", "at least 1"),
        ("amount: 49.00", "amount: -49.00", "plans[1].prices[0].amount", "negative"),
        (  # USAGE billed in advance is never billed by Flexprice; we refuse it
            "amount: 2.00\n        currency: usd\n        billing_period: MONTHLY\n        invoice_cadence: ARREAR",
            "amount: 2.00\n        currency: usd\n        billing_period: MONTHLY\n        invoice_cadence: ADVANCE",
            "plans[1].prices[5].invoice_cadence",
            "ARREAR",
        ),
        (
            "type: COUNT_UNIQUE, field: user_id",
            "type: COUNT_UNIQUE",
            "meters[5].aggregation.field",
            "required",
        ),
        (
            "type: MAX, field: gb, bucket_size: DAY",
            "type: LATEST, field: gb, bucket_size: DAY",
            "meters[3].aggregation.bucket_size",
            "SUM or MAX",
        ),
        ("percentage_off: 20", "percentage_off: 120", "coupons[0].percentage_off", "between 0 and 100"),
        ("amount_off: 10.00\n    currency: usd", "amount_off: 10.00", "coupons[1].currency", "currency"),
        (
            "percentage_value: 19",
            "percentage_value: 190",
            "tax_rates[1].percentage_value",
            "between 0 and 100",
        ),
        (
            "static_value: community",
            "is_enabled: true",
            "plans[0].entitlements[2].static_value",
            "static_value",
        ),
        (
            "billing_model: PACKAGE",
            "billing_modle: PACKAGE",
            "plans[1].prices[1].billing_modle",
            "not permitted",
        ),
    ],
)
def test_each_problem_is_reported_at_its_path(old: str, new: str, path: str, words: str) -> None:
    text = example_text()
    assert old in text
    errors = errors_of(text.replace(old, new, 1))
    assert path in errors, errors
    assert words in errors[path]


def test_all_problems_are_reported_together() -> None:
    text = (
        example_text()
        .replace("meter: tokens_small", "meter: x")
        .replace("percentage_value: 19", "percentage_value: -1")
    )
    assert set(errors_of(text)) == {"plans[1].prices[3].meter", "tax_rates[1].percentage_value"}


def test_duplicate_keys_name_both_places() -> None:
    text = example_text().replace("lookup_key: pro_tokens_small", "lookup_key: starter_monthly")
    errors = errors_of(text)
    assert (
        errors["plans[1].prices[3].lookup_key"]
        == "duplicate lookup_key 'starter_monthly' (also at plans[0].prices[0])"
    )


def test_two_meters_with_the_same_event_name_and_name_are_refused() -> None:
    text = example_text().replace("name: Tokens (atlas-small)", "name: Tokens (atlas-large)")
    assert "same event_name and name" in errors_of(text)["meters[2].name"]


def test_bad_yaml_names_the_line() -> None:
    errors = errors_of("meters:\n  - lookup_key: a\n   name: b\n")
    [(where, message)] = errors.items()
    assert where.startswith("line 3")
    assert message.startswith("invalid YAML")


@pytest.mark.parametrize("text", ["- just\n- a list\n", "42\n"])
def test_a_document_that_is_not_a_mapping_is_refused(text: str) -> None:
    assert "(document)" in errors_of(text)


def test_infinite_amounts_are_refused() -> None:
    errors = errors_of(example_text().replace("amount: 49.00", "amount: .inf"))
    assert any("finite" in message for message in errors.values())


def test_the_coupon_lookup_key_metadata_entry_is_reserved() -> None:
    text = example_text().replace(
        "    max_redemptions: 500\n", "    max_redemptions: 500\n    metadata: {lookup_key: x}\n"
    )
    assert "reserved" in errors_of(text)["coupons[0].metadata.lookup_key"]


def test_an_invalid_file_writes_nothing(factory: sessionmaker[Session], scope: Scope) -> None:
    apply_text(factory, scope, example_text())
    before = snapshot(factory, scope)
    bad = (
        example_text().replace("amount: 49.00", "amount: 99.00").replace("meter: tokens_small", "meter: gone")
    )
    with pytest.raises(CatalogFileError) as raised:
        apply_text(factory, scope, bad)
    assert [path for path, _ in raised.value.errors] == ["plans[1].prices[3].meter"]
    assert snapshot(factory, scope) == before
