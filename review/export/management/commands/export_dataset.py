"""Export accepted items as a curated dataset, in-process, from the shell."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review.export import services
from review.models import ExportStatus


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# The names training code and the issue use for the formats.
_FORMAT_ALIASES = {"parquet": "hf"}


class Command(BaseCommand):
    help = "Write a curated, leak-free dataset export under MEDIA_ROOT/exports/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="Command-line export")
        parser.add_argument(
            "--formats",
            "--format",
            type=_csv,
            default=["hf", "jsonl"],
            help="hf (or parquet), jsonl, verl, sft; comma-separated",
        )
        parser.add_argument(
            "--out",
            help="also copy the finished export (data, manifest, card) to this "
            "new or empty folder",
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--ratios", type=_csv, default=["0.8", "0.1", "0.1"])
        parser.add_argument("--batches", type=_csv, default=[])
        parser.add_argument("--modalities", type=_csv, default=[])
        parser.add_argument("--license-families", type=_csv, default=[])
        parser.add_argument("--min-score", type=float)
        parser.add_argument("--min-reviews", type=int, default=0)
        parser.add_argument("--min-agreement", type=float)
        parser.add_argument("--rebalance", action="store_true")
        parser.add_argument("--freeze-test-from", type=int)
        parser.add_argument("--include-noncommercial", action="store_true")
        parser.add_argument("--eval-set")
        parser.add_argument("--exclude-contaminated", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"]) if options["out"] else None
        if out is not None and out.exists() and any(out.iterdir()):
            raise CommandError(f"--out {out} is not empty; nothing was exported")
        try:
            settings: dict[str, Any] = {
                "formats": [_FORMAT_ALIASES.get(f, f) for f in options["formats"]],
                "seed": options["seed"],
                "ratios": [float(r) for r in options["ratios"]],
                "batch_ids": [int(b) for b in options["batches"]],
                "modalities": options["modalities"],
                "license_families": options["license_families"],
                "include_noncommercial": options["include_noncommercial"],
                "min_reviews": options["min_reviews"],
                "rebalance_letters": options["rebalance"],
                "exclude_contaminated": options["exclude_contaminated"],
            }
        except ValueError as exc:
            raise CommandError(f"bad number in --ratios or --batches: {exc}") from exc
        optional = {
            "min_verifier_score": options["min_score"],
            "min_agreement": options["min_agreement"],
            "freeze_test_from": options["freeze_test_from"],
            "eval_set_path": options["eval_set"],
        }
        settings.update({k: v for k, v in optional.items() if v is not None})
        try:
            export = services.create_export(
                created_by=None, name=options["name"], settings=settings, enqueue=None
            )
        except services.ExportError as exc:
            raise CommandError(str(exc)) from exc
        export = services.run_export(export_id=export.pk)
        if export.status != ExportStatus.DONE:
            raise CommandError(f"export {export.pk} failed: {export.error}")
        if out is not None:
            shutil.copytree(services.export_path(export), out, dirs_exist_ok=True)
            self.stdout.write(f"copied to {out}")
        rows = export.manifest["counts"]["rows"]
        self.stdout.write(
            f"export {export.pk}: {export.item_count} items "
            f"({', '.join(f'{k} {v}' for k, v in rows.items())}) "
            f"in {services.export_path(export)}"
        )
