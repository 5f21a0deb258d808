"""Evaluate a registered endpoint on an evaluation set or an export's split."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review.evaluation import selectors, services, tasks
from review.evaluation.config import PROMPTS
from review.evaluation.export_sets import SPLITS
from review.evaluation.models import EvaluationRun


class Command(BaseCommand):
    help = (
        "Run a registered endpoint (role evaluation) on an evaluation set "
        "(--set) or an export's split (--export, --split). Queued on the model "
        "queue, or run here with --sync; prints accuracy with its 95% interval."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--endpoint", required=True)
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--set", type=int, dest="set_id")
        target.add_argument("--export", type=int, dest="export_id")
        parser.add_argument("--split", choices=SPLITS, default="test")
        parser.add_argument("--prompt", choices=PROMPTS, default="rl")
        parser.add_argument("--max-tokens", type=int)
        parser.add_argument("--temperature", type=float)
        parser.add_argument("--name", default="")
        parser.add_argument("--sync", action="store_true", help="run here, now")

    def handle(self, *args: Any, **options: Any) -> None:
        sampling = {
            key: options[name]
            for key, name in (
                ("max_tokens", "max_tokens"),
                ("temperature", "temperature"),
            )
            if options[name] is not None
        }
        config: dict[str, Any] = {
            "endpoint": options["endpoint"],
            "prompt": options["prompt"],
        }
        if sampling:
            config["sampling"] = sampling
        target = (
            options["set_id"] or f"export {options['export_id']} {options['split']}"
        )
        try:
            run = services.launch_run(
                created_by=None,
                name=options["name"] or f"{options['endpoint']} on {target}",
                config=config,
                enqueue=None if options["sync"] else tasks.send_slices,
                evaluation_set_id=options["set_id"],
                export_id=options["export_id"],
                split=options["split"],
            )
        except (services.EvaluationError, services.EvaluationConfigError) as exc:
            raise CommandError(str(exc)) from exc
        if not options["sync"]:
            self.stdout.write(
                f"Queued evaluation run {run.pk} ({run.items_total} items)"
            )
            return
        pending = services.pending_item_ids(run)
        size = run.config["chunk_size"]
        for start in range(0, len(pending), size):
            services.evaluate_items(
                run_id=run.pk, item_ids=pending[start : start + size]
            )
        run = EvaluationRun.objects.get(pk=run.pk)
        results = selectors.results(run)
        accuracy = results.overall
        self.stdout.write(
            f"Run {run.pk} {run.get_status_display()}: {run.items_done} items, "
            f"accuracy {accuracy.percent}% "
            f"(95% CI {100 * accuracy.low:.1f}–{100 * accuracy.high:.1f}%), "
            f"strict {results.strict.percent}%"
        )
