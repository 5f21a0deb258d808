"""Server time and SQL queries of the review page at a given queue size.

Creates a throwaway test database (PostgreSQL when DATABASE_URL points at it),
seeds N items with figures and verifications (borderline policy unless
--policies says otherwise), then replays what the page does for each item:

  next     GET  /review/              (htmx; resumes the reviewer's claim)
  upcoming GET  /review/upcoming/     (claims the following item: the queue query)
  decide   POST /review/item/<id>/decide/  (accept, then renders the next card)
  ahead    the same POST from a page that already shows the prefetched card
           (`shown=<id>`: answers with the progress only); alternates with decide

and prints p50/p95 wall time per request (in-process Django test client, so
no network) and the SQL queries per request (BEGIN/COMMIT not counted).
With --audit-ab, every other pair of decisions skips its audit event
("decide -audit", "ahead -audit"), so the event's cost is read off requests
interleaved with the rest under the same load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medsyn_bench \\
        .venv/bin/python benchmarks/review.py --items 1000 100000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medsyn_app.settings")
os.environ.setdefault("DEBUG", "false")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from medsyn_app.audit import services as audit_services  # noqa: E402
from review import queue, services  # noqa: E402
from review.models import Assignment, Review  # noqa: E402
from synthesis.models import (  # noqa: E402
    Batch,
    Document,
    Figure,
    Item,
    ItemFigure,
    ItemStatus,
    Verification,
)
from tests.fixtures.builders import (  # noqa: E402
    OPTIONS,
    make_user,
    rubric_criteria,
)

CHUNK = 5000


def _kept(i: int, score: float) -> bool:
    # Every 7th item fails an essential gate; the rest are kept on score.
    return i % 7 != 0 and score >= 0.967


def seed(n: int, batch: Batch, offset: int) -> None:
    """Bulk-insert n items (one figure each, 10 figures per paper) quickly."""
    rng_scores = [((i * 7919) % 1000) / 1000 for i in range(offset, offset + n)]
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        ids = range(offset + start, offset + stop)
        docs = Document.objects.bulk_create(
            Document(source_id=f"PMC{i:08d}", source_kind="jats", pmcid=f"PMC{i:08d}")
            for i in ids
            if i % 10 == 0
        )
        doc_for = {d.source_id: d for d in docs}
        figures = Figure.objects.bulk_create(
            Figure(
                document=doc_for[f"PMC{i - i % 10:08d}"],
                image=f"figures/bench/{i}.png",
                width=512,
                height=512,
                sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                phash="0" * 16,
                caption=f"Axial CT {i} shows a consolidation (Fig. 1).",
                mentions=[f"As shown in Fig. 1, case {i} has consolidation."],
                label="Figure 1",
                group_key=f"g{i}",
            )
            for i in ids
        )
        items = Item.objects.bulk_create(
            Item(
                batch=batch,
                group_key=f"g{i}",
                question=f"Which finding is present in case {i}?",
                options=OPTIONS,
                answer="A",
                status=ItemStatus.KEPT
                if rng_scores[i - offset] >= 0.967
                else "dropped",
                generator_model="bench-generator",
            )
            for i in ids
        )
        ItemFigure.objects.bulk_create(
            ItemFigure(item=item, figure=figure, position=0)
            for item, figure in zip(items, figures, strict=True)
        )
        Verification.objects.bulk_create(
            Verification(
                item=item,
                verifier_model="bench-verifier",
                rubric_version="v1",
                criteria=rubric_criteria(),
                essentials_passed=i % 7 != 0,
                normalized_score=rng_scores[i - offset],
                kept=_kept(i, rng_scores[i - offset]),
            )
            for i, item in zip(ids, items, strict=True)
        )


def _timed(call) -> tuple[float, int, object]:
    # Each request clears the query log at its start; clear it first so the
    # captured slice starts at zero.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = call()
        elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.status_code
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    sql = [q["sql"] for q in queries.captured_queries]
    return elapsed, sum(1 for s in sql if not s.startswith(control)), response


def _no_event(*args, **kwargs) -> None:
    return None


def measure(
    client: Client, rounds: int, audit_ab: bool = False
) -> dict[str, list[tuple[float, int]]]:
    results: dict[str, list[tuple[float, int]]] = {
        "next": [],
        "upcoming": [],
        "decide": [],
        "ahead": [],
    }
    if audit_ab:
        results.update({"decide -audit": [], "ahead -audit": []})
    hx = {"HTTP_HX_REQUEST": "true"}
    for n in range(rounds):
        ms, q, response = _timed(lambda: client.get(reverse("review:next"), **hx))
        results["next"].append((ms, q))
        item_id = re.search(rb'data-item-id="(\d+)"', response.content).group(1)
        item = Item.objects.get(pk=int(item_id))
        ms, q, upcoming = _timed(
            lambda item=item: client.get(
                reverse("review:upcoming"), {"after": item.pk}, **hx
            )
        )
        results["upcoming"].append((ms, q))
        data = {"decision": "accept", "item_version": item.version, "seconds_spent": 2}
        shown = re.search(rb'data-item-id="(\d+)"', upcoming.content)
        kind = "ahead" if n % 2 and shown else "decide"
        if kind == "ahead":
            data["shown"] = int(shown.group(1))
        # --audit-ab: every other pair of decisions records no audit event, so
        # the event's cost is read off requests interleaved with the others.
        skip_event = audit_ab and (n // 2) % 2 == 1
        recording = audit_services.record
        if skip_event:
            audit_services.record = _no_event
            kind += " -audit"
        try:
            ms, q, _ = _timed(
                lambda item=item, data=data: client.post(
                    reverse("review:decide", args=[item.pk]), data, **hx
                )
            )
        finally:
            audit_services.record = recording
        results[kind].append((ms, q))
    return results


def report(n: int, results: dict[str, list[tuple[float, int]]]) -> None:
    for name, rows in results.items():
        times = sorted(ms for ms, _ in rows[5:])  # first few warm caches
        queries = sorted({q for _, q in rows[5:]})
        p50 = statistics.median(times)
        p95 = times[int(0.95 * (len(times) - 1))]
        print(
            f"{n:>8} items  {name:<9} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
            f"queries {'/'.join(map(str, queries))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument(
        "--policies", nargs="+", default=["borderline"], choices=queue.ReviewPolicy
    )
    parser.add_argument(
        "--audit-ab",
        action="store_true",
        help="interleave decisions without their audit event to show its cost",
    )
    args = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor}, {args.rounds} rounds per size")
        reviewer = make_user("bench-reviewer", role="reviewer")
        client = Client(HTTP_HOST="localhost")
        client.force_login(reviewer)
        batch = Batch.objects.create(name="bench")
        seeded = 0
        for n in sorted(args.items):
            start = time.perf_counter()
            seed(n - seeded, batch, seeded)
            seeded = n
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("VACUUM ANALYZE")  # as autovacuum would
            print(f"seeded {n} items in {time.perf_counter() - start:.1f} s")
            for name in args.policies:
                batch = services.set_review_policy(
                    batch=batch, policy=queue.Policy(name=name)
                )
                Review.objects.all().delete()
                Assignment.objects.all().delete()
                accepted = Item.objects.filter(status=ItemStatus.ACCEPTED)
                accepted.filter(verifications__kept=False).update(
                    status=ItemStatus.DROPPED
                )
                accepted.update(status=ItemStatus.KEPT)
                print(f"policy {name}")
                report(n, measure(client, args.rounds, args.audit_ab))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
