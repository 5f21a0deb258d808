"""Compute the pHash of every figure imported before the field existed.

Reads each stored image once; a figure whose file cannot be read keeps a
blank pHash (the contamination check then hashes it from bytes, or skips it).
`phash` (the dHash split grouping uses) is left as it is, so no split moves.
"""

import imagehash
from django.db import migrations
from PIL import Image


def backfill(apps, schema_editor):
    Figure = apps.get_model("synthesis", "Figure")
    pending = Figure.objects.filter(dct_phash="").only("pk", "image")
    batch = []
    for figure in pending.iterator(chunk_size=500):
        try:
            with figure.image.open("rb") as handle, Image.open(handle) as image:
                figure.dct_phash = str(imagehash.phash(image))
        except (OSError, ValueError, SyntaxError):
            continue
        batch.append(figure)
        if len(batch) >= 500:
            Figure.objects.bulk_update(batch, ["dct_phash"])
            batch = []
    Figure.objects.bulk_update(batch, ["dct_phash"])


class Migration(migrations.Migration):
    dependencies = [("synthesis", "0006_figure_dct_phash")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
