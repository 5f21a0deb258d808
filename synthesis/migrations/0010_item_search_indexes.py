"""Full-text search indexes for the item browser (PostgreSQL only).

Expression GIN indexes over what the browser searches: an item's question and
option texts, and a figure's caption. Being expressions over the rows
themselves, they stay correct whoever writes an item (synthesis creates it,
review edits it): there is no derived column to keep in step. The query in
`review/items/search.py` uses the same expressions, so the planner can use
these indexes. SQLite, the quick-start database, searches with icontains.
"""

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS item_search_idx ON synthesis_item USING gin ((
    to_tsvector('english'::regconfig, question)
    || jsonb_to_tsvector('english'::regconfig, options, '["string"]'::jsonb)
));
CREATE INDEX IF NOT EXISTS figure_caption_search_idx ON synthesis_figure
    USING gin ((to_tsvector('english'::regconfig, caption)));
"""
DROP = """
DROP INDEX IF EXISTS item_search_idx;
DROP INDEX IF EXISTS figure_caption_search_idx;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("synthesis", "0009_reruns_keep_verification_history")]

    operations = [migrations.RunPython(create, drop)]
