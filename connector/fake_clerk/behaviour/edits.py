"""`CreatedAtEdits`: users' and organizations' `created_at` changed between requests, which the
spec allows (a user's or an organization's `created_at` can be set on update), so a row can jump
backwards or forwards across pages a client already read.

    edits = CreatedAtEdits(fake.dataset, rate=0.5, seed=4)
    fake.hooks = [edits]              # alone or next to a Churn
    ...                               # the sync under test
    record = edits.stop()
    record.survivors.users            # existed when the edits started and still exist
    record.edited                     # id -> how many times its created_at changed
    record.edits                      # every change in order: Edit(collection, id, old, new, ...)

Each request first applies `rate` edits on average (the whole part every time, the fraction with
that probability), drawn from one seeded `random.Random`: the same seed and the same request
sequence give the same edits. An edit picks a user or an organization (weights in `mix`) and
either moves it onto another row's `created_at` (a new tie, anywhere in the list) or shifts it by
up to the collection's whole time span; `direction` limits edits to `backward` or `forward`
moves. Only rows inside protobuf's Timestamp range are edited, and edits stay inside it.
`updated_at` becomes "now", as an update would set it. Memberships are never edited: the spec
offers no way to set their `created_at`.

A correct client lists every survivor exactly once, edited or not. Ids are never reused (by this
hook or by `Churn`), so a row present at the start and at the end existed throughout.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

from connector.fake_clerk.behaviour.churn import Rows
from connector.fake_clerk.data.records import TIMESTAMP_MAX_MS, TIMESTAMP_MIN_MS
from connector.fake_clerk.data.store import Dataset

Edited = Literal["users", "organizations"]
DEFAULT_EDIT_MIX: Mapping[Edited, float] = MappingProxyType({"users": 1.0, "organizations": 1.0})
_MIN_SPAN_MS = 1000
_DRAWS = 10  # an edit that cannot apply (nothing to move that way) is redrawn this many times


class Direction(StrEnum):
    BOTH = "both"
    BACKWARD = "backward"  # to an earlier created_at: may jump into pages already read
    FORWARD = "forward"  # to a later created_at: may be served twice


@dataclass(frozen=True)
class Edit:
    collection: Edited
    id: str
    old: int
    new: int
    request: int  # 0-based count of requests the hook had seen when it made this edit


@dataclass(frozen=True)
class EditRecord:
    survivors: Rows  # present when the edits started and still present: list each exactly once
    edits: tuple[Edit, ...]
    edited: Mapping[str, int]  # id -> number of edits


class CreatedAtEdits:
    """A `RequestHook` that changes `created_at` of users and organizations (thread-safe)."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        rate: float,
        seed: int = 0,
        mix: Mapping[Edited, float] = DEFAULT_EDIT_MIX,
        direction: Direction | str = Direction.BOTH,
    ) -> None:
        if not rate >= 0:
            raise ValueError("rate must be >= 0 edits per request")
        if set(mix) - {"users", "organizations"}:
            raise ValueError("only users and organizations have an editable created_at")
        if any(weight < 0 for weight in mix.values()) or not sum(mix.values()) > 0:
            raise ValueError("mix needs non-negative weights, at least one positive")
        self.dataset = dataset
        self.rate = rate
        self.direction = Direction(direction)
        self._kinds: list[Edited] = list(mix)
        self._weights = [mix[kind] for kind in self._kinds]
        self._rng = random.Random(seed)
        self._stopped = False
        self._requests = 0
        self._edits: list[Edit] = []
        with dataset.lock:
            self._initial = Rows(
                dict(dataset.users), dict(dataset.organizations), dict(dataset.memberships)
            )

    def __call__(self, route: str) -> None:
        with self.dataset.lock:
            if self._stopped:
                return
            whole = int(self.rate)
            count = whole + (self._rng.random() < self.rate - whole)
            for _ in range(count):
                self._edit_once()
            self._requests += 1

    def stop(self) -> EditRecord:
        """No more edits; returns the final record."""
        with self.dataset.lock:
            self._stopped = True
            return self.record

    @property
    def record(self) -> EditRecord:
        with self.dataset.lock:
            data = self.dataset
            survivors = Rows(
                {i: data.users[i] for i in self._initial.users if i in data.users},
                {
                    i: data.organizations[i]
                    for i in self._initial.organizations
                    if i in data.organizations
                },
                {
                    i: data.memberships[i]
                    for i in self._initial.memberships
                    if i in data.memberships
                },
            )
            edited = Counter(edit.id for edit in self._edits)
            return EditRecord(survivors, tuple(self._edits), dict(edited))

    # -- edits (the dataset lock is held) ----------------------------------------------------------

    def _edit_once(self) -> None:
        for _ in range(_DRAWS):
            (kind,) = self._rng.choices(self._kinds, self._weights)
            if self._apply(kind):
                return

    def _apply(self, kind: Edited) -> bool:
        data = self.dataset
        table: Mapping[str, Any] = data.users if kind == "users" else data.organizations
        rows = [
            row for row in table.values() if TIMESTAMP_MIN_MS <= row.created_at <= TIMESTAMP_MAX_MS
        ]
        if not rows:
            return False
        row = self._rng.choice(rows)
        new = self._new_created_at(row.created_at, [r.created_at for r in rows])
        if new is None:
            return False
        changed = replace(row, created_at=new, updated_at=data.next_created_at())
        if kind == "users":
            data.replace_user(changed)
        else:
            data.replace_organization(changed)
        self._edits.append(Edit(kind, row.id, row.created_at, new, self._requests))
        return True

    def _allowed(self, old: int, new: int) -> bool:
        if self.direction is Direction.BACKWARD:
            return new < old
        if self.direction is Direction.FORWARD:
            return new > old
        return new != old

    def _new_created_at(self, old: int, stamps: list[int]) -> int | None:
        rng = self._rng
        if rng.random() < 0.5:  # onto another row's millisecond: a new tie
            targets = [stamp for stamp in stamps if self._allowed(old, stamp)]
            if targets:
                return rng.choice(targets)
        span = max(max(stamps) - min(stamps), _MIN_SPAN_MS)
        shift = 1 + int(rng.random() * span)
        if self.direction is Direction.BACKWARD or (
            self.direction is Direction.BOTH and rng.random() < 0.5
        ):
            shift = -shift
        new = min(max(old + shift, TIMESTAMP_MIN_MS), TIMESTAMP_MAX_MS)
        return new if self._allowed(old, new) else None
