from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from medsyn_app import demo_users


class Command(BaseCommand):
    help = "Create the demo admin and reviewer logins (idempotent) and print them."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Allow it with MEDSYN_ENV=production."
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        if settings.PRODUCTION and not force:
            raise CommandError(
                "Refusing to create demo logins in production (use --force)."
            )
        for account in demo_users.create_demo_users():
            self.stdout.write(f"  {account.line}")
