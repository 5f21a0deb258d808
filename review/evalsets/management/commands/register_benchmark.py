"""Register a benchmark's released file as an evaluation set (and a
contamination reference for every later export)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review.evalsets import services
from review.evalsets.models import Benchmark


class Command(BaseCommand):
    help = (
        "Read a benchmark's released .parquet/.jsonl into a registered evaluation "
        "set: multiple-choice benchmarks as they are; VQA-RAD, SLAKE and PathVQA "
        "closed (yes/no) questions as two-option items. Embeds every item once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--benchmark", required=True, choices=Benchmark.values)
        parser.add_argument("--split", required=True, help="test, validation, ...")
        parser.add_argument("--name", default="", help="default: benchmark + split")
        parser.add_argument("--license", default="", help="the benchmark's licence")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            registered = services.register_benchmark(
                path=options["path"],
                benchmark=options["benchmark"],
                split=options["split"],
                name=options["name"],
                license=options["license"],
            )
        except services.EvaluationSetError as exc:
            raise CommandError(str(exc)) from exc
        skipped = registered.report.get("skipped") or {}
        self.stdout.write(
            f"Registered {registered.name!r} (id {registered.pk}): "
            f"{registered.item_count} items, {registered.image_count} images"
            + (f"; skipped {skipped}" if skipped else "")
        )
