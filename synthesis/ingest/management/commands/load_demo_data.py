"""`manage.py load_demo_data`: import the shipped demo set (safe to run again).

Two synthetic case reports (JATS) with five figures, then six hand-written
items in the MedSynVQA layout that ask about those figures, so the review
queue shows sensible questions before any model has run, and a verdict
written by hand for each of them (`demo_verdicts`), labelled as such.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from synthesis.ingest import demo_verdicts, importing
from synthesis.ingest.demo_data import ARTICLES, ITEMS


class Command(BaseCommand):
    help = "Import the demo figures and items shipped in synthesis/demo_data."

    def handle(self, *args, **options) -> None:
        import_options = importing.ImportOptions()
        created = {"documents": 0, "figures": 0, "items": 0}
        sources = [(path, "jats") for path in ARTICLES] + [(ITEMS, "vqa")]
        for path, source_format in sources:
            report = importing.import_path(
                path=path, source_format=source_format, options=import_options
            )
            created["documents"] += report.documents_created
            created["figures"] += report.figures_created
            created["items"] += report.items_created
            refused = {
                reason: count
                for reason, count in report.skipped.items()
                if reason not in {"duplicate_image", "duplicate_item"}
            }
            if refused:
                self.stderr.write(f"{path.name}: skipped {refused}")
        created["verdicts"] = demo_verdicts.attach_demo_verdicts()
        self.stdout.write(
            "Demo data: created {documents} documents, {figures} figures,"
            " {items} items, {verdicts} hand-written verdicts.".format(**created)
        )
