"""Raw model output is bulk-inserted as VALUES rows, not through UNNEST arrays.

On PostgreSQL, Django's UNNEST bulk insert makes psycopg escape every quote of
every output in Python; `ModelOutputField` keeps those inserts as rows.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from synthesis.models import GenerationFailure, Item, Verification
from tests.fixtures.builders import OPTIONS, make_batch, make_figures, make_item

pytestmark = pytest.mark.django_db

OUTPUT = json.dumps({"question": 'Which "sign" is seen?', "options": OPTIONS})


def _inserts(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]


def test_outputs_full_of_quotes_go_in_as_rows_and_come_back_unchanged():
    batch = make_batch()
    items = [make_item(batch, figures=[f]) for f in make_figures(3)]
    with CaptureQueriesContext(connection) as queries:
        Item.objects.bulk_create(
            Item(
                batch=batch,
                group_key=f"g{i}",
                question="Q?",
                options=OPTIONS,
                answer="A",
                raw_output=OUTPUT,
            )
            for i in range(3)
        )
        Verification.objects.bulk_create(
            Verification(item=item, verifier_model="v", raw_output=OUTPUT)
            for item in items
        )
        GenerationFailure.objects.bulk_create(
            GenerationFailure(batch=batch, group_key=f"g{i}", raw_output=OUTPUT)
            for i in range(3)
        )
    inserts = _inserts(queries)
    assert len(inserts) == 3
    assert not [sql for sql in inserts if "UNNEST" in sql.upper()]
    assert set(
        Item.objects.filter(group_key__startswith="g").values_list(
            "raw_output", flat=True
        )
    ) == {OUTPUT}
    assert set(Verification.objects.values_list("raw_output", flat=True)) == {OUTPUT}
