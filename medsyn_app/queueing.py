"""Handing work to the task queue without losing it when the broker is down.

A service saves its row, then the caller's enqueue function runs once the
transaction commits. If the broker refuses or cannot be reached, the row is
marked waiting (by the `mark_waiting` callback the caller passes) and
`QueueUnavailable` is raised, so the page shows a banner and the API answers
503. A periodic sweep (celery beat) sends waiting work again once the broker
answers; nothing is ever left queued for a message that was never sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What a publish raises when the broker is unreachable or refuses.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    ConnectionError,
    TimeoutError,
)


class QueueUnavailable(Exception):
    """The task queue did not take the work; it is saved and marked waiting."""

    def __init__(self, what: str, reason: str, object_id: int | None = None) -> None:
        super().__init__(
            f"The task queue is unreachable ({reason}). {what} is saved and "
            "waiting; it starts by itself once the queue answers again."
        )
        self.reason = reason
        self.object_id = object_id


def send_on_commit(
    send: Callable[[], object],
    *,
    what: str,
    mark_waiting: Callable[[str], object],
    object_id: int | None = None,
) -> None:
    """Run `send` after the current transaction commits (at once outside one);
    on a broker failure call `mark_waiting(reason)` and raise QueueUnavailable."""

    def run() -> None:
        try:
            send()
        except BROKER_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}"[:300]
            logger.warning("task queue unreachable, %s waits: %s", what, reason)
            mark_waiting(reason)
            raise QueueUnavailable(what, reason, object_id) from exc

    transaction.on_commit(run)


def try_send(send: Callable[[], object]) -> str | None:
    """For sweeps: send now; the broker's error as text if it still fails."""
    try:
        send()
    except BROKER_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None
