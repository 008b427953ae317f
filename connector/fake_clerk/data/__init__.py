"""The fake Clerk's data, in one import: the `Dataset` store (`store`, with the sort keys of
`ordering`), its records (`records`) and the instances to start from. It imports nothing else of
the fake: faults, hooks and the HTTP side build on it, never the other way round.

- `generate(users=, organizations=, memberships=, seed=0, roles=5)`: large and deterministic.
- `awkward()`: small and hand-written, one of every edge case (see `samples` for the ids).
- `demo()`: small and readable, for the demo command.
- `traps()`: small, every schema-valid value a client tends to choke on (ids: `trap_samples`);
  `generate(trap_rate=...)` scatters the same traps through a large instance.

Churn tests mutate a dataset while a client pages through it: `add_user`, `replace_user`,
`remove_user`, `add_organization`, `replace_organization`, `remove_organization`,
`add_membership`, `create_membership`, `change_role`, `remove_membership`, with `new_id(prefix)`
and `next_created_at()` for fresh rows.
"""

from connector.fake_clerk.data.records import (
    EmailAddressRecord,
    EnterpriseAccountRecord,
    ExternalAccountRecord,
    MembershipRecord,
    OrganizationRecord,
    OrganizationSettingsRecord,
    PasskeyRecord,
    PermissionRecord,
    PhoneNumberRecord,
    RoleRecord,
    RoleSetRecord,
    SamlAccountRecord,
    UserRecord,
)
from connector.fake_clerk.data.samples import awkward, demo
from connector.fake_clerk.data.store import Collection, Dataset, SortedView
from connector.fake_clerk.data.synthetic import generate
from connector.fake_clerk.data.trap_samples import traps

__all__ = [
    "Collection",
    "Dataset",
    "EmailAddressRecord",
    "EnterpriseAccountRecord",
    "ExternalAccountRecord",
    "MembershipRecord",
    "OrganizationRecord",
    "OrganizationSettingsRecord",
    "PasskeyRecord",
    "PermissionRecord",
    "PhoneNumberRecord",
    "RoleRecord",
    "RoleSetRecord",
    "SamlAccountRecord",
    "SortedView",
    "UserRecord",
    "awkward",
    "demo",
    "generate",
    "traps",
]
