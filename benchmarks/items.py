"""Server time and SQL queries of the item browser at 100,000 items.

Creates a throwaway test database (PostgreSQL when DATABASE_URL points at it),
seeds N items with figures and verifications (the review benchmark's seeding),
gives every 5th item a reviewer's decision (accept, or reject with a reason),
then requests as an admin:

  first      GET /items/                         newest first
  filtered   GET /items/?status=rejected&reason=factually_wrong
  scored     GET /items/?score_min=0.5&score_max=0.6&failed_gate=...
  search     GET /items/?q=<a number in one question and caption>
  common     GET /items/?q=consolidation          (every caption matches)
  deep       GET /items/?after=<id near the end>  (keyset, no OFFSET)
  by score   GET /items/?sort=score_high

and prints p50/p95 wall time per request (in-process Django test client, so
no network) and the SQL queries per request (BEGIN/COMMIT not counted).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medsyn_bench \\
        .venv/bin/python benchmarks/items.py --items 100000
"""

from __future__ import annotations

import argparse
import os
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

from benchmarks.review import seed  # noqa: E402
from review.models import Review  # noqa: E402
from synthesis.models import Batch, Item, ItemStatus  # noqa: E402
from tests.fixtures.builders import make_user  # noqa: E402

CHUNK = 5000


def decide_some(reviewers: list) -> None:
    """Every 5th item decided: accept, or (every 15th) reject with a reason."""
    ids = list(Item.objects.order_by("pk").values_list("pk", flat=True)[::5])
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        Review.objects.bulk_create(
            Review(
                item_id=pk,
                reviewer=reviewers[n % len(reviewers)],
                decision="reject" if n % 3 == 0 else "accept",
                reason_code="factually_wrong" if n % 3 == 0 else "",
                comment="bench",
                status_before=ItemStatus.KEPT,
            )
            for n, pk in enumerate(chunk, start=start)
        )
    rejected = Review.objects.filter(decision="reject").values("item_id")
    accepted = Review.objects.filter(decision="accept").values("item_id")
    Item.objects.filter(pk__in=rejected).update(status=ItemStatus.REJECTED)
    Item.objects.filter(pk__in=accepted).update(status=ItemStatus.ACCEPTED)


def _timed(client: Client, params: dict) -> tuple[float, int]:
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(reverse("items:list"), params)
        elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.status_code
    assert b'data-item="' in response.content, params
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    sql = [q["sql"] for q in queries.captured_queries]
    return elapsed, sum(1 for s in sql if not s.startswith(control))


def explain(user, name: str, params: dict) -> None:
    """EXPLAIN ANALYZE of the page's item query, as the view builds it."""
    from django.http import QueryDict

    from review.items import selectors
    from review.items.forms import FilterForm

    data = QueryDict(mutable=True)
    data.update({k: str(v) for k, v in params.items()})
    form = FilterForm(data, user=user)
    assert form.is_valid(), form.errors
    query = selectors.page_query(
        user=user, filters=form.filters(), after=form.cursor(), size=50
    )
    print(f"---- {name}\n{query.explain(analyze=True)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--explain", action="store_true", help="print each page query's plan"
    )
    args = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor}, {args.rounds} rounds per request")
        admin = make_user("bench-admin", role="admin")
        reviewers = [make_user(f"bench-reviewer-{i}") for i in range(3)]
        client = Client(HTTP_HOST="localhost")
        client.force_login(admin)
        batch = Batch.objects.create(name="bench")
        start = time.perf_counter()
        seed(args.items, batch, 0)
        decide_some(reviewers)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("VACUUM ANALYZE")  # as autovacuum would
        print(f"seeded {args.items} items in {time.perf_counter() - start:.1f} s")
        lowest = Item.objects.order_by("pk").values_list("pk", flat=True)
        rare = args.items // 2 + 17
        cases = {
            "first": {},
            "filtered": {"status": "rejected", "reason": "factually_wrong"},
            "scored": {
                "score_min": 0.5,
                "score_max": 0.6,
                "failed_gate": "Clinical Validity",
                "edited": "no",
            },
            "search": {"q": str(rare)},
            "common": {"q": "consolidation"},
            "deep": {"after": lowest[100]},
            "by score": {"sort": "score_high"},
        }
        # The failed-gate filter needs an item that fails it: mark a few.
        from synthesis.models import Verification
        from tests.fixtures.builders import rubric_criteria

        Verification.objects.filter(
            normalized_score__gte=0.5, normalized_score__lte=0.6, item_id__lt=2000
        ).update(criteria=rubric_criteria(failed_gates=("Clinical Validity",)))
        _timed(client, {})  # the session's first request also saves it
        if args.explain:
            for name, params in cases.items():
                explain(admin, name, params)
        for name, params in cases.items():
            rows = [_timed(client, params) for _ in range(args.rounds)]
            times = sorted(ms for ms, _ in rows[3:])
            queries = sorted({q for _, q in rows})
            p50 = statistics.median(times)
            p95 = times[int(0.95 * (len(times) - 1))]
            print(
                f"{args.items:>8} items  {name:<9} p50 {p50:6.1f} ms  "
                f"p95 {p95:6.1f} ms  queries {'/'.join(map(str, queries))}"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
