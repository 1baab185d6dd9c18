"""Routes of the API: JSON numbers parsed as ``Decimal``, and every error response documented.

``{"amount": 0.1}`` arrives as ``Decimal("0.1")``, not ``0.1000000000000000055…``. ``NaN``,
``Infinity`` and undecodable bytes are malformed JSON (400), never a server error.

``DocumentedRoute`` declares in the OpenAPI document the error responses a route can give, derived
from what it takes and uses rather than typed per route, each with the body ``api/errors.py`` really
sends for that status:

- 401: an API-key security scheme among its dependencies (missing, unknown or revoked key);
- 404: a path parameter (an unknown id, or another tenant's), or a JSON body naming ids (``…_id``);
- 400: every route (``api/headers.py`` refuses a repeated header the API reads, before routing);
  with any parameter or body also invalid input (malformed JSON, a missing field, a bad value);
- 409: a create/update through the write catalog (a duplicate key, or a state that forbids the change).

Every error body is Flexprice's flat ``errors.ErrorResponse`` (``code``, ``http_status_code``,
``message``) plus our ``details``; see ``api/errors.py`` for the codes.

A route adds what only its own code raises (``responses={413: {...}}``): 413/415/503 for usage
events, 400 for a bad Stripe signature. An explicit entry keeps its description; the body schema is
filled in from ``error_model`` unless the entry brings its own.

``LeanRoute`` is a ``DocumentedRoute`` for the latency-critical entitlement checks: documented from
its endpoint's signature like any route, called without FastAPI's dependency solving.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant, get_parameterless_sub_dependant
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ValidationError
from starlette.routing import request_response

from api.deps import api_key_header, get_scope, get_write_catalog, now, resolve_scope
from api.errors import error_model


def _no_constants(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def parse_json(body: bytes) -> Any:
    """Strict JSON with floats as ``Decimal``; every failure is a ``JSONDecodeError``."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_no_constants)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise json.JSONDecodeError(f"undecodable body: {type(exc).__name__}", "", 0) from exc


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation holds (through ``list[...]``, ``X | None``, ``Annotated``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if typing.get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _models(arg)


def _names_ids(model: type[BaseModel], seen: set[type[BaseModel]]) -> bool:
    """Whether a body model (or one nested in it) has a field referring to another row by id."""
    if model in seen:
        return False
    seen.add(model)
    for name, info in model.model_fields.items():
        if name.endswith("_id"):
            return True
        if any(_names_ids(nested, seen) for nested in _models(info.annotation)):
            return True
    return False


def error_statuses(dependant: Dependant, methods: set[str]) -> set[int]:
    """The error statuses a route with this dependency tree can answer (see the module docstring)."""
    tree = list(_dependants(dependant))
    bodies = [p for d in tree for p in d.body_params]
    statuses = {400}  # SingleValuedHeaders answers any route, before routing; so does invalid input
    if any(isinstance(d.call, SecurityBase) for d in tree):
        statuses.add(401)
    body_models = [m for p in bodies for m in _models(p.field_info.annotation)]
    if any(d.path_params for d in tree) or any(_names_ids(m, set()) for m in body_models):
        statuses.add(404)
    if any(d.call is get_write_catalog for d in tree) and methods & {"POST", "PUT", "PATCH"}:
        statuses.add(409)
    return statuses


_DESCRIPTIONS = {
    400: "`validation_error`: invalid input; `details` names every offending field (`body.…`, `query.…`, "
    "`path.…`, `header.…`): malformed JSON, a missing or invalid value, a header the API reads "
    "(`x-api-key`, `content-type`, …) sent more than once.",
    401: "`permission_denied`: missing, unknown or revoked `x-api-key`.",
    404: "`not_found`: unknown id, also another tenant's; for an id named in the body, `details` names "
    "the field.",
    409: "`already_exists`: a duplicate key (`lookup_key`, `external_id`, `code`, …); `version_conflict`: "
    "a state that forbids the change.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`ApiKey`", "schema": {"type": "string"}}},
}


def documented_responses(
    statuses: set[int], declared: dict[int | str, dict[str, Any]] | None
) -> dict[int | str, dict[str, Any]]:
    """``declared`` plus an entry for every derived status, each error with its body model."""
    responses: dict[int | str, dict[str, Any]] = {key: dict(value) for key, value in (declared or {}).items()}
    for status in statuses:
        responses.setdefault(status, {})
    for key, entry in responses.items():
        status = int(key) if str(key).isdigit() else 0
        if status < 400 or "model" in entry or "content" in entry:
            continue
        try:
            entry["model"] = error_model(status)
        except KeyError:  # a status errors.py never produces: documented as the route declared it
            continue
        if status in _DESCRIPTIONS:
            entry.setdefault("description", _DESCRIPTIONS[status])
        if status in _HEADERS:
            entry.setdefault("headers", _HEADERS[status])
    return responses


