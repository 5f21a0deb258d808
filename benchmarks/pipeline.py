"""Orchestration overhead of the synthesis pipeline, outside model time.

Runs whole chunks (claim, image sizing, prompt building, parsing, schema
validation, scoring, database writes) against zero-latency fake backends (the
fake endpoints of tests/settings.py) and prints milliseconds per item, then SQL
queries per chunk for several chunk sizes (they should not grow with the
chunk). Uses its own throwaway database:

    .venv/bin/python benchmarks/pipeline.py                  # SQLite in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medsyn_bench \
        .venv/bin/python benchmarks/pipeline.py --items 10000

Target (reliability-performance.md): at most 5 ms per item.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _setup(tmp: Path) -> None:
    # The fake backends are model endpoints registered by the test settings.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"  # no query log: production-like overhead
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        # A dedicated database for the benchmark: start from empty tables.
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


_COLOURS = iter(range(10**9))


def _figures(n: int) -> str:
    """`n` new single-figure groups in a document of their own; returns its id.

    Same rows as the `make_figure` builder, written in bulk to keep setup short.
    """
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from synthesis.models import Figure
    from tests.fixtures.builders import make_document, png_bytes

    document = make_document(f"bench-{time.time_ns()}")
    rows = []
    for _ in range(n):
        i = next(_COLOURS)
        data = png_bytes(color=(i % 256, (i // 256) % 256, 100 + i // 65536))
        sha = hashlib.sha256(data).hexdigest()
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


def _launch(document: str, chunk_size: int, items_per_group: int):
    from synthesis import services
    from tests.fixtures.fake_backends import fake_config

    return services.launch_batch(
        created_by=None,
        name="benchmark",
        figure_filter={"document": document},
        config=fake_config(chunk_size=chunk_size, items_per_group=items_per_group),
        enqueue=None,
    )


def overhead(items: int, chunk_size: int, items_per_group: int) -> None:
    from synthesis import chunks
    from synthesis.models import Item

    groups = items // items_per_group
    t0 = time.perf_counter()
    document = _figures(groups)
    setup_s = time.perf_counter() - t0
    batch = _launch(document, chunk_size, items_per_group)
    ids = list(batch.chunks.values_list("pk", flat=True))
    chunks.run(chunk_id=ids[0])  # warm caches (backends, schemas, templates)
    start, cpu_start = time.perf_counter(), time.process_time()
    for chunk_id in ids[1:]:
        chunks.run(chunk_id=chunk_id)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    made = Item.objects.filter(batch=batch).count()
    timed = made - min(chunk_size, groups) * items_per_group
    print(f"figures made in {setup_s:.1f} s (setup, not timed)")
    print(
        f"{made} items ({groups} groups x {items_per_group}, chunks of {chunk_size}):"
        f" {elapsed:.2f} s wall for {timed} timed items ="
        f" {1000 * elapsed / max(timed, 1):.2f} ms/item wall,"
        f" {1000 * cpu / max(timed, 1):.2f} ms/item CPU in this process"
    )


def queries_per_chunk(sizes: list[int]) -> None:
    from django.db import connection

    from synthesis import chunks

    print("chunk size | SQL statements for one chunk (claim to batch counters)")
    for size in sizes:
        batch = _launch(_figures(size * 2), size, 1)
        ids = list(batch.chunks.values_list("pk", flat=True))
        chunks.run(chunk_id=ids[0])
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            chunks.run(chunk_id=ids[1])
        print(f"{size:>10} | {count}")


def contention() -> float:
    """Wall/CPU time of a pure-Python loop: 1.0 on an idle core; higher when
    other processes share the CPUs, and wall figures above inflate with it."""
    wall, cpu = time.perf_counter(), time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i
    return (time.perf_counter() - wall) / max(time.process_time() - cpu, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--items-per-group", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp))
        from django.db import connection

        print(f"database: {connection.vendor}")
        print(f"CPU contention before: wall/CPU = {contention():.2f}")
        overhead(args.items, args.chunk_size, args.items_per_group)
        print(f"CPU contention after: wall/CPU = {contention():.2f}")
        queries_per_chunk([4, 16, 64, 256])


if __name__ == "__main__":
    main()
