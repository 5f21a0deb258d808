from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from synthesis.backends import demo_model


class Command(BaseCommand):
    help = (
        "Build the tiny random-weight demo model (offline, a few seconds). "
        "Skips when a valid one is already there."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--path",
            type=Path,
            default=None,
            help="Target folder (default: MEDSYN_DEMO_MODEL_DIR).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Rebuild even if one is present."
        )

    def handle(self, *args, path: Path | None = None, force: bool = False, **options):
        target = Path(path or settings.MEDSYN_DEMO_MODEL_DIR)
        if demo_model.is_built(target) and not force:
            self.stdout.write(f"Demo model already built at {target}")
            return
        started = time.perf_counter()
        demo_model.build_demo_model(path=target, force=force)
        self.stdout.write(
            f"Built demo model at {target} in {time.perf_counter() - started:.1f} s "
            "(random weights: its output is meaningless)"
        )
