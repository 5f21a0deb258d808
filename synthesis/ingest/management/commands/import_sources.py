"""`manage.py import_sources PATH`: import figures from a file or folder."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from synthesis.ingest import importing, sources


class Command(BaseCommand):
    help = (
        "Import figures (and, for VQA datasets, items) from a JATS package, a"
        " webdataset shard, a folder with a manifest, or a VQA parquet/JSONL file."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=sources.FORMATS, default=None)
        parser.add_argument(
            "--modality",
            action="append",
            default=[],
            help="Keep only figures with this modality (repeatable).",
        )
        parser.add_argument("--min-caption-chars", type=int, default=1)
        parser.add_argument("--min-image-side", type=int, default=1)
        parser.add_argument(
            "--no-grouping",
            action="store_true",
            help="Do not group images of one article that share a caption.",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the report as JSON."
        )

    def handle(self, *args, path: Path, **options) -> None:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        import_options = importing.ImportOptions.from_dict(
            {
                "modalities": options["modality"],
                "min_caption_chars": options["min_caption_chars"],
                "min_image_side": options["min_image_side"],
                "group_identical_captions": not options["no_grouping"],
            }
        )
        with tqdm(desc=f"Importing {path.name}", unit=" records", disable=None) as bar:
            try:
                report = importing.import_path(
                    path=path,
                    source_format=options["format"],
                    options=import_options,
                    on_progress=lambda seen: bar.update(seen - bar.n),
                )
            except sources.UnknownFormat as exc:
                raise CommandError(str(exc)) from exc
        self._print(report.as_dict(), as_json=options["json"])

    def _print(self, report: dict, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(
            f"records {report['records_seen']}, documents created "
            f"{report['documents_created']}, figures created "
            f"{report['figures_created']}, items created {report['items_created']},"
            f" skipped {report['skipped_total']}"
        )
        for reason, count in report["skipped"].items():
            self.stdout.write(f"  {reason}: {count}")
            for example in report["examples"].get(reason, []):
                self.stdout.write(f"    e.g. {example['source']} {example['detail']}")
