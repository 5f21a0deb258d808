"""Reading the audit log: filtered listings, CSV, and checking the chain."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from medsyn_app.audit.models import AuditEvent
from medsyn_app.audit.services import GENESIS, chain_hash, hashed_fields


@dataclass(frozen=True)
class Broken:
    event_id: int
    reason: str

    def __str__(self) -> str:
        return f"event {self.event_id}: {self.reason}"


def verify(events: Iterable[AuditEvent] | None = None) -> tuple[int, Broken | None]:
    """Walk the chain in order; (events checked, first broken link or None)."""
    rows = events if events is not None else AuditEvent.objects.order_by("id")
    prev_id, prev_hash, checked = None, GENESIS, 0
    for event in rows.iterator() if isinstance(rows, QuerySet) else rows:
        if event.prev_hash != prev_hash:
            after = f"event {prev_id}" if prev_id else "the start of the log"
            return checked, Broken(
                event.pk,
                f"does not follow {after}: an event was removed, inserted or edited",
            )
        if chain_hash(event.prev_hash, hashed_fields(event)) != event.hash:
            return checked, Broken(
                event.pk, "its contents do not match its hash: it was changed"
            )
        prev_id, prev_hash = event.pk, event.hash
        checked += 1
    return checked, None


def events(
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    found = AuditEvent.objects.all()
    if actor:
        found = found.filter(actor_username=actor)
    if action:
        found = found.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if object_type:
        found = found.filter(object_type=object_type)
    if object_id:
        found = found.filter(object_id=object_id)
    if since:
        found = found.filter(created_at__gte=since)
    if until:
        found = found.filter(created_at__lt=until)
    return found.order_by("-id")


CSV_COLUMNS = (
    "id", "created_at", "actor_username", "action", "object_type", "object_id",
    "before", "after", "ip", "user_agent", "prev_hash", "hash",
)  # fmt: skip


def csv_rows(found: QuerySet[AuditEvent]) -> Iterator[str]:
    """The events as CSV text, a row at a time (for a streaming download)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for event in found.iterator(chunk_size=2000):
        writer.writerow(_csv_value(getattr(event, column)) for column in CSV_COLUMNS)
        yield flush()


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet must not read a comment as a formula
    return "" if value is None else value
