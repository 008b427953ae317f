"""Helpers for the fake Clerk tests: a running fake with a client, paging walkers, spec checks."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from connector.fake_clerk import FakeClerk
from connector.fake_clerk.data import Dataset

API_VERSION = "2026-05-12"
REPO = Path(__file__).resolve().parents[2]
SPEC_CANDIDATES = (
    os.environ.get("CLERK_OPENAPI_SPEC", ""),
    str(REPO.parent / "shared" / "clerk-openapi" / "bapi-2026-05-12.yml"),
    "/work/shared/clerk-openapi/bapi-2026-05-12.yml",
)


def client_for(fake: FakeClerk, key: str | None = None, timeout: float = 10.0) -> httpx.Client:
    headers = {
        "Authorization": f"Bearer {fake.secret_key if key is None else key}",
        "Clerk-API-Version": API_VERSION,
    }
    return httpx.Client(base_url=fake.url, headers=headers, timeout=timeout)


@contextmanager
def running(dataset: Dataset, **options: Any) -> Iterator[tuple[FakeClerk, httpx.Client]]:
    """A started fake Clerk and an authenticated client for it."""
    with FakeClerk(dataset, **options) as fake, client_for(fake) as client:
        yield fake, client


def get_json(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, (path, params, response.status_code, response.text[:300])
    return response.json()


def walk_offset(
    client: httpx.Client, path: str, *, limit: int, order_by: str, **params: Any
) -> tuple[list[dict[str, Any]], set[int]]:
    """Every row of an offset list, page by page; also the total_counts seen.

    `GET /users` (a bare array, no total_count) walks the same way with no totals.
    """
    rows: list[dict[str, Any]] = []
    totals: set[int] = set()
    offset = 0
    while True:
        page = get_json(client, path, limit=limit, offset=offset, order_by=order_by, **params)
        if isinstance(page, dict):
            totals.add(page["total_count"])
            page = page["data"]
        rows.extend(page)
        if len(page) < limit:
            return rows, totals
        offset += limit


def walk_users_cursor(client: httpx.Client, *, limit: int, order_by: str) -> list[dict[str, Any]]:
    """Every user via the starting_after cursor, stopping on a short page."""
    users: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10_000):
        params: dict[str, Any] = {"limit": limit, "order_by": order_by}
        if cursor is not None:
            params["starting_after"] = cursor
        page = get_json(client, "/users", **params)
        assert isinstance(page, list)
        users.extend(page)
        if len(page) < limit:
            return users
        cursor = page[-1]["id"]
    raise AssertionError("the cursor never reached a short page")


def clerk_error(response: httpx.Response) -> dict[str, Any]:
    """Check a ClerkErrors body (and its trace id against the header); return errors[0]."""
    body = response.json()
    assert set(body) >= {"errors", "clerk_trace_id"}
    assert body["clerk_trace_id"] == response.headers["X-Clerk-Trace-Id"]
    assert len(body["errors"]) == 1
    error: dict[str, Any] = body["errors"][0]
    assert set(error) == {"message", "long_message", "code", "meta"}
    return error


# -- OpenAPI schema facts, read from the spec file itself ----------------------------------------


@dataclass(frozen=True)
class SchemaFacts:
    properties: frozenset[str]
    required: frozenset[str]
    closed: bool  # additionalProperties: false


def spec_path() -> Path | None:
    for candidate in SPEC_CANDIDATES:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@cache
def _spec_lines() -> tuple[str, ...]:
    path = spec_path()
    assert path is not None
    return tuple(path.read_text(encoding="utf-8").splitlines())


@cache
def schema(name: str) -> SchemaFacts:
    """Property names, required names and openness of `components/schemas/<name>`.

    A deliberately small reader for this one well-formatted YAML file (PyYAML is not a
    dependency): schemas sit at indent 4, their keywords at 6, property names at 8.
    """
    lines = _spec_lines()
    start = lines.index("components:")
    start = lines.index("  schemas:", start)
    begin = lines.index(f"    {name}:", start) + 1
    properties: set[str] = set()
    required: set[str] = set()
    closed = False
    section = ""
    for line in lines[begin:]:
        if line.strip() and len(line) - len(line.lstrip()) <= 4:
            break
        keyword = re.fullmatch(r" {6}(\w+):(.*)", line)
        if keyword:
            section = keyword.group(1)
            if section == "additionalProperties" and keyword.group(2).strip() == "false":
                closed = True
            continue
        if section == "properties":
            found = re.fullmatch(r" {8}(\w+):", line)
            if found:
                properties.add(found.group(1))
        elif section == "required":
            found = re.fullmatch(r" {8}- (\w+)", line)
            if found:
                required.add(found.group(1))
    return SchemaFacts(frozenset(properties), frozenset(required), closed)


def check_schema(value: Mapping[str, Any], name: str) -> None:
    """`value` has every field the spec requires and, for closed schemas, no other field."""
    facts = schema(name)
    missing = facts.required - set(value)
    assert not missing, f"{name} lacks required {sorted(missing)}"
    if facts.closed:
        extra = set(value) - facts.properties
        assert not extra, f"{name} has fields the spec does not define: {sorted(extra)}"
