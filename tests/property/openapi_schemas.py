"""Clerk objects generated from the component schemas of Clerk's OpenAPI spec (test data).

hypothesis-jsonschema speaks JSON Schema (draft 4/7), not OpenAPI 3.0, so each component is
converted: `nullable: true` becomes "null or the schema", `format: int64` / `int32` become the
integer bounds they stand for, and keywords JSON Schema does not know (`discriminator`,
`example`, `deprecated`, `x-*`, ...) are dropped.

`nullable` is read as its authors meant it, "this value may also be null", even beside `allOf`
or `oneOf` (OpenAPI 3.0.3 strictly lets it widen only a `type` in the same object, which would
make `verification: null` invalid, yet Clerk sends exactly that). Reading it wider only lets
more objects through, the side a robustness test should err on.

Two forms of each component:
- `json_schema(name)`: self-contained, every `$ref` inlined; tests validate generated objects
  against it (with `jsonschema`), so the generator below is checked, not trusted.
- `objects(name)`: a strategy. hypothesis-jsonschema re-canonicalises nested schemas on every
  draw, which makes a fully inlined User (emails, accounts, memberships with organizations)
  take seconds per example. So each component is generated on its own, with every `$ref`
  standing as a placeholder constant, and each placeholder is then replaced by an object drawn
  from the referenced component's strategy. `type: object` beside `allOf` / `oneOf` of `$ref`s
  is implied by the referenced components (all objects) and dropped in that form; a `oneOf` of
  refs picks one variant, as the discriminator (`object`) does in Clerk's bodies.

`Overrides` narrows single properties: its keywords are added to the property's own schema
(e.g. `minLength` / `maxLength` on object ids, `maxItems` on arrays to bound the time a test
takes); each narrowing is stated where it is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

SPEC = Path(__file__).resolve().parents[1] / "data" / "clerk-openapi" / "bapi-2026-05-12.yml"
SPEC_SHA256 = "75df3a43fcb2d9fc4467a23c717714f5228aa3267b0930ba34612728365fd8f2"

JsonSchema = dict[str, Any]
# (component, property) -> keywords (OpenAPI form) added to that property's schema.
Overrides = Mapping[tuple[str, str], JsonSchema]

# Keywords that mean nothing (or something else) to a JSON Schema draft 7 validator.
_OPENAPI_ONLY = frozenset(
    {"discriminator", "example", "examples", "deprecated", "externalDocs", "xml", "description"}
)
_INTEGER_FORMATS = {"int64": 63, "int32": 31}
_REF_PREFIX = "#/components/schemas/"
_COMBINATORS = ("allOf", "oneOf", "anyOf")
# Stands for a nested component in a generated object until it is replaced.
_PLACEHOLDER = "\x00$ref:"


@cache
def spec_bytes() -> bytes:
    return SPEC.read_bytes()


def spec_digest() -> str:
    return hashlib.sha256(spec_bytes()).hexdigest()


@cache
def components() -> Mapping[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10x faster
    loaded = yaml.load(spec_bytes(), Loader=loader)  # noqa: S506 (a safe loader)
    schemas: Mapping[str, Any] = loaded["components"]["schemas"]
    return schemas


def json_schema(name: str, overrides: Overrides | None = None) -> JsonSchema:
    """The component `name` as one self-contained JSON Schema (no $ref left)."""
    return _Converter(overrides or {}, inline=True).component(name, ())


class Generator:
    """Strategies for components, each built once; nested components are drawn separately."""

    def __init__(self, overrides: Overrides | None = None) -> None:
        self._converter = _Converter(overrides or {}, inline=False)
        self._strategies: dict[str, st.SearchStrategy[Any]] = {}

    def objects(self, name: str) -> st.SearchStrategy[Any]:
        if name not in self._strategies:
            shallow = from_schema(self._converter.component(name, ()))
            self._strategies[name] = shallow.flatmap(lambda value: _fill(self, value))
        return self._strategies[name]


@st.composite
def _fill(draw: st.DrawFn, generator: Generator, value: Any) -> Any:
    def replace(item: Any) -> Any:
        if isinstance(item, str) and item.startswith(_PLACEHOLDER):
            return draw(generator.objects(item.removeprefix(_PLACEHOLDER)))
        if isinstance(item, list):
            return [replace(element) for element in item]
        if isinstance(item, dict):
            return {key: replace(element) for key, element in item.items()}
        return item

    return replace(value)


class _Converter:
    def __init__(self, overrides: Overrides, *, inline: bool) -> None:
        self._schemas = components()
        self._overrides = overrides
        self._inline = inline

    def component(self, name: str, stack: tuple[str, ...]) -> JsonSchema:
        if name in stack:
            raise ValueError(f"recursive component {' -> '.join((*stack, name))}")
        raw = self._schemas[name]
        for (component, prop), keywords in self._overrides.items():
            if component == name:
                if prop not in raw.get("properties", {}):
                    raise KeyError(f"{name} has no property {prop!r} to narrow")
                properties = {**raw["properties"], prop: {**raw["properties"][prop], **keywords}}
                raw = {**raw, "properties": properties}
        converted: JsonSchema = self._node(raw, (*stack, name))
        return converted

    def _ref(self, ref: str, stack: tuple[str, ...]) -> JsonSchema:
        if not ref.startswith(_REF_PREFIX):
            raise ValueError(f"unsupported $ref {ref}")
        name = ref.removeprefix(_REF_PREFIX)
        if self._inline:
            return self.component(name, stack)
        if self._schemas[name].get("type") != "object":
            raise ValueError(f"{name} is not an object: a placeholder cannot stand for it")
        return {"const": _PLACEHOLDER + name}

    def _node(self, node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self._node(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:  # OpenAPI 3.0: siblings of a $ref are ignored
            return self._ref(node["$ref"], stack)
        out: JsonSchema = {}
        for key, value in node.items():
            if key in _OPENAPI_ONLY or key.startswith("x-") or key == "nullable":
                continue
            if key == "properties":  # a map of names to schemas: its keys are not keywords
                out[key] = {prop: self._node(schema, stack) for prop, schema in value.items()}
            elif key == "format" and node.get("type") == "integer":
                bits = _INTEGER_FORMATS[value]
                out.setdefault("minimum", -(2**bits))
                out.setdefault("maximum", 2**bits - 1)
            elif key == "format":
                raise ValueError(f"unsupported string format {value!r}")
            else:
                out[key] = self._node(value, stack)
        if not self._inline:
            out = _placeholders_only(out)
        if node.get("nullable") is True:
            return {"anyOf": [{"type": "null"}, out]}
        return out


def _placeholders_only(schema: JsonSchema) -> JsonSchema:
    """`type: object` + `allOf` / `oneOf` of refs: the refs (placeholders) say it all."""
    for combinator in _COMBINATORS:
        options = schema.get(combinator)
        if options and all(_is_placeholder(option) for option in options):
            rest = {k: v for k, v in schema.items() if k not in (combinator, "type")}
            if rest:
                raise ValueError(f"cannot reduce {sorted(rest)} beside {combinator} of refs")
            if len(options) == 1:
                return dict(options[0])
            return {"anyOf": options}
    return schema


def _is_placeholder(schema: Any) -> bool:
    return isinstance(schema, dict) and str(schema.get("const", "")).startswith(_PLACEHOLDER)
