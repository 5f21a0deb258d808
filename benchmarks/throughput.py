"""Throughput of the streaming pipeline against served models, against the ideal.

Starts local OpenAI-compatible servers (tests/fixtures/fake_openai_server.py)
that answer schema-valid items and verdicts after a fixed latency L and serve
at most C requests at once (like a GPU server's batch), registers them as
`openai_compat` endpoints (the first as the generator and verifier endpoint,
the others as replicas), and runs figure groups through real Celery worker
processes. Per run it prints L, C, endpoints, workers, items/s, the ratio to
the ideal time (requests x L / (C x endpoints): every slot of every server
busy from launch to the last answer) and the orchestration CPU per item (user
+ system CPU of the worker processes while the batch ran, divided by items).

Needs PostgreSQL and Redis; the database is flushed first, so give it one of
its own:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medsyn_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python benchmarks/throughput.py --groups 2000 \\
        --run 0.2:32:1:2 --run 1.0:32:2:3

Targets (issue 16): ratio >= 0.9 with one endpoint (L = 200 ms, C = 32) and
with two (L = 1 s, C = 32 each); CPU <= 5 ms per item.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    latency: float
    concurrency: int
    endpoints: int
    workers: int

    @classmethod
    def parse(cls, text: str) -> Run:
        latency, concurrency, endpoints, workers = text.split(":")
        return cls(float(latency), int(concurrency), int(endpoints), int(workers))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (the solo pool: all its work)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _setup(tmp: Path, tables: dict) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["MEDSYN_TEST_ENDPOINTS"] = json.dumps(tables)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database of its own (flushed)")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        sys.exit("set CELERY_BROKER_URL to Redis: the slots are shared there")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


def _figures(n: int, tag: str) -> str:
    """`n` single-figure groups in a document of their own; returns its id."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from synthesis.models import Figure
    from tests.fixtures.builders import make_document, png_bytes

    document = make_document(f"throughput-{tag}")
    rows = []
    for i in range(n):
        data = png_bytes(color=(i % 256, (i // 256) % 256, hash(tag) % 256))
        sha = hashlib.sha256(data + tag.encode()).hexdigest()
        name = default_storage.save(f"figures/{sha[:2]}/{sha}.png", ContentFile(data))
        rows.append(
            Figure(
                document=document, image=name, width=64, height=48, sha256=sha,
                phash="0" * 16, group_key=sha[:16], modality="CT", anatomy="Lung",
                caption="Axial CT of the chest shows a right lower lobe consolidation.",
                mentions=["The CT (Fig. 1) showed consolidation."], label="Figure 1",
            )
        )  # fmt: skip
    Figure.objects.bulk_create(rows, batch_size=500)
    return document.source_id


def _start_workers(count: int, queue: str) -> list[tuple[subprocess.Popen, Path]]:
    from django.conf import settings

    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    workers = []
    for i in range(count):
        log = Path(settings.MEDIA_ROOT).parent / f"worker-{queue}-{i}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(  # noqa: S603 - our own worker command
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "medsyn_app",
                "worker",
                "-Q",
                f"{queue},{queue}-w{i}",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{queue}-{i}@%h",
            ],  # fmt: skip
            cwd=REPO,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        workers.append((process, log))
    deadline = time.monotonic() + 120
    for process, log in workers:
        while "ready." not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(workers)
                sys.exit(f"worker did not start:\n{log.read_text()}")
            time.sleep(0.2)
    return workers


def _stop(workers: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, _ in workers:
        process.terminate()
    for process, _ in workers:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _run_batch(document: str, names: list[str], queue: str, chunk: int):
    """Launch a batch over `document`'s groups on `queue`; wait until it ends."""
    from synthesis import services, tasks
    from synthesis.models import Batch, BatchStatus

    role = {"endpoint": names[0], "replicas": names[1:]}
    batch = services.launch_batch(
        created_by=None,
        name=f"throughput on {queue}",
        figure_filter={"document": document},
        config={
            "generator": role,
            "verifier": role,
            "chunk_size": chunk,
            "queue": queue,
        },
        enqueue=tasks.send_chunks,
    )
    while True:
        status = Batch.objects.values_list("status", flat=True).get(pk=batch.pk)
        if status not in (BatchStatus.QUEUED, BatchStatus.RUNNING):
            break
        time.sleep(0.05)
    batch.refresh_from_db()
    return batch


def measure(run: Run, names: list[str], servers: list, groups: int, chunk: int) -> dict:
    document = _figures(groups, uuid.uuid4().hex[:8])
    queue = f"throughput-{uuid.uuid4().hex[:6]}"
    workers = _start_workers(run.workers, queue)
    try:
        # Warm each worker with a small batch of its own (its queue): imports,
        # the first connections and the endpoint's backend are one-off costs,
        # reported apart from the per-item figure.
        started = sum(_cpu_seconds(p.pid) for p, _ in workers)
        for i in range(run.workers):
            warm = _figures(4, uuid.uuid4().hex[:8])
            _run_batch(warm, names, f"{queue}-w{i}", chunk)
        warmup = sum(_cpu_seconds(p.pid) for p, _ in workers) - started
        for server in servers:
            server.requests.clear()
            server.tokenize_requests.clear()
            server.max_in_flight = 0
        cpu_before = sum(_cpu_seconds(p.pid) for p, _ in workers)
        start = time.perf_counter()
        batch = _run_batch(document, names, queue, chunk)
        wall = time.perf_counter() - start
        cpu = sum(_cpu_seconds(p.pid) for p, _ in workers) - cpu_before
    finally:
        _stop(workers)
    requests = sum(len(s.requests) for s in servers)
    counted = sum(len(s.tokenize_requests) for s in servers)
    ideal = requests * run.latency / (run.concurrency * run.endpoints)
    return {
        "status": batch.status,
        "items": batch.items_generated,
        "kept": batch.items_kept,
        "requests": requests,
        "counted": counted,
        "wall": wall,
        "ideal": ideal,
        "peak": max(s.max_in_flight for s in servers),
        "cpu_ms": 1000 * cpu / max(batch.items_generated, 1),
        "warmup_s": warmup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument(
        "--run",
        action="append",
        type=Run.parse,
        help="L:C:endpoints:workers (seconds, requests, count, count); repeatable",
    )
    parser.add_argument(
        "--no-tokenize",
        action="store_true",
        help="endpoints with count_tokens off: no /tokenize request per request",
    )
    args = parser.parse_args()
    runs = args.run or [Run(0.2, 32, 1, 2), Run(1.0, 32, 2, 3)]

    from tests.fixtures.fake_openai_server import FakeOpenAIServer

    # Every run's servers up front: the registry is read once per process.
    plans = []
    tables = {}
    for n, run in enumerate(runs):
        servers = [
            FakeOpenAIServer(latency_s=run.latency, max_concurrency=run.concurrency)
            for _ in range(run.endpoints)
        ]
        for server in servers:
            # Like uvicorn under vLLM: TCP_NODELAY, else each answer waits
            # ~40 ms for the client's delayed ACK (headers and body are
            # written separately), which is not the server's latency L.
            server._server.RequestHandlerClass.disable_nagle_algorithm = True
        names = [f"bench{n}-{i}-{uuid.uuid4().hex[:6]}" for i in range(run.endpoints)]
        for name, server in zip(names, servers, strict=True):
            tables[name] = {
                "runtime": "openai_compat",
                "base_url": server.base_url,
                "model": server.model,
                "concurrency": run.concurrency,
                "roles": ["generator", "verifier"],
                "options": {"count_tokens": not args.no_tokenize},
            }
        plans.append((run, names, servers))
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp), tables)
        print(
            f"{args.groups} figure groups x 1 item, chunks of {args.chunk_size}; "
            "prompts counted by /tokenize before they are sent: "
            + (
                "none"
                if args.no_tokenize
                else "each generation; a verification when the bound from its "
                "generation's size does not prove it fits (column counted)"
            )
        )
        print(
            f"{'L (s)':>6} {'C':>4} {'endpoints':>9} {'workers':>7} {'items/s':>8} "
            f"{'wall s':>7} {'ideal s':>7} {'ratio':>6} {'CPU ms/item':>11} "
            f"{'peak':>5} {'requests':>8} {'counted':>7} status"
        )
        for run, names, servers in plans:
            for server in servers:
                server.start()
            try:
                r = measure(run, names, servers, args.groups, args.chunk_size)
            finally:
                for server in servers:
                    server.stop()
            print(
                f"{run.latency:>6} {run.concurrency:>4} {run.endpoints:>9} "
                f"{run.workers:>7} {r['items'] / r['wall']:>8.1f} {r['wall']:>7.1f} "
                f"{r['ideal']:>7.1f} {r['ideal'] / r['wall']:>6.2f} "
                f"{r['cpu_ms']:>11.2f} {r['peak']:>5} {r['requests']:>8} "
                f"{r['counted']:>7} "
                f"{r['status']} ({r['items']} items, {r['kept']} kept; "
                f"warm-up {r['warmup_s']:.1f} s CPU)",
                flush=True,
            )


if __name__ == "__main__":
    main()
