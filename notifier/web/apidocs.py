"""/api/docs: the API reference as one page rendered here, from the app's own OpenAPI schema.

FastAPI's Swagger UI loads its script and styles from a CDN: the page is blank in the networks without internet
that compliance teams often work in, and it needed an exception to the pages' Content-Security-Policy. This page
needs nothing from outside and runs no script; Jinja2 escapes every text taken from the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from notifier.web.auth import ANONYMOUS, Principal
from notifier.web.deps import reader
from notifier.web.pages import render

router = APIRouter()
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Field:
    name: str
    type: str
    required: bool = False
    where: str = ""  # query, path, header (parameters only)
    default: str = ""
    description: str = ""


@dataclass
class Body:
    content_type: str
    type: str
    description: str = ""
    fields: list[Field] = field(default_factory=list)


@dataclass
class Endpoint:
    method: str
    path: str
    tag: str
    summary: str
    description: list[str]  # paragraphs
    params: list[Field]
    bodies: list[Body]
    responses: list[tuple[str, str]]
    models: dict[str, list[Field]]  # the objects a body refers to, by name


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> str:
    """A schema as a reader says it: `list of string`, `integer (1 to 1000)`, `string or null`, a model's name."""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "anyOf" in schema:
        kinds = [type_of(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(kinds) or "null"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = str(schema.get("type", "any"))
    if kind == "array":
        kind = f"list of {type_of(schema.get('items', {}))}"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{kind} ({low} to {high})"
    if low is not None:
        return f"{kind} (at least {low})"
    if high is not None:
        return f"{kind} (at most {high})"
    return kind


def _fields(schema: dict[str, Any]) -> list[Field]:
    required = set(schema.get("required", []))
    return [
        Field(
            name=name,
            type=type_of(prop),
            required=name in required,
            default="" if "default" not in prop else repr(prop["default"]),
            description=str(prop.get("description", "")),
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def _refs(schema: Any) -> set[str]:
    """The names of the models a schema refers to, at any depth."""
    if isinstance(schema, dict):
        found = {_ref_name(schema["$ref"])} if isinstance(schema.get("$ref"), str) else set()
        return found.union(*(_refs(v) for k, v in schema.items() if k != "$defs"))
    if isinstance(schema, list):
        return set().union(*(_refs(v) for v in schema))
    return set()


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return components.get(_ref_name(schema["$ref"]), {})
    return schema


def endpoints(spec: dict[str, Any]) -> list[Endpoint]:
    """Every operation of the API and the feeds (those with a tag; the HTML pages have none), in schema order."""
    components = spec.get("components", {}).get("schemas", {})
    found = []
    for path, operations in spec.get("paths", {}).items():
        for method in METHODS:
            op = operations.get(method)
            if not op or not op.get("tags"):
                continue
            bodies, models = [], {}
            for ctype, content in (op.get("requestBody") or {}).get("content", {}).items():
                raw = content.get("schema", {})
                schema = _resolve(raw, components)
                defs = {**components, **raw.get("$defs", {})}
                models.update({name: _fields(defs[name]) for name in sorted(_refs(schema)) if name in defs})
                bodies.append(Body(ctype, type_of(raw), str(schema.get("description", "")), _fields(schema)))
            params = [
                Field(
                    name=p["name"],
                    type=type_of(p.get("schema", {})),
                    required=bool(p.get("required")),
                    where=p.get("in", ""),
                    default="" if "default" not in p.get("schema", {}) else repr(p["schema"]["default"]),
                    description=str(p.get("description") or p.get("schema", {}).get("description", "")),
                )
                for p in op.get("parameters", [])
            ]
            found.append(
                Endpoint(
                    method=method.upper(),
                    path=path,
                    tag=op["tags"][0],
                    summary=str(op.get("summary", "")),
                    description=[p.strip() for p in str(op.get("description", "")).split("\n\n") if p.strip()],
                    params=params,
                    bodies=bodies,
                    responses=[(code, str(r.get("description", ""))) for code, r in op.get("responses", {}).items()],
                    models=models,
                )
            )
    return found


def _viewer(request: Request) -> Principal:
    """The reference is public, like the schema; a signed-in user still sees their name in the header."""
    try:
        return reader(request)
    except HTTPException:
        return ANONYMOUS


@router.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    spec = request.app.openapi()
    info = spec.get("info", {})
    return render(
        request,
        "api_docs.html",
        _viewer(request),
        title=info.get("title", ""),
        version=info.get("version", ""),
        description=info.get("description", ""),
        endpoints=endpoints(spec),
        openapi_url=request.app.openapi_url,
    )
