"""`manage.py rerun`: re-run part of a finished batch from the command line.

Verify again the items whose verification failed (`--failed-verifications`) or
chosen items (`--items 12 13`), optionally with another registered verifier
endpoint or rubric version, or generate again the failed generations
(`--failed-generations`). Without `--sync` the work goes to the batch's Celery
queue like a re-run launched on the batch page; with `--sync` it runs here.
`--by` names the admin the audit log records as launching it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from medsyn_app import queueing
from synthesis import reruns, tasks
from synthesis.backends.base import BackendUnavailable
from synthesis.models import Batch, Rerun


class Command(BaseCommand):
    help = "Verify or generate again part of a finished synthesis batch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("batch", type=int, help="the batch id")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument(
            "--failed-verifications",
            action="store_const",
            dest="what",
            const=reruns.FAILED_VERIFICATIONS,
            help="items whose verification failed",
        )
        what.add_argument(
            "--items", type=int, nargs="+", metavar="ID", help="these item ids"
        )
        what.add_argument(
            "--failed-generations",
            action="store_const",
            dest="what",
            const=reruns.FAILED_GENERATIONS,
            help="generations that failed and never became an item",
        )
        parser.add_argument(
            "--verifier-endpoint", default="", help="a registered verifier endpoint"
        )
        parser.add_argument("--rubric-version", default="")
        parser.add_argument("--by", help="username recorded as launching it")
        parser.add_argument("--sync", action="store_true", help="run here and wait")

    def handle(self, *args: Any, **options: Any) -> None:
        if not Batch.objects.filter(pk=options["batch"]).exists():
            raise CommandError(f"no batch {options['batch']}")
        try:
            rerun = reruns.launch(
                batch_id=options["batch"],
                created_by=_user(options["by"]),
                what=reruns.CHOSEN_ITEMS if options["items"] else options["what"],
                item_ids=options["items"] or (),
                verifier_endpoint=options["verifier_endpoint"],
                rubric_version=options["rubric_version"],
                enqueue=None if options["sync"] else tasks.send_rerun,
            )
        except reruns.RerunError as exc:
            field = f"{exc.field.replace('_', '-')}: " if exc.field else ""
            raise CommandError(f"{field}{exc}") from None
        except queueing.QueueUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-run {rerun.pk}: {rerun.targets} to run again")
        if not options["sync"]:
            self.stdout.write("Queued; follow it on the batch page.")
            return
        try:
            reruns.run(rerun_id=rerun.pk)
        except BackendUnavailable as exc:
            raise CommandError(f"the model server is unavailable: {exc}") from exc
        rerun = Rerun.objects.get(pk=rerun.pk)
        self.stdout.write(
            f"{rerun.get_status_display()}: {rerun.items_verified} verified, "
            f"{rerun.items_kept} kept, {rerun.verifier_errors} verifier errors, "
            f"{rerun.items_generated} generated, {rerun.generation_failures} "
            f"failed generations"
            + (f" ({rerun.status_reason})" if rerun.status_reason else "")
        )


def _user(username: str | None) -> Any:
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}")
    return user
