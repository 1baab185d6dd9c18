"""No delivery reaches a non-public address (issue 11, item 2), and attempts never show what an
endpoint answered.

The receiver on 127.0.0.1 stands in for an internal service (a metadata server, an admin port):
endpoints name it in every spelling a URL allows, or by names whose DNS answers are internal or
change between the check and the connect. Rows are written straight to the catalog, as rows stored
before the API refused them, or whose name resolved elsewhere when they were created.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from ipaddress import ip_address, ip_network

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.integrations.destinations import (
    DestinationPolicy,
    DestinationRefused,
    check_url,
    is_loopback,
    is_public,
)
from flexprice_pipelines.integrations.webhooks import INVOICE_FINALIZED, deliver_pending, emit_system_event
from flexprice_pipelines.integrations.webhooks.delivery import delivery_client
from tests.api.conftest import Tenant
from tests.integrations.webhooks.conftest import LOOPBACK
from tests.integrations.webhooks.receiver import Receiver
from tests.integrations.webhooks.test_delivery import NOW, add_endpoint, attempts, emit, new_scope, session_of

PATH = "/v1/webhooks/endpoints"
INTERNAL = "internal-service-secret-7f3a"


def _spellings(port: int) -> list[str]:
    """The receiver's address as a URL may write it: each must be refused."""
    return [
        f"http://127.0.0.1:{port}/hooks",
        f"http://2130706433:{port}/hooks",  # decimal
        f"http://0x7f000001:{port}/hooks",  # hex
        f"http://0177.0.0.1:{port}/hooks",  # octal
        f"http://127.1:{port}/hooks",  # short form
        f"http://[::ffff:127.0.0.1]:{port}/hooks",  # IPv4-mapped IPv6
        f"http://localhost:{port}/hooks",
        f"http://localhost.:{port}/hooks",  # trailing dot
        f"http://user:pw@127.0.0.1:{port}/hooks",  # userinfo
    ]


def test_no_delivery_reaches_a_loopback_spelling_by_default(
    app: FastAPI, http: httpx.Client, receiver: Receiver
) -> None:
    scope = new_scope(app)
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    for url in _spellings(port):
        add_endpoint(app, scope, url, [INVOICE_FINALIZED])
    emit(app, scope)

    with session_of(app) as session:
        summary = deliver_pending(session, http, NOW, tenant_id=scope.tenant_id, timeout=2.0)

    assert summary.attempted == len(_spellings(port)) and summary.delivered == 0
    assert receiver.requests == []
    logged = attempts(app, scope)
    assert {(a.status_code, a.error) for a in logged} <= {
        (None, "destination not public"),
        (None, "a host name ending in a dot is not allowed"),
        (None, "credentials in the URL are not allowed"),
    }


