"""`manage.py synthesize`: launch a synthesis batch from the command line.

Without `--sync` the chunks go to the Celery `gpu` queue like a batch launched
in the browser. With `--sync` the same task functions run in this process, one
chunk after another, and the command returns when the batch is done.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from synthesis import services, tasks
from synthesis.backends.base import BackendError
from synthesis.models import Batch


class Command(BaseCommand):
    help = "Generate and verify items for imported figures (a synthesis batch)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="CLI batch")
        parser.add_argument("--limit", type=int, help="at most N figure groups")
        parser.add_argument("--sample", type=int, help="a random sample of N groups")
        parser.add_argument("--modality", help="only figures with this modality")
        parser.add_argument("--document", help="only figures of this source id")
        parser.add_argument("--sync", action="store_true", help="run here and wait")
        for role in ("generator", "verifier"):
            parser.add_argument(
                f"--{role}-endpoint",
                help=f"a registered model endpoint serving {role} (default: "
                f"MEDSYN_{role.upper()}_ENDPOINT)",
            )
        parser.add_argument("--items-per-group", type=int)
        parser.add_argument("--chunk-size", type=int)
        parser.add_argument("--min-score", type=float, help="keep threshold (0..1)")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--queue", help="Celery queue for the chunks (gpu)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            batch = services.launch_batch(
                created_by=None,
                name=options["name"],
                figure_filter=_figure_filter(options),
                config=_config(options),
                enqueue=None if options["sync"] else tasks.send_chunks,
            )
        except services.BatchConfigError as exc:
            message = str(exc)
            if exc.field and not message.startswith(exc.field):
                message = f"{exc.field}: {message}"
            raise CommandError(message) from None
        self.stdout.write(
            f"Batch {batch.pk}: {batch.figure_groups_total} figure groups in "
            f"{batch.chunks.count()} chunks"
        )
        if not options["sync"]:
            self.stdout.write("Queued on the gpu queue; follow it on the batch page.")
            return
        for chunk_id in batch.chunks.values_list("pk", flat=True):
            try:
                tasks.process_chunk(chunk_id)
            except BackendError as exc:
                raise CommandError(
                    f"backend failed on chunk {chunk_id}: {exc}"
                ) from exc
        batch = Batch.objects.get(pk=batch.pk)
        self.stdout.write(
            f"{batch.get_status_display()}: {batch.items_generated} items generated, "
            f"{batch.items_kept} kept, {batch.generation_failures} failed generations"
        )


def _figure_filter(options: dict[str, Any]) -> dict[str, Any]:
    keys = ("limit", "sample", "modality", "document")
    return {key: options[key] for key in keys if options.get(key)}


def _config(options: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for role in ("generator", "verifier"):
        if options.get(f"{role}_endpoint") is not None:
            config[role] = {"endpoint": options[f"{role}_endpoint"]}
    for key in ("items_per_group", "chunk_size", "queue"):
        if options.get(key) is not None:
            config[key] = options[key]
    if options.get("min_score") is not None:
        config["keep_rule"] = {"min_score": options["min_score"]}
    if options.get("seed") is not None:
        config["sampling"] = {"seed": options["seed"]}
    return config
