"""Run the whole app on one machine: web server plus a Celery worker.

`make run` calls it for the quick start (Django's development server, a worker
with an embedded beat, demo logins and data). `make serve` calls it with
`--production`: the deploy checks must pass, static files are collected, and
gunicorn serves with several workers beside a Celery worker and a separate
beat; no demo logins or data. The children share this process's environment,
so they agree on the database and broker; Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

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
        parser.add_argument(
            "--production",
            action="store_true",
            help="Deploy checks, collectstatic, gunicorn, worker and beat "
            "(needs MEDSYN_ENV=production).",
        )
        parser.add_argument(
            "--web-workers",
            type=int,
            default=int(os.environ.get("MEDSYN_WEB_WORKERS", "3")),
            help="gunicorn worker processes (--production)",
        )
        parser.add_argument(
            "--queues",
            default=os.environ.get("MEDSYN_WORKER_QUEUES", "default,gpu"),
            help="queues the Celery worker takes (GPU hosts run their own)",
        )

    def handle(
        self,
        *args,
        port: int,
        host: str,
        no_worker: bool,
        production: bool,
        web_workers: int,
        queues: str,
        **options,
    ) -> None:
        if production and not settings.PRODUCTION:
            raise CommandError("--production needs MEDSYN_ENV=production.")
        if production:
            # Refuse to start on a configuration `check --deploy` warns about.
            call_command("check", deploy=True, fail_level="WARNING")
        call_command("migrate", interactive=False, verbosity=0)
        if production:
            call_command("collectstatic", interactive=False, verbosity=0)
        logins = self.prepare_data()

        python = sys.executable
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)  # beat keeps its state here
        schedule = str(settings.VAR_DIR / "celerybeat-schedule")
        celery = [python, "-m", "celery", "-A", "medsyn_app"]
        if production:
            web = [
                python, "-m", "gunicorn", "medsyn_app.wsgi:application",
                "--bind", f"{host}:{port}", "--workers", str(web_workers),
                "--access-logfile", "-", "--timeout", "120",
            ]  # fmt: skip
            worker = [
                *celery, "worker", "-Q", queues, "--loglevel=INFO",
                "--concurrency", "2", "-n", f"web@{host}",
            ]  # fmt: skip
            beat = [*celery, "beat", "--loglevel=INFO", "--schedule", schedule]
        else:
            web = [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"]
            worker = [
                *celery, "worker", "-Q", queues, "--pool=solo", "--loglevel=INFO",
                "--without-gossip", "--without-mingle",
                # Embedded beat runs the lease sweep that recovers dead chunks.
                "-B", "--schedule", schedule,
            ]  # fmt: skip
            beat = []
        commands = [web] if no_worker else [web, worker] + ([beat] if beat else [])
        # Fixed argument lists built here, no shell: nothing untrusted reaches them.
        children = [
            subprocess.Popen(command, cwd=settings.BASE_DIR)  # noqa: S603
            for command in commands
        ]

        self.stdout.write("")
        served = "gunicorn" if production else "the development server"
        self.stdout.write(
            self.style.SUCCESS(f"MedSyn is running at http://{host}:{port}/ ({served})")
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