class Rebinding:
    """A DNS server whose answers change: ``answers[i]`` for the i-th lookup, the last one after."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = answers
        self.lookups: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, host: str, port: int) -> Sequence[str]:
        with self.lock:
            self.lookups.append(host)
            return self.answers[min(len(self.lookups), len(self.answers)) - 1]


def _names(port: int) -> list[str]:
    return [
        f"http://metadata.example.com:{port}/latest",  # answers 169.254.169.254
        f"http://mixed.example.com:{port}/hooks",  # a public answer and an internal one
        f"http://private.example.com:{port}/hooks",  # 10/8, 172.16/12, 192.168/16, CGNAT …
    ]


@pytest.mark.parametrize(
    "answers",
    [
        ["169.254.169.254"],
        ["93.184.216.34", "127.0.0.1"],
        ["10.0.0.7"],
        ["172.16.0.1"],
        ["192.168.1.1"],
        ["100.64.0.1"],
        ["0.0.0.0"],
        ["::1"],
        ["fd00::1"],
        ["fe80::1"],
        ["::ffff:10.0.0.1"],
        ["64:ff9b::a9fe:a9fe"],  # NAT64 form of 169.254.169.254
        ["2002:a9fe:a9fe::1"],  # 6to4 form of 169.254.169.254
        ["224.0.0.1"],
        ["198.18.0.1"],
    ],
    ids=lambda a: "+".join(a),
)
def test_no_delivery_reaches_a_name_that_resolves_internally(
    app: FastAPI, http: httpx.Client, receiver: Receiver, answers: list[str]
) -> None:
    scope = new_scope(app)
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    for url in _names(port):
        add_endpoint(app, scope, url, [INVOICE_FINALIZED])
    emit(app, scope)
    resolver = Rebinding(answers, ["127.0.0.1"])  # whatever was checked, later lookups say loopback

    with session_of(app) as session:
        summary = deliver_pending(
            session, http, NOW, tenant_id=scope.tenant_id, destinations=DestinationPolicy(resolver=resolver)
        )

    assert summary.delivered == 0 and receiver.requests == []
    assert {(a.status_code, a.error) for a in attempts(app, scope)} == {(None, "destination not public")}
    assert len(resolver.lookups) == len(_names(port))  # one lookup per attempt, none at connect time


def test_the_connection_goes_to_the_address_that_was_checked(
    app: FastAPI, http: httpx.Client, receiver: Receiver
) -> None:
    """Against rebinding: the check's answer is the address used. Here the first answer is the
    receiver (loopback allowed) and every later one an address nothing listens on; the request
    arrives, with the name as its Host, so no second lookup decided where it went."""
    scope = new_scope(app)
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    add_endpoint(app, scope, f"http://hooks.example.com:{port}/hooks", [INVOICE_FINALIZED])
    emit(app, scope)
    resolver = Rebinding(["127.0.0.1"], ["10.255.255.1"])
    policy = DestinationPolicy(allow_loopback=True, resolver=resolver)

    with session_of(app) as session:
        summary = deliver_pending(session, http, NOW, tenant_id=scope.tenant_id, destinations=policy)

    assert summary.delivered == 1 and resolver.lookups == ["hooks.example.com"]
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.example.com:{port}" and request.path == "/hooks"


def test_loopback_allowed_for_development_still_refuses_private_ranges(
    app: FastAPI, http: httpx.Client, receiver: Receiver
) -> None:
    scope = new_scope(app)
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    add_endpoint(app, scope, f"http://private.example.com:{port}/hooks", [INVOICE_FINALIZED])
    emit(app, scope)
    policy = DestinationPolicy(allow_loopback=True, resolver=Rebinding(["10.0.0.7"]))

    with session_of(app) as session:
        deliver_pending(session, http, NOW, tenant_id=scope.tenant_id, destinations=policy)

    [attempt] = attempts(app, scope)
    assert (attempt.status_code, attempt.error) == (None, "destination not public")


@pytest.mark.usefixtures("loopback_endpoints")
@pytest.mark.parametrize("status", [500, 302, 404])
def test_attempts_show_the_status_never_the_answer(
    tenant: Tenant, http: httpx.Client, receiver: Receiver, status: int
) -> None:
    receiver.default = status
    receiver.body = f'{{"aws_secret_access_key": "{INTERNAL}"}}'.encode() * 40
    receiver.headers = {"x-internal-token": INTERNAL, "location": "http://169.254.169.254/latest"}
    endpoint = tenant.created(PATH, {"url": receiver.url, "enabled_events": [INVOICE_FINALIZED]})
    with session_of(tenant.app) as session:
        emit_system_event(session, tenant.scope, INVOICE_FINALIZED, {"invoice_id": "inv_1"}, NOW)
    with session_of(tenant.app) as session:
        deliver_pending(session, http, NOW, tenant_id=tenant.scope.tenant_id, destinations=LOOPBACK)

    response = tenant.get(f"{PATH}/{endpoint['id']}/attempts")
    assert response.status_code == 200
    [attempt] = response.json()["items"]
    assert (attempt["status_code"], attempt["error"]) == (status, f"HTTP {status}")
    assert INTERNAL not in response.text
    assert len(receiver.requests) == 1  # a redirect is not followed


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://[::1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::127.0.0.1]/",
        "http://localhost/",
        "http://api.localhost/",
        "http://localhost./",
        "http://billing.example.com./hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://10.0.0.1/",
        "http://172.31.255.255/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://198.18.0.1/",
        "http://192.0.2.1/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:7f00:1::]/",
        "http://metadata.google.internal/",
        "http://printer.local/",
        "http://intranet/",
        "http://user:pw@billing.example.com/",
        "http://billing.example.com@127.0.0.1/",
        "http://127。0。0。1/",
    ],
)
def test_create_and_update_refuse_non_public_urls_with_400_naming_url(tenant: Tenant, url: str) -> None:
    body = {"url": url, "enabled_events": [INVOICE_FINALIZED]}
    created = tenant.post(PATH, body)
    assert created.status_code == 400, created.text
    assert [d["field"] for d in created.json()["details"]] == ["body.url"]

    endpoint = tenant.created(
        PATH, {"url": "https://billing.example.com/hooks", "enabled_events": ["invoice.update.voided"]}
    )
    updated = tenant.put(f"{PATH}/{endpoint['id']}", {"url": url})
    assert updated.status_code == 400, updated.text
    assert [d["field"] for d in updated.json()["details"]] == ["body.url"]
    assert tenant.get(f"{PATH}/{endpoint['id']}").json()["url"] == "https://billing.example.com/hooks"


@pytest.mark.parametrize(
    "url", ["https://billing.example.com/hooks", "http://93.184.216.34:8080/x", "https://[2606:4700::1111]/"]
)
def test_public_urls_are_accepted(tenant: Tenant, url: str) -> None:
    assert tenant.created(PATH, {"url": url, "enabled_events": [INVOICE_FINALIZED]})["url"].startswith(
        url[:12]
    )


@pytest.mark.usefixtures("loopback_endpoints")
def test_the_development_setting_admits_loopback_only(tenant: Tenant) -> None:
    for url in ("http://127.0.0.1:8080/hooks", "http://localhost:8080/", "http://[::1]:8080/"):
        assert tenant.post(PATH, {"url": url, "enabled_events": [INVOICE_FINALIZED]}).status_code == 201
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://[fd00::1]/"):
        assert tenant.post(PATH, {"url": url, "enabled_events": [INVOICE_FINALIZED]}).status_code == 400


def test_the_setting_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from flexprice_pipelines.settings import Settings

    assert Settings().webhooks_allow_loopback is False
    monkeypatch.setenv("FLEXPRICE_WEBHOOKS_ALLOW_LOOPBACK", "true")
    assert Settings().webhooks_allow_loopback is True


URL_TEXT = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, host, port: f"{scheme}://{host}{port}/x",
        st.sampled_from(["http", "https", "HTTP", "ftp", "file", ""]),
        st.text(alphabet="0123456789abcdefx.:[]@%-_。localhost", max_size=30),
        st.sampled_from(["", ":80", ":0", ":65536", ":x"]),
    ),
)


@given(URL_TEXT)
@settings(max_examples=400, deadline=None)
def test_the_check_only_ever_refuses_with_a_reason(url: str) -> None:
    """Any text is accepted or refused with a fixed reason: never another exception (a 500)."""
    try:
        check_url(url)
    except DestinationRefused as refused:
        assert refused.reason


ADDRESSES = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.sampled_from(["127.0.0.1", "::1", "169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "8.8.8.8"]),
)


@given(st.lists(ADDRESSES, min_size=1, max_size=4), st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_send_only_ever_goes_to_an_allowed_address(answers: list[str], allow_loopback: bool) -> None:
    """The general rule on the resolver side: whatever DNS answers, the address handed to the
    connection is public (or loopback when allowed), and only when every answer was."""
    policy = DestinationPolicy(allow_loopback=allow_loopback, resolver=lambda host, port: answers)
    parsed = [ip_address(a) for a in answers]
    allowed = [is_public(a) or (allow_loopback and is_loopback(a)) for a in parsed]
    try:
        destination = policy.resolve("https://hooks.example.com/x")
    except DestinationRefused:
        assert not all(allowed)
        return
    assert all(allowed) and destination.address == parsed[0]
    assert not any(destination.address in ip_network(n) for n in ("10.0.0.0/8", "169.254.0.0/16", "fc00::/7"))


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])  # the receiver speaks http
def test_deliveries_ignore_proxies_from_the_environment(
    app: FastAPI, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """A proxy would resolve the name itself, after the check: the drainer's client never uses one."""
    monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nothing listens there: a proxied send fails
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    scope = new_scope(app)
    add_endpoint(app, scope, receiver.url, [INVOICE_FINALIZED])
    emit(app, scope)

    with delivery_client() as http, session_of(app) as session:
        summary = deliver_pending(session, http, NOW, tenant_id=scope.tenant_id, destinations=LOOPBACK)

    assert summary.delivered == 1 and len(receiver.requests) == 1
