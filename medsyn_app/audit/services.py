"""Writing audit events: one call, in the caller's transaction, chained by hash.

`record` runs inside the transaction of the action it records, so an action
and its event commit (or roll back) together. Writers are serialised: on
PostgreSQL by a transaction-level advisory lock taken in the same round trip
as reading the chain's head; on SQLite the write lock is already held (the
app opens write transactions IMMEDIATE). So concurrent decisions cannot fork
the chain, and recording costs two queries.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from medsyn_app.audit import context
from medsyn_app.audit.models import AuditEvent

GENESIS = "0" * 64
# Any fixed 64-bit key; it names the audit chain's lock among advisory locks.
_CHAIN_LOCK_KEY = 0x4D45445359_4155  # "MEDSY" "AU"

_USE_ORIGIN = object()


def _plain(value: Any) -> Any:
    """JSON-ready, exactly as it will read back from the JSON column."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The event's hash: its fields and the previous hash, canonically encoded."""
    body = json.dumps(
        {"prev": prev_hash, **fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "user_agent": event.user_agent,
    }


def _head_hash() -> str:
    """The latest event's hash, read after taking the chain's lock."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One round trip; the SELECT is a statement of its own, so in READ
            # COMMITTED it sees whatever the lock's previous holder committed.
            cursor.execute(
                f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK_KEY});"  # noqa: S608
                f" SELECT hash FROM {AuditEvent._meta.db_table}"
                " ORDER BY id DESC LIMIT 1"
            )
            cursor.nextset()
        else:
            cursor.execute(
                f"SELECT hash FROM {AuditEvent._meta.db_table}"  # noqa: S608
                " ORDER BY id DESC LIMIT 1"
            )
        row = cursor.fetchone()
    return row[0] if row else GENESIS


def record(
    action: str,
    *,
    actor: Any = _USE_ORIGIN,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: Any = "",
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one event. `actor` defaults to the user of the current request
    (None outside one: a worker, a command, the shell)."""
    origin = context.current()
    if actor is _USE_ORIGIN:
        actor = origin.user if origin is not None else None
    if target is not None:
        object_type = f"{target._meta.app_label}.{target._meta.model_name}"
        object_id = target.pk
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        before=_plain(before),
        after=_plain(after),
        ip=origin.ip if origin is not None else None,
        user_agent=origin.user_agent if origin is not None else "",
    )
    with transaction.atomic(savepoint=False):
        event.prev_hash = _head_hash()
        event.hash = chain_hash(event.prev_hash, hashed_fields(event))
        event.save(force_insert=True)
    return event


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose value changed, as (before, after)."""
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
