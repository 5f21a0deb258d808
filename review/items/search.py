"""Full-text search over an item's question, options and its figures' captions.

On PostgreSQL the match uses the expression GIN indexes of synthesis migration
0009 (the expressions below are the same text, so the planner can use them);
words are parsed by `websearch_to_tsquery`, so "quoted phrases", `or` and
`-word` work. Elsewhere (SQLite, the quick start) every word must appear in
the question, an option or a caption, case-insensitively.

The rubric filter "failed gate" reads the verifier's criteria JSON the same
way on both: a gate (Essential) row with that title whose score is not its
full weight.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, Expression, OuterRef, Q
from django.db.models.expressions import RawSQL

from synthesis.models import ItemFigure

ITEM_VECTOR = (
    "to_tsvector('english'::regconfig, question)"
    " || jsonb_to_tsvector('english'::regconfig, options, '[\"string\"]'::jsonb)"
)
CAPTION_VECTOR = "to_tsvector('english'::regconfig, caption)"
QUERY = "websearch_to_tsquery('english'::regconfig, %s)"

# Constant text (parameters are bound separately), so no injection.
_MATCHING_ITEMS = (
    f"SELECT id FROM synthesis_item WHERE {ITEM_VECTOR} @@ {QUERY}"  # noqa: S608
    " UNION SELECT l.item_id FROM synthesis_itemfigure l"
    " JOIN synthesis_figure f ON f.id = l.figure_id"
    f" WHERE {CAPTION_VECTOR.replace('caption', 'f.caption')} @@ {QUERY}"
)


def matching(text: str) -> Q:
    """A filter on items for the search text ("" matches everything)."""
    text = text.strip()
    if not text:
        return Q()
    if connection.vendor == "postgresql":
        return Q(pk__in=RawSQL(_MATCHING_ITEMS, [text, text]))  # noqa: S611
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
