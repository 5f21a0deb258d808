"""Run the whole app on one machine: web server plus a Celery worker.

This is what `make run` calls after migrating. Both children share this
process's environment, so they agree on the database and broker; Ctrl-C stops
both and waits for them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from medsyn_app import demo_users


class Command(BaseCommand):
    help = "Start the web server and a Celery worker; stop both on Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000"))
        )
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--no-worker", action="store_true", help="Start only the web server."
        )

    def handle(self, *args, port: int, host: str, no_worker: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        logins = self.prepare_data()

        python = sys.executable
        children: list[subprocess.Popen] = []
        web = [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"]
        # Fixed argument lists built here, no shell: nothing untrusted reaches them.
        children.append(subprocess.Popen(web, cwd=settings.BASE_DIR))  # noqa: S603
        if not no_worker:
            worker = [
                python, "-m", "celery", "-A", "medsyn_app", "worker",
                "-Q", "default,gpu", "--pool=solo", "--loglevel=INFO",
                "--without-gossip", "--without-mingle",
                # Embedded beat runs the lease sweep that recovers dead chunks.
                "-B", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
            ]  # fmt: skip
            children.append(subprocess.Popen(worker, cwd=settings.BASE_DIR))  # noqa: S603

        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"MedSyn is running at http://{host}:{port}/")
        )
        for line in logins:
            self.stdout.write(f"  log in as {line}")
        self.stdout.write("Press Ctrl-C to stop the web server and the worker.\n")

        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("Stopped.")

    def prepare_data(self) -> list[str]:
        """Demo logins and the demo set, outside production only; returns the
        banner lines for the logins. In production, accounts come from the
        operator (`createsuperuser`, then Django admin)."""
        if settings.PRODUCTION:
            return []
        accounts = demo_users.create_demo_users()
        call_command("load_demo_data")
        return [account.line for account in accounts]
