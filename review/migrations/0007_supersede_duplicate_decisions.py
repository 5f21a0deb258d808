# Data migration: one current decision per reviewer per item (issue 14).
# On its own, so PostgreSQL commits these row updates before 0008 builds the
# unique index (an index cannot be built over pending deferred FK checks).

from django.db import migrations
from django.db.models import Count


def supersede_duplicates(apps, schema_editor):
    """Before the constraint: keep each reviewer's latest current decision per item.

    Older current decisions by the same reviewer on the same item are stamped
    superseded (at the time of the decision that followed), and each later one
    records which it replaced, as `services.decide` now does.
    """
    Review = apps.get_model("review", "Review")
    current = Review.objects.filter(
        undone_at__isnull=True, superseded_at__isnull=True, is_adjudication=False
    )
    duplicated = (
        current.order_by()
        .values("item_id", "reviewer_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("item_id", "reviewer_id")
    )
    for item_id, reviewer_id in list(duplicated):
        rows = list(
            current.filter(item_id=item_id, reviewer_id=reviewer_id).order_by(
                "created_at", "id"
            )
        )
        for older, newer in zip(rows, rows[1:]):
            older.superseded_at = newer.created_at
            older.save(update_fields=["superseded_at"])
            newer.replaces_id = older.pk
            newer.save(update_fields=["replaces"])


class Migration(migrations.Migration):

    dependencies = [
        ('review', '0006_review_superseded_and_edit_proposal'),
    ]

    operations = [
        migrations.RunPython(supersede_duplicates, migrations.RunPython.noop),
    ]
