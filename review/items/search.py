"""Full-text search over an item's question, options and its figures' captions.

On PostgreSQL the match reads `synthesis_item.search_vector`, which the
database keeps in step with the three (synthesis migration 0012) and indexes
with GIN; words are parsed by `websearch_to_tsquery`, so "quoted phrases",
`or` and `-word` work, and English stemming finds "occluded" from "occlusion".
Elsewhere (SQLite, the quick start) every word must appear in the question,
an option or a caption, case-insensitively.

The rubric filter "failed gate" reads the verifier's criteria JSON the same
way on both: a gate (Essential) row with that title whose score is not its
full weight.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, Expression, OuterRef, Q

from synthesis.models import ItemFigure


class SearchMatch(Expression):
    """True when the item row's stored search vector matches the text."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def as_sql(self, compiler: Any, conn: Any) -> tuple[str, list[Any]]:
        # The column is not a model field: name it on the item table's alias.
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        sql = f"{table}.search_vector @@ websearch_to_tsquery('english'::regconfig, %s)"
        return sql, [self.text]


def matching(text: str) -> Q:
    """A filter on items for the search text ("" matches everything)."""
    text = text.strip()
    if not text:
        return Q()
    if connection.vendor == "postgresql":
        return Q(SearchMatch(text))
    return fallback(text)


def fallback(text: str) -> Q:
    """Every word in the question, an option or a caption (any case)."""
    found = Q()
    for word in text.split():
        word = word.strip('"')
        if not word or word.lower() == "or":
            continue
        in_caption = ItemFigure.objects.filter(
            item=OuterRef("pk"), figure__caption__icontains=word
        )
        found &= (
            Q(question__icontains=word)
            | Q(options__icontains=word)
            | Q(Exists(in_caption))
        )
    return found


class FailedGate(Expression):
    """True when a criteria list has the gate `title` with less than full marks."""

    output_field = BooleanField()

    def __init__(self, criteria: Any, title: str) -> None:
        super().__init__()
        self.criteria = criteria
        self.title = title

    def get_source_expressions(self) -> list[Any]:
        return [self.criteria]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        (self.criteria,) = exprs

    def resolve_expression(self, *args: Any, **kwargs: Any) -> FailedGate:
        clone = self.copy()
        clone.criteria = self.criteria.resolve_expression(*args, **kwargs)
        return clone

    def as_postgresql(self, compiler: Any, conn: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.criteria)
        path = (
            '$[*] ? (@.title == $t && @.category like_regex "^essential$" flag "i"'
            " && @.score != @.weight)"
        )
        sql = (
            f"jsonb_path_exists({column}, %s::jsonpath,"
            " jsonb_build_object('t', %s::text))"
        )
        return sql, [*params, path, self.title]

    def as_sql(self, compiler: Any, conn: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.criteria)
        # `column` is the compiled column reference, the title a parameter.
        sql = (
            f"EXISTS (SELECT 1 FROM json_each({column}) AS c"  # noqa: S608
            " WHERE json_extract(c.value, '$.title') = %s"
            " AND lower(json_extract(c.value, '$.category')) = 'essential'"
            " AND json_extract(c.value, '$.score')"
            " != json_extract(c.value, '$.weight'))"
        )
        return sql, [*params, self.title]
