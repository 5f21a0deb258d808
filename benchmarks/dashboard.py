"""Time `dashboard_figures` and the dashboard page on a large seeded database.

Usage: .venv/bin/python benchmarks/dashboard.py [--items 100000] [--runs 20]
       [--decisions 20]

Builds a scratch test database (in-memory SQLite by default, or a throwaway
`test_*` database on PostgreSQL when DATABASE_URL points there), fills it with
items, verdicts and reviews in bulk (shaped like MedVLSynther: 80% kept, kept
scores >= 0.967; half the kept items and 5% of the dropped ones reviewed, 20%
of those by two reviewers), then prints timings and query counts: a live
recount (`dashboard_figures`), and the page/API reading the stored snapshot.
Then, with no stale snapshot: after each of `--decisions` decisions, the page
read before the beat task ran (it says the figures are behind), the beat
task's recount (`snapshots.refresh_stale`, run here as the worker would), and
the page read once current, checked against a live count.
Figures, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medsyn_app.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
)

from medsyn_app.roles import grant_role  # noqa: E402
from review import services  # noqa: E402
from review.models import Review  # noqa: E402
from review.quality import snapshots  # noqa: E402
from review.quality.dashboard import dashboard_figures, status_counts  # noqa: E402
from synthesis.models import Batch, Item, Verification  # noqa: E402
from synthesis.rubric import RUBRIC_V1  # noqa: E402

REASONS = ["factually_wrong", "diagnosis_leaked", "weak_distractors", "other"]
MODALITIES = ["CT", "MR", "X-Ray", "Microscopy", "Dermoscopy", "OCT"]


def seed(items: int, reviewed_share: float, overlap_share: float) -> None:
    rng = random.Random(1)
    users = [
        get_user_model().objects.create_user(f"reviewer{i}", password=None)
        for i in range(12)
    ]
    batches = [Batch.objects.create(name=f"Batch {b}") for b in range(4)]
    gates = [c.title for c in RUBRIC_V1.criteria if c.is_gate]

    def criteria(lost: str) -> list[dict]:
        rows = [(g, "Essential", 5) for g in gates] + [
            ("Plausible Distractors", "Important", 4),
            ("Stem Concision", "Optional", 1),
        ]
        return [
            {"title": t, "category": c, "weight": w, "score": 0 if t == lost else w}
            for t, c, w in rows
        ]

    rows, verdicts, reviews = [], [], []
    for i in range(items):
        rows.append(
            Item(
                batch=batches[i % 4],
                group_key=f"g{i}",
                question="Q?",
                options={"A": "a", "B": "b", "C": "c", "D": "d", "E": "e"},
                answer="A",
                modality=MODALITIES[i % len(MODALITIES)],
                status="kept",
            )
        )
    Item.objects.bulk_create(rows, batch_size=5000)
    ids = list(Item.objects.order_by("pk").values_list("pk", flat=True))
    status = {}
    for pk in ids:
        # As in MedVLSynther: kept items score >= 0.967 (at most one point
        # lost), most of them 1.0; dropped ones failed a gate.
        kept = rng.random() < 0.8
        if kept:
            lost = "Stem Concision" if rng.random() < 0.3 else ""
            score = 51 / 52 if lost else 1.0
        else:
            lost = rng.choice(gates)
            score = round(rng.uniform(0.3, 0.9), 3)
        verdicts.append(
            Verification(
                item_id=pk,
                verifier_model="bench",
                rubric_version="v1",
                criteria=criteria(lost),
                essentials_passed=kept,
                normalized_score=score,
                kept=kept,
            )
        )
        status[pk] = "kept" if kept else "dropped"
        # Kept items are audited at `reviewed_share`; dropped ones at 5%.
        if rng.random() >= (reviewed_share if kept else 0.05):
            continue
        raters = 2 if rng.random() < overlap_share else 1
        chosen = rng.sample(users, raters)
        decisions = [
            "accept" if rng.random() < (0.9 if kept else 0.4) else "reject"
            for _ in chosen
        ]
        for user, decision in zip(chosen, decisions, strict=True):
            reviews.append(
                Review(
                    item_id=pk,
                    reviewer=user,
                    decision=decision,
                    reason_code=rng.choice(REASONS) if decision == "reject" else "",
                    seconds_spent=rng.uniform(8, 120),
                )
            )
        outcome = set(decisions)
        status[pk] = (
            "disputed"
            if len(outcome) == 2
            else ("accepted" if outcome == {"accept"} else "rejected")
        )
    Verification.objects.bulk_create(verdicts, batch_size=5000)
    Review.objects.bulk_create(reviews, batch_size=5000)
    for value in ("dropped", "accepted", "rejected", "disputed"):
        chosen = [pk for pk, s in status.items() if s == value]
        for start in range(0, len(chosen), 900):
            Item.objects.filter(pk__in=chosen[start : start + 900]).update(status=value)


def timed(function, runs: int) -> tuple[list[float], int]:
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    return times, len(captured)


def slowest(function, top: int = 6) -> None:
    """Print where one run spends its database time."""
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        function()
        total = time.perf_counter() - start
    queries = sorted(captured, key=lambda q: float(q["time"]), reverse=True)
    in_db = sum(float(q["time"]) for q in captured)
    print(f"one run: {total * 1000:.0f} ms, of which {in_db * 1000:.0f} ms in SQL")
    for query in queries[:top]:
        print(f"  {float(query['time']) * 1000:6.0f} ms  {query['sql'][:110]}")


def report(label: str, times: list[float], queries: int) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    print(
        f"{label:<34} median {statistics.median(times) * 1000:7.1f} ms"
        f"  p95 {p95 * 1000:7.1f} ms  queries {queries}"
    )


def after_decisions(client: Client, decisions: int) -> None:
    """Each decision, then the page behind, the beat's recount, the page current."""
    reviewer = get_user_model().objects.get(username="reviewer0")
    open_items = list(
        Item.objects.filter(status="kept")
        .exclude(reviews__isnull=False)
        .values_list("pk", flat=True)[:decisions]
    )
    behind, recounts, current = [], [], []
    behind_q = current_q = 0
    for pk in open_items:
        services.decide(
            item=pk,
            reviewer=reviewer,
            decision="accept",
            seconds_spent=5,
            item_version=1,
        )
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get("/quality/dashboard/")
            behind.append(time.perf_counter() - start)
        behind_q = len(captured)
        assert b'id="figures-behind"' in response.content
        start = time.perf_counter()
        assert snapshots.refresh_stale() == ["all"]
        recounts.append(time.perf_counter() - start)
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get("/quality/dashboard/")
            current.append(time.perf_counter() - start)
        current_q = len(captured)
        assert b'id="figures-behind"' not in response.content
    shown = client.get("/quality/api/all/").json()
    assert shown["status_counts"] == status_counts(None), "the page is stale"
    assert shown["behind"] is False
    report("page after a decision, behind", behind, behind_q)
    report("beat recount after a decision", recounts, 0)
    report("page after the recount (current)", current, current_q)
    interval = getattr(settings, "CELERY_BEAT_SCHEDULE", {})
    every = interval.get("refresh-quality-snapshots", {}).get("schedule", "?")
    print(
        f"decision -> current figures: at most the beat interval ({every} s) "
        f"plus the recount (p95 above); verified against a live count"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--reviewed-share", type=float, default=0.5)
    parser.add_argument("--overlap-share", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=20)
    args = parser.parse_args()

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        start = time.perf_counter()
        seed(args.items, args.reviewed_share, args.overlap_share)
        print(
            f"database: {connection.vendor}; seeded {Item.objects.count()} items, "
            f"{Review.objects.count()} reviews in {time.perf_counter() - start:.1f} s"
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # what autovacuum does on a live database
        batch = Batch.objects.order_by("pk").first()
        slowest(dashboard_figures)
        report("dashboard_figures(all)", *timed(dashboard_figures, args.runs))
        report(
            "dashboard_figures(one batch)",
            *timed(lambda: dashboard_figures(batch), args.runs),
        )
        admin = get_user_model().objects.create_user("bench-admin", password=None)
        grant_role(admin, "admin")
        client = Client()
        client.force_login(admin)
        client.get("/quality/dashboard/")  # stores the snapshot
        report(
            "page, stored snapshot",
            *timed(lambda: client.get("/quality/dashboard/"), args.runs),
        )
        report(
            "API all, stored snapshot",
            *timed(lambda: client.get("/quality/api/all/"), args.runs),
        )
        report(
            "page ?fresh=1 (recount)",
            *timed(lambda: client.get("/quality/dashboard/?fresh=1"), args.runs),
        )
        after_decisions(client, args.decisions)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
