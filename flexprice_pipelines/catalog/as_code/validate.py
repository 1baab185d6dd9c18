"""Parse and validate a catalog file completely before anything touches the database.

Shapes are checked by the spec models, meters by ``billing.meters.Meter``, prices by
``billing.pricing.Price``, entitlements, coupons and tax rates by their billing counterparts, and
every reference (a price's meter, an entitlement's feature) must name an object of the same file.
All problems are collected and reported together, each with its path in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from pydantic import ValidationError

from flexprice_pipelines.billing.entitlements import EntitlementSource
from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.invoicing import Coupon, TaxRate
from flexprice_pipelines.billing.meters import Meter
from flexprice_pipelines.billing.pricing import InvalidPriceDetails, Price
from flexprice_pipelines.catalog.as_code.errors import CatalogFileError, file_path
from flexprice_pipelines.catalog.as_code.spec import (
    CatalogSpec,
    CouponSpec,
    EntitlementSpec,
    FeatureSpec,
    MeterSpec,
    PlanSpec,
    PriceSpec,
    TaxRateSpec,
)
from flexprice_pipelines.catalog.as_code.yaml_io import parse_yaml

Problems = list[tuple[str, str]]
# Where a billing model's field name differs from the file's.
_PRICE_FIELDS = {"meter_id": "meter"}
_COUPON_FIELDS = {"type": "coupon_type", "id": "lookup_key"}
_TAX_FIELDS = {"id": "code"}
COUPON_KEY_METADATA = "lookup_key"


def load_catalog(text: str) -> CatalogSpec:
    """Parse catalog YAML and validate all of it; ``CatalogFileError`` lists every problem found."""
    data = parse_yaml(text)
    try:
        catalog = CatalogSpec.model_validate(data)
    except ValidationError as exc:
        raise CatalogFileError(
            [(file_path(*err["loc"]) or "(document)", err["msg"]) for err in exc.errors(include_url=False)]
        ) from None
    problems = validate_catalog(catalog)
    if problems:
        raise CatalogFileError(problems)
    return catalog


def validate_catalog(catalog: CatalogSpec) -> Problems:
    """Every rule violation in ``catalog`` as ``(path, message)``; empty when it can be applied."""
    problems: Problems = []
    meter_keys = _check_meters(catalog.meters, problems)
    features = _check_features(catalog.features, meter_keys, problems)
    _check_plans(catalog.plans, meter_keys, features, problems)
    _duplicates(((f"coupons[{i}]", c.lookup_key) for i, c in enumerate(catalog.coupons)), problems)
    for index, coupon in enumerate(catalog.coupons):
        _check_coupon(f"coupons[{index}]", coupon, problems)
    _duplicates(((f"tax_rates[{i}]", t.code) for i, t in enumerate(catalog.tax_rates)), problems, "code")
    for index, tax in enumerate(catalog.tax_rates):
        _check_tax_rate(f"tax_rates[{index}]", tax, problems)
    return problems


def _duplicates(items: Iterable[tuple[str, str]], problems: Problems, field: str = "lookup_key") -> set[str]:
    seen: dict[str, str] = {}
    for path, key in items:
        if key in seen:
            problems.append((f"{path}.{field}", f"duplicate {field} {key!r} (also at {seen[key]})"))
        else:
            seen[key] = path
    return set(seen)


def _billing_check(path: str, check: Callable[[], Any], problems: Problems, renames: dict[str, str]) -> None:
    try:
        check()
    except InvalidPriceDetails as exc:
        for field, message in exc.errors:
            problems.append((file_path(path, renames.get(field or "", field or "")), message))
    except BillingError as exc:
        field = renames.get(exc.field or "", exc.field or "")
        problems.append((file_path(path, field), exc.message))
    except (TypeError, ValueError) as exc:
        problems.append((path, str(exc)))


def _check_meters(meters: list[MeterSpec], problems: Problems) -> set[str]:
    keys = _duplicates(((f"meters[{i}]", m.lookup_key) for i, m in enumerate(meters)), problems)
    identities: dict[tuple[str, str], int] = {}
    for index, meter in enumerate(meters):
        path = f"meters[{index}]"
        body = meter.model_dump(mode="python", exclude={"lookup_key"})
        body["aggregation"] = {k: v for k, v in body["aggregation"].items() if v is not None}
        _billing_check(path, partial(Meter.model_validate, body), problems, {})
        if meter.identity in identities:
            problems.append(
                (
                    f"{path}.name",
                    f"meters[{identities[meter.identity]}] has the same event_name and name; "
                    "meters are matched by (event_name, name), so each pair must be unique",
                )
            )
        identities.setdefault(meter.identity, index)
    return keys


def _check_features(features: list[FeatureSpec], meter_keys: set[str], problems: Problems) -> dict[str, str]:
    _duplicates(((f"features[{i}]", f.lookup_key) for i, f in enumerate(features)), problems)
    for index, feature in enumerate(features):
        path = f"features[{index}].meter"
        if feature.type == "metered" and feature.meter is None:
            problems.append((path, "a metered feature needs a meter (a meter's lookup_key)"))
        elif feature.type != "metered" and feature.meter is not None:
            problems.append((path, f"only metered features have a meter, this one is {feature.type}"))
        elif feature.meter is not None and feature.meter not in meter_keys:
            problems.append((path, f"unknown meter {feature.meter!r}: no meter with this lookup_key"))
    return {feature.lookup_key: feature.type for feature in features}


def _check_plans(
    plans: list[PlanSpec], meter_keys: set[str], features: dict[str, str], problems: Problems
) -> None:
    _duplicates(((f"plans[{i}]", p.lookup_key) for i, p in enumerate(plans)), problems)
    _duplicates(
        (
            (f"plans[{i}].prices[{j}]", price.lookup_key)
            for i, plan in enumerate(plans)
            for j, price in enumerate(plan.prices)
        ),
        problems,
    )
    for i, plan in enumerate(plans):
        for j, price in enumerate(plan.prices):
            _check_price(f"plans[{i}].prices[{j}]", price, meter_keys, problems)
        _duplicates(
            ((f"plans[{i}].entitlements[{k}]", e.feature) for k, e in enumerate(plan.entitlements)),
            problems,
            "feature",
        )
        for k, entitlement in enumerate(plan.entitlements):
            _check_entitlement(f"plans[{i}].entitlements[{k}]", entitlement, features, problems)


def _check_price(path: str, price: PriceSpec, meter_keys: set[str], problems: Problems) -> None:
    body = price.model_dump(mode="python", exclude={"meter", "description", "metadata"})
    body["meter_id"] = price.meter
    _billing_check(path, partial(Price.model_validate, body), problems, _PRICE_FIELDS)
    if price.meter is not None:
        if price.type != "USAGE":
            problems.append((f"{path}.meter", f"only USAGE prices have a meter, this one is {price.type}"))
        elif price.meter not in meter_keys:
            problems.append(
                (f"{path}.meter", f"unknown meter {price.meter!r}: no meter with this lookup_key")
            )


def _check_entitlement(
    path: str, entitlement: EntitlementSpec, features: dict[str, str], problems: Problems
) -> None:
    feature_type = features.get(entitlement.feature)
    if feature_type is None:
        problems.append(
            (f"{path}.feature", f"unknown feature {entitlement.feature!r}: no feature with this lookup_key")
        )
        return
    if entitlement.usage_limit is not None and feature_type != "metered":
        problems.append(
            (f"{path}.usage_limit", f"only metered features have a usage_limit, not {feature_type}")
        )
    _billing_check(
        path,
        lambda: EntitlementSource(
            subscription_id="catalog-file",
            plan_id=None,
            entity_type="PLAN",  # type: ignore[arg-type]  # the billing type parses the string
            feature_id=entitlement.feature,
            feature_type=feature_type,  # type: ignore[arg-type]
            is_enabled=entitlement.is_enabled,
            usage_limit=entitlement.usage_limit,  # type: ignore[arg-type]
            usage_reset_period=entitlement.usage_reset_period,
            is_soft_limit=entitlement.is_soft_limit,
            static_value=entitlement.static_value,
        ),
        problems,
        {"feature_id": "feature"},
    )


def _check_coupon(path: str, coupon: CouponSpec, problems: Problems) -> None:
    if COUPON_KEY_METADATA in coupon.metadata:
        problems.append(
            (f"{path}.metadata.{COUPON_KEY_METADATA}", "is reserved: it stores the coupon's lookup_key")
        )
    _billing_check(
        path,
        lambda: Coupon(
            id=coupon.lookup_key,
            name=coupon.name,
            type=coupon.coupon_type,  # type: ignore[arg-type]
            amount_off=coupon.amount_off,
            percentage_off=coupon.percentage_off,
            currency=coupon.currency,
            cadence=coupon.cadence,  # type: ignore[arg-type]
            duration_in_periods=coupon.duration_in_periods,
            redeem_after=coupon.redeem_after,
            redeem_before=coupon.redeem_before,
            max_redemptions=coupon.max_redemptions,
        ),
        problems,
        _COUPON_FIELDS,
    )


def _check_tax_rate(path: str, tax: TaxRateSpec, problems: Problems) -> None:
    _billing_check(
        path,
        lambda: TaxRate(
            id=tax.code,
            name=tax.name,
            tax_rate_type=tax.tax_rate_type,  # type: ignore[arg-type]
            percentage_value=tax.percentage_value,
            fixed_value=tax.fixed_value,
            currency=tax.currency,
        ),
        problems,
        _TAX_FIELDS,
    )
    if tax.percentage_value is not None and tax.fixed_value is not None:
        problems.append((f"{path}.fixed_value", "set either percentage_value or fixed_value, not both"))
