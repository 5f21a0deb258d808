"""Imported batches counted nothing (0 figure groups, 0 items, 0 kept): count
them once from their rows. New imports keep the counts (services.record_import)."""

from __future__ import annotations

from django.db import migrations


def count_imported(apps, schema_editor) -> None:
    Batch = apps.get_model("synthesis", "Batch")
    Figure = apps.get_model("synthesis", "Figure")
    for batch in Batch.objects.filter(kind="imported"):
        items = batch.items.count()
        batch.items_generated = items
        batch.items_kept = items
        batch.figure_groups_total = (
            Figure.objects.filter(items__batch=batch)
            .values("group_key")
            .distinct()
            .count()
        )
        batch.save(
            update_fields=["items_generated", "items_kept", "figure_groups_total"]
        )


class Migration(migrations.Migration):
    dependencies = [("synthesis", "0012_item_search_vector")]

    operations = [migrations.RunPython(count_imported, migrations.RunPython.noop)]
