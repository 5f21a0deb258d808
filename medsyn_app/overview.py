"""What the home page shows: counts that tell a user where the work stands."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from medsyn_app.roles import is_admin
from review.models import Review
from synthesis.models import Batch, Document, Figure, Item, ItemStatus


def for_user(user: Any) -> dict[str, Any]:
    """Admins see where every item stands; a reviewer sees only their own work,
    so no page tells them what other reviewers decided (blind review)."""
    data: dict[str, Any] = {
        "my_reviews": Review.objects.current().filter(reviewer=user).count(),
    }
    if is_admin(user):
        by_status = dict(
            Item.objects.values_list("status").annotate(n=Count("id")).order_by()
        )
        data.update(
            items_by_status=[
                (label, by_status.get(value, 0)) for value, label in ItemStatus.choices
            ],
            documents=Document.objects.count(),
            figures=Figure.objects.count(),
            batches=Batch.objects.count(),
            recent_batches=list(Batch.objects.order_by("-created_at")[:5]),
        )
    return data
