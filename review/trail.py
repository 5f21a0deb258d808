"""The review app's entries in the audit log: one event per action.

Each is written by the service that performs the action, inside its
transaction, so a decision and its record commit together. Before and after
hold what changed: the item's status, its content on an edit, the settings on
a policy or overlap change.
"""

from __future__ import annotations

from typing import Any

from medsyn_app.audit import services as audit
from review.models import ItemRevision, Review
from synthesis.models import Batch, Item


def decision(
    action: str,
    *,
    review: Review,
    item: Item,
    status_before: str,
    revision: ItemRevision | None = None,
    **extra: Any,
) -> None:
    """A reviewer's or admin's decision on an item (with its edit, if any)."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {
        "review": review.pk,
        "decision": review.decision,
        **({"reason": review.reason_code} if review.reason_code else {}),
        **({"comment": review.comment} if review.comment else {}),
        **extra,
    }
    if item.status != status_before:
        before["status"], after["status"] = status_before, item.status
    if revision is not None:
        old, new = audit.changed(revision.before, revision.after)
        before.update(old)
        after.update(new, version=revision.version)
    audit.record(
        action, actor=review.reviewer, target=item, before=before or None, after=after
    )


def batch_setting(
    action: str, *, batch: Batch, key: str, old: Any, new: Any, **extra: Any
) -> None:
    """A change to one block of a batch's config (queue policy, overlap plan)."""
    before, after = audit.changed({key: old}, {key: new})
    audit.record(
        action, target=batch, before=before or None, after={**after, **extra} or None
    )
