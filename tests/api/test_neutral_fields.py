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


def test_a_neutral_field_sent_at_its_neutral_value_is_no_change() -> None:
    class Update(InputModel):
        name: str | None = None
        timezone: str | None = neutral("UTC")
        settings: dict[str, str] | None = neutral({})

    update = Update(name="Acme", timezone="UTC", settings={})
    assert update.set_fields() == {"name": "Acme"}
    assert Update.neutral_names() == {"timezone", "settings"}


def test_a_neutral_query_parameter_passes_its_neutral_values_and_names_itself_otherwise() -> None:
    from typing import Annotated

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.errors import install_error_handlers
    from api.schemas.common import neutral_query

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/thing")
    def thing(
        url: Annotated[bool | None, neutral_query(False, brought_by="issue 99")] = None,
        expand: Annotated[str | None, neutral_query("")] = None,
    ) -> dict[str, object]:
        return {"url": url, "expand": expand}

    client = TestClient(app)
    assert client.get("/thing").json() == {"url": None, "expand": None}
    assert client.get("/thing", params={"url": "false", "expand": ""}).json() == {"url": False, "expand": ""}
    refused = client.get("/thing", params={"url": "true"})
    assert refused.status_code == 400, refused.text
    assert [d["field"] for d in refused.json()["details"]] == ["query.url"]
    assert "not supported yet" in refused.json()["message"]
    parameters = app.openapi()["paths"]["/thing"]["get"]["parameters"]
    marks = {p["name"]: p["schema"][NEUTRAL_MARK] for p in parameters}
    assert marks == {
        "url": {"accepted": [None, False], "brought_by": "issue 99"},
        "expand": {"accepted": [None, ""]},  # FastAPI drops the null brought_by
    }
