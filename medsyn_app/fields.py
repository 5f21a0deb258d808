"""Model fields shared by the apps."""

from __future__ import annotations

from typing import Any

from django.db import models


class ModelOutputField(models.TextField):
    """A model's raw output (JSON text full of quotes), stored as it came.

    Django 5.2 bulk-inserts on PostgreSQL as UNNEST(%s::text[], ...), and
    psycopg writes each array element in Python, escaping every quote with
    `re.sub`: for model outputs that made the streaming pipeline's writes
    4.5x slower (0.87 against 0.19 ms per row). A field with
    `get_placeholder` takes the whole insert back to VALUES rows, whose
    parameters psycopg adapts in C.
    """

    def get_placeholder(self, value: Any, compiler: Any, connection: Any) -> str:
        return "%s"