def without_fastapi_422(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` without the 422 FastAPI documents for every route with parameters: invalid input is
    a 400 here (Flexprice's status), documented by ``DocumentedRoute``; its schemas go too."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


class DocumentedRoute(APIRoute):
    """An ``APIRoute`` whose OpenAPI operation lists every error response it can give."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        responses: dict[int | str, dict[str, Any]] | None = None,
        methods: set[str] | list[str] | None = None,
        dependencies: list[Depends] | None = None,
        openapi_extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        dependant = get_dependant(path=path, call=endpoint)
        for depends in dependencies or []:
            dependant.dependencies.append(get_parameterless_sub_dependant(depends=depends, path=path))
        statuses = error_statuses(dependant, {m.upper() for m in methods or ["GET"]})
        super().__init__(
            path,
            endpoint,
            responses=documented_responses(statuses, responses),
            methods=methods,
            dependencies=dependencies,
            openapi_extra=openapi_extra,
            **kwargs,
        )


class DecimalRoute(DocumentedRoute):
    """A ``DocumentedRoute`` whose handler sees ``DecimalJSONRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(DecimalJSONRequest(request.scope, request.receive))

        return route


def validated_body(model: type[BaseModel], body: bytes) -> BaseModel:
    """``body`` validated by ``model`` straight from the JSON bytes (pydantic-core, no ``json.loads``);
    failures raise what FastAPI raises for a body (``api/errors.py``: 400, malformed JSON or naming
    ``body.…``)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


class LeanRoute(DocumentedRoute):
    """A route whose endpoint is called without FastAPI's body parsing and dependency solving — most of
    an entitlement check's CPU time — and is otherwise an ordinary route: documented from its signature,
    answered through the app's middleware and error handlers (a POST to its exact path straight from the
    app's outermost layer, ``api/dispatch.py``; ``handler`` is what both call).

    The endpoint is ``async`` and takes only parameters this class supplies, in this order:

    - ``ScopeDep`` (``api/deps.py``): the API key resolved by ``resolve_scope``, first (a missing or
      revoked key is a 401 whatever the body);
    - one pydantic body model, validated from the raw bytes (``validated_body``);
    - ``NowDep``: ``now`` or the app's ``dependency_overrides[now]`` (tests freeze the clock);
    - ``Request``.

    Anything else is refused when the route is built, so a parameter is never silently left unfilled.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.max_body_size is not None:
            raise TypeError(f"{self.path}: a LeanRoute has no body size limit of its own")
        # ``handler`` is the route's one implementation: ``api/dispatch.py`` calls it straight for a
        # request to this exact path, and the router (a request it does not dispatch) through Starlette's
        # request/response wrapper (the app's error handlers, as for any route), without FastAPI's
        # per-request exit stacks, which only dependencies with ``yield`` need.
        self.handler = self.get_route_handler()
        self.app = request_response(self.handler)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        scope_name = clock_name = None
        for sub in dependant.dependencies:
            if sub.call is get_scope and sub.name:
                scope_name = sub.name
            elif sub.call is now and sub.name:
                clock_name = sub.name
            else:
                raise TypeError(f"{self.path}: a LeanRoute cannot supply {sub.name or sub.call!r}")
        special = (
            dependant.response_param_name,
            dependant.background_tasks_param_name,
            dependant.security_scopes_param_name,
            dependant.http_connection_param_name,
            dependant.websocket_param_name,
        )
        if len(dependant.body_params) > 1 or any(
            (
                *dependant.path_params,
                *dependant.query_params,
                *dependant.header_params,
                *dependant.cookie_params,
                *filter(None, special),
            )
        ):
            raise TypeError(f"{self.path}: a LeanRoute takes one body model and no other parameters")
        body = dependant.body_params[0] if dependant.body_params else None
        model = next(_models(body.field_info.annotation), None) if body is not None else None
        if body is not None and model is None:
            raise TypeError(f"{self.path}: a LeanRoute's body must be a pydantic model")
        endpoint = self.endpoint
        request_name = dependant.request_param_name
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"{self.path}: a LeanRoute's endpoint must be async")

        async def handler(request: Request) -> Response:
            values: dict[str, Any] = {}
            if scope_name is not None:
                values[scope_name] = await resolve_scope(
                    request, request.headers.get(api_key_header.model.name)
                )
            if body is not None and model is not None:
                values[body.name] = validated_body(model, await request.body())
            if clock_name is not None:
                clock = request.app.dependency_overrides.get(now, now)
                at = clock()
                values[clock_name] = await at if inspect.isawaitable(at) else at
            if request_name is not None:
                values[request_name] = request
            response: Response = await endpoint(**values)
            return response

        return handler


def domain_router(prefix: str, tag: str) -> APIRouter:
    """A router for one domain: Decimal-safe bodies, one OpenAPI tag."""
    return APIRouter(prefix=prefix, tags=[tag], route_class=DecimalRoute)
