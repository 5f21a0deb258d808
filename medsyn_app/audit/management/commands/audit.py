"""`manage.py audit verify`: check the audit log's hash chain end to end."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medsyn_app.audit import selectors


class Command(BaseCommand):
    help = "Audit log tools: `verify` checks the hash chain, naming the first break."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: object, action: str, **options: object) -> None:
        checked, broken = selectors.verify()
        if broken is not None:
            raise CommandError(
                f"Audit chain broken at {broken} "
                f"({checked} events before it are intact)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} events."))
