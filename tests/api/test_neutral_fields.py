"""`neutral()` fields: Flexprice fields we accept only at their neutral values, refused otherwise naming the field."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from api.schemas.common import NEUTRAL_MARK, InputModel, neutral


class M(InputModel):
    price_unit_type: str = neutral(default="FIAT", brought_by="issue 99")
    credits: Decimal | None = neutral("0", default=None)
    settings: dict | None = neutral({}, default=None)


def test_neutral_values_pass_and_others_are_refused() -> None:
    assert M().price_unit_type == "FIAT"
    M(price_unit_type="FIAT", credits="0", settings={})
    M(credits=0)
    M(credits="0.00")
    for bad in [dict(price_unit_type="CUSTOM"), dict(credits="5"), dict(settings={"a": 1})]:
        with pytest.raises(ValidationError) as e:
            M(**bad)
        assert "not supported yet" in str(e.value), e.value
    schema = M.model_json_schema()["properties"]
    assert schema["price_unit_type"][NEUTRAL_MARK] == {"accepted": ["FIAT"], "brought_by": "issue 99"}
    assert schema["credits"][NEUTRAL_MARK]["accepted"] == [None, "0"]
