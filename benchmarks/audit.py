"""What one audit event costs inside a transaction, on a long chain.

Creates a throwaway test database (PostgreSQL when DATABASE_URL points at it),
appends --events events to grow the chain, then times --rounds transactions
that each record one event (the chain head is read under the advisory lock,
then the row is written) and prints p50/p95 wall time and the SQL queries per
event. Optionally --writers threads record at once, to show the lock's cost
under contention. `benchmarks/review.py` measures the same event inside a
whole decision.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medsyn_bench \\
        .venv/bin/python benchmarks/audit.py --events 100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medsyn_app.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from medsyn_app.audit import selectors, services  # noqa: E402
from medsyn_app.audit.models import AuditEvent  # noqa: E402
from tests.fixtures.builders import make_user  # noqa: E402


def _grow(n: int, actor) -> None:
    """Append n chained events quickly (one transaction per 1,000)."""
    done = 0
    while done < n:
        with transaction.atomic():
            for k in range(min(1000, n - done)):
                services.record(
                    "bench.seed",
                    actor=actor,
                    after={"k": done + k, "decision": "accept"},
                )
        done += min(1000, n - done)


def _one(actor, k: int) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        with transaction.atomic():
            services.record(
                "review.decide",
                actor=actor,
                object_type="synthesis.item",
                object_id=k,
                before={"status": "kept"},
                after={"review": k, "decision": "accept", "status": "accepted"},
            )
        elapsed = time.perf_counter() - start
    counted = [
        q for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")
    ]
    return elapsed, len(counted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        actor = make_user("bench-auditor", role="reviewer")
        start = time.perf_counter()
        _grow(args.events, actor)
        grown = time.perf_counter() - start
        print(
            f"database: {connection.vendor}; chain grown to "
            f"{AuditEvent.objects.count()} events in {grown:.1f} s"
        )
        times, queries = [], set()
        for k in range(args.rounds):
            elapsed, n = _one(actor, k)
            times.append(elapsed * 1000)
            queries.add(n)
        cuts = statistics.quantiles(times, n=20)
        print(
            f"one event per transaction  p50 {statistics.median(times):6.2f} ms"
            f"  p95 {cuts[18]:6.2f} ms  queries {sorted(queries)}"
        )
        if connection.vendor == "postgresql" and args.writers > 1:
            spread: list[float] = []
            lock = threading.Lock()

            def write() -> None:
                mine = [_one(actor, k)[0] * 1000 for k in range(args.rounds // 4)]
                with lock:
                    spread.extend(mine)
                connection.close()

            threads = [threading.Thread(target=write) for _ in range(args.writers)]
            wall = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - wall
            cuts = statistics.quantiles(spread, n=20)
            print(
                f"{args.writers} writers at once         p50 "
                f"{statistics.median(spread):6.2f} ms  p95 {cuts[18]:6.2f} ms  "
                f"({len(spread) / wall:.0f} events/s)"
            )
        start = time.perf_counter()
        checked, broken = selectors.verify()
        print(
            f"audit verify: {checked} events in {time.perf_counter() - start:.1f} s, "
            f"{'intact' if broken is None else broken}"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
