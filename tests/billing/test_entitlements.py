"""Entitlement resolution, aggregation across subscriptions and real-time checks (§7)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flexprice_pipelines.billing.entitlements import (
    CheckReason,
    CustomerEntitlement,
    EntitlementSource,
    EntityType,
    FeatureType,
    aggregate_customer_entitlements,
    aggregate_entitlements,
    check_entitlement,
    resolve_subscription_entitlements,
)
from flexprice_pipelines.billing.errors import InvalidEntitlement

D = Decimal


def row(
    sub: str = "sub_1",
    feature: str = "api_calls",
    feature_type: FeatureType = FeatureType.METERED,
    entity_type: EntityType = EntityType.PLAN,
    limit: str | None = "100",
    **extra: object,
) -> EntitlementSource:
    return EntitlementSource(
        subscription_id=sub,
        plan_id="plan_pro",
        entity_type=entity_type,
        feature_id=feature,
        feature_type=feature_type,
        usage_limit=None if limit is None else D(limit),
        **extra,  # type: ignore[arg-type]
    )


def metered(limit: str | None, soft: bool = False, enabled: bool = True) -> CustomerEntitlement:
    return aggregate_entitlements([row(limit=limit, is_soft_limit=soft, is_enabled=enabled)])


# --- checks ---------------------------------------------------------------------------------------


def test_hard_limit_allows_below_and_blocks_at_the_limit() -> None:
    ent = metered("100")
    below = check_entitlement(ent, D(99))
    assert (below.allowed, below.reason, below.remaining) == (True, CheckReason.WITHIN_LIMIT, D(1))
    at = check_entitlement(ent, D(100))
    assert (at.allowed, at.reason, at.remaining) == (False, CheckReason.LIMIT_REACHED, D(0))
    over = check_entitlement(ent, D(250))
    assert (over.allowed, over.remaining, over.usage_limit) == (False, D(0), D(100))
    assert over.current_usage == D(250)
    assert over.is_soft_limit is False


def test_soft_limit_allows_past_the_limit_and_says_so() -> None:
    ent = metered("100", soft=True)
    result = check_entitlement(ent, D(150))
    assert (result.allowed, result.reason, result.remaining) == (True, CheckReason.SOFT_LIMIT_EXCEEDED, D(0))
    assert result.is_soft_limit is True
    assert check_entitlement(ent, D(10)).reason is CheckReason.WITHIN_LIMIT


def test_unlimited_has_no_remaining() -> None:
    result = check_entitlement(metered(None), D(10**9))
    assert (result.allowed, result.reason, result.remaining, result.usage_limit) == (
        True,
        CheckReason.UNLIMITED,
        None,
        None,
    )


def test_disabled_feature_is_never_allowed() -> None:
    result = check_entitlement(metered("100", enabled=False), D(0))
    assert (result.allowed, result.reason, result.is_enabled) == (False, CheckReason.DISABLED, False)
    boolean_off = aggregate_entitlements(
        [row(feature_type=FeatureType.BOOLEAN, limit=None, is_enabled=False)]
    )
    assert check_entitlement(boolean_off, D(0)).allowed is False


def test_boolean_feature_is_allowed_when_enabled() -> None:
    ent = aggregate_entitlements([row(feature="sso", feature_type=FeatureType.BOOLEAN, limit=None)])
    result = check_entitlement(ent, D(0))
    assert (result.allowed, result.reason, result.remaining, result.usage_limit) == (
        True,
        CheckReason.ENABLED,
        None,
        None,
    )


def test_static_feature_returns_its_values() -> None:
    ent = aggregate_entitlements(
        [
            row(sub="s1", feature="tier", feature_type=FeatureType.STATIC, limit=None, static_value="gold"),
            row(sub="s2", feature="tier", feature_type=FeatureType.STATIC, limit=None, static_value="bronze"),
            row(sub="s3", feature="tier", feature_type=FeatureType.STATIC, limit=None, static_value="gold"),
        ]
    )
    result = check_entitlement(ent, D(0))
    assert result.allowed is True
    assert result.static_values == ("bronze", "gold")


def test_check_refuses_floats() -> None:
    with pytest.raises(TypeError):
        check_entitlement(metered("1"), 1.0)  # type: ignore[arg-type]


# --- aggregation ----------------------------------------------------------------------------------


def test_limits_of_several_subscriptions_are_summed() -> None:
    ent = aggregate_entitlements([row(sub="s1", limit="100"), row(sub="s2", limit="250.5")])
    assert ent.usage_limit == D("350.5")
    assert ent.subscription_ids == ("s1", "s2")
    assert check_entitlement(ent, D(300)).allowed is True
    assert check_entitlement(ent, D("350.5")).allowed is False


def test_any_unlimited_subscription_makes_it_unlimited() -> None:
    ent = aggregate_entitlements([row(sub="s1", limit="100"), row(sub="s2", limit=None)])
    assert ent.usage_limit is None


def test_disabled_rows_do_not_contribute() -> None:
    ent = aggregate_entitlements(
        [
            row(sub="s1", limit="100"),
            row(sub="s2", limit=None, is_enabled=False),
            row(sub="s3", limit="50", is_enabled=False, is_soft_limit=True),
        ]
    )
    assert (ent.is_enabled, ent.usage_limit, ent.is_soft_limit) == (True, D(100), False)


def test_soft_when_any_enabled_row_is_soft() -> None:
    ent = aggregate_entitlements([row(sub="s1", is_soft_limit=True), row(sub="s2")])
    assert ent.is_soft_limit is True
    assert check_entitlement(ent, D(500)).allowed is True


def test_boolean_is_or_across_subscriptions() -> None:
    rows = [
        row(sub="s1", feature="sso", feature_type=FeatureType.BOOLEAN, limit=None, is_enabled=False),
        row(sub="s2", feature="sso", feature_type=FeatureType.BOOLEAN, limit=None, is_enabled=True),
    ]
    assert aggregate_entitlements(rows).is_enabled is True
    assert aggregate_entitlements(rows[:1]).is_enabled is False


def test_reset_period_is_the_most_common_then_alphabetical() -> None:
    common = aggregate_entitlements(
        [
            row(sub="s1", usage_reset_period="DAILY"),
            row(sub="s2", usage_reset_period="MONTHLY"),
            row(sub="s3", usage_reset_period="MONTHLY"),
        ]
    )
    assert common.usage_reset_period == "MONTHLY"
    tie = aggregate_entitlements(
        [row(sub="s1", usage_reset_period="MONTHLY"), row(sub="s2", usage_reset_period="DAILY")]
    )
    assert tie.usage_reset_period == "DAILY"


def test_aggregation_refuses_mixed_features_or_types() -> None:
    with pytest.raises(InvalidEntitlement):
        aggregate_entitlements([])
    with pytest.raises(InvalidEntitlement, match="several features"):
        aggregate_entitlements([row(feature="a"), row(feature="b")])
    with pytest.raises(InvalidEntitlement, match="several types"):
        aggregate_entitlements([row(), row(sub="s2", feature_type=FeatureType.BOOLEAN)])


def test_customer_aggregation_groups_by_feature() -> None:
    result = aggregate_customer_entitlements(
        [
            row(sub="s1", feature="api_calls", limit="10"),
            row(sub="s1", feature="sso", feature_type=FeatureType.BOOLEAN, limit=None),
            row(sub="s2", feature="api_calls", limit="5"),
        ]
    )
    assert sorted(result) == ["api_calls", "sso"]
    assert result["api_calls"].usage_limit == D(15)
    assert result["sso"].is_enabled is True


# --- resolution -----------------------------------------------------------------------------------


def test_subscription_row_overrides_the_plan_row_of_its_feature() -> None:
    plan_rows = [
        row(sub="s1", feature="api_calls", limit="100"),
        row(sub="s1", feature="seats", limit="5"),
        row(sub="s2", feature="api_calls", limit="100"),
    ]
    override = row(sub="s1", feature="api_calls", limit="1000", entity_type=EntityType.SUBSCRIPTION)
    resolved = resolve_subscription_entitlements(plan_rows, [override])
    assert [(r.subscription_id, r.feature_id, r.usage_limit) for r in resolved] == [
        ("s1", "seats", D(5)),
        ("s2", "api_calls", D(100)),
        ("s1", "api_calls", D(1000)),
    ]
    customer = aggregate_customer_entitlements(resolved)
    assert customer["api_calls"].usage_limit == D(1100)


def test_override_can_disable_a_plan_feature() -> None:
    resolved = resolve_subscription_entitlements(
        [row(sub="s1", limit=None)],
        [row(sub="s1", limit=None, entity_type=EntityType.SUBSCRIPTION, is_enabled=False)],
    )
    assert check_entitlement(aggregate_entitlements(resolved), D(0)).reason is CheckReason.DISABLED


def test_addon_rows_are_kept_and_add_to_the_override() -> None:
    resolved = resolve_subscription_entitlements(
        [row(sub="s1", limit="100"), row(sub="s1", limit="50", entity_type=EntityType.ADDON)],
        [row(sub="s1", limit="200", entity_type=EntityType.SUBSCRIPTION)],
    )
    assert aggregate_entitlements(resolved).usage_limit == D(250)


def test_resolution_refuses_misplaced_or_duplicate_rows() -> None:
    sub_row = row(entity_type=EntityType.SUBSCRIPTION)
    with pytest.raises(InvalidEntitlement) as err:
        resolve_subscription_entitlements([sub_row], [])
    assert err.value.field == "plan_rows.0.entity_type"
    with pytest.raises(InvalidEntitlement):
        resolve_subscription_entitlements([], [row()])
    with pytest.raises(InvalidEntitlement, match="two overrides"):
        resolve_subscription_entitlements([], [sub_row, sub_row])


def test_source_validation() -> None:
    with pytest.raises(InvalidEntitlement) as err:
        row(limit="-1")
    assert err.value.field == "usage_limit"
    with pytest.raises(InvalidEntitlement) as err:
        row(feature_type="usage")  # type: ignore[arg-type]
    assert err.value.field == "feature_type"
    with pytest.raises(InvalidEntitlement):
        row(feature_type=FeatureType.STATIC, limit=None)
    with pytest.raises(InvalidEntitlement):
        row(feature="")
    accepted = row(entity_type="ADDON", feature_type="config", limit=None, static_value='{"a": 1}')  # type: ignore[arg-type]
    assert (accepted.entity_type, accepted.feature_type) == (EntityType.ADDON, FeatureType.CONFIG)
