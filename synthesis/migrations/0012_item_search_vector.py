"""Full-text search for the item browser (PostgreSQL only).

An item is found by its question, its option texts and its figures' captions.
These live in three tables, so the words are kept in one `tsvector` column,
`synthesis_item.search_vector`, with a GIN index. The database keeps it in
step, whoever writes (synthesis creates items and their figure links, review
edits them, Django admin corrects captions):

- an item's insert or an edit of its question or options recomputes its vector;
- adding, moving or removing a figure link recomputes the linked item's;
- changing a caption recomputes the vectors of the items showing that figure.

With the words stored, the planner can walk the newest items and stop at one
page when a word is common, or read the index when it is rare. The column is
not a model field: only `review/items/search.py` reads it. SQLite, the quick-
start database, searches with icontains and has no such column.
"""

from django.db import migrations

CREATE = """
-- The expression indexes of 0010 matched item text and captions apart, so a
-- common word had to gather every caption match before the first page.
DROP INDEX IF EXISTS item_search_idx;
DROP INDEX IF EXISTS figure_caption_search_idx;

ALTER TABLE synthesis_item ADD COLUMN search_vector tsvector;

CREATE FUNCTION synthesis_item_text_vector(question text, options jsonb)
RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
    SELECT to_tsvector('english'::regconfig, coalesce(question, ''))
        || jsonb_to_tsvector(
            'english'::regconfig, coalesce(options, '{}'::jsonb), '["string"]'::jsonb
        )
$$;

CREATE FUNCTION synthesis_item_caption_vector(item bigint)
RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        to_tsvector('english'::regconfig, string_agg(f.caption, ' ' ORDER BY l.position)),
        ''::tsvector
    )
    FROM synthesis_itemfigure l JOIN synthesis_figure f ON f.id = l.figure_id
    WHERE l.item_id = item
$$;

CREATE FUNCTION synthesis_item_search_refresh(item bigint)
RETURNS void LANGUAGE sql AS $$
    UPDATE synthesis_item
    SET search_vector = synthesis_item_text_vector(question, options)
        || synthesis_item_caption_vector(id)
    WHERE id = item
$$;

CREATE FUNCTION synthesis_item_search_on_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := synthesis_item_text_vector(NEW.question, NEW.options)
        || synthesis_item_caption_vector(NEW.id);
    RETURN NEW;
END;
$$;
CREATE TRIGGER item_search_on_write
    BEFORE INSERT OR UPDATE OF question, options ON synthesis_item
    FOR EACH ROW EXECUTE FUNCTION synthesis_item_search_on_write();

CREATE FUNCTION synthesis_itemfigure_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM synthesis_item_search_refresh(NEW.item_id);
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.item_id <> NEW.item_id) THEN
        PERFORM synthesis_item_search_refresh(OLD.item_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER itemfigure_search
    AFTER INSERT OR UPDATE OR DELETE ON synthesis_itemfigure
    FOR EACH ROW EXECUTE FUNCTION synthesis_itemfigure_search();

CREATE FUNCTION synthesis_figure_caption_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.caption IS DISTINCT FROM OLD.caption THEN
        PERFORM synthesis_item_search_refresh(l.item_id)
        FROM synthesis_itemfigure l WHERE l.figure_id = NEW.id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER figure_caption_search
    AFTER UPDATE OF caption ON synthesis_figure
    FOR EACH ROW EXECUTE FUNCTION synthesis_figure_caption_search();

UPDATE synthesis_item
SET search_vector = synthesis_item_text_vector(question, options)
    || synthesis_item_caption_vector(id);

CREATE INDEX item_search_vector_idx ON synthesis_item USING gin (search_vector);
"""

DROP = """
DROP TRIGGER IF EXISTS figure_caption_search ON synthesis_figure;
DROP TRIGGER IF EXISTS itemfigure_search ON synthesis_itemfigure;
DROP TRIGGER IF EXISTS item_search_on_write ON synthesis_item;
DROP FUNCTION IF EXISTS synthesis_figure_caption_search();
DROP FUNCTION IF EXISTS synthesis_itemfigure_search();
DROP FUNCTION IF EXISTS synthesis_item_search_on_write();
DROP FUNCTION IF EXISTS synthesis_item_search_refresh(bigint);
DROP FUNCTION IF EXISTS synthesis_item_caption_vector(bigint);
DROP FUNCTION IF EXISTS synthesis_item_text_vector(text, jsonb);
DROP INDEX IF EXISTS item_search_vector_idx;
ALTER TABLE synthesis_item DROP COLUMN IF EXISTS search_vector;
CREATE INDEX IF NOT EXISTS item_search_idx ON synthesis_item USING gin ((
    to_tsvector('english'::regconfig, question)
    || jsonb_to_tsvector('english'::regconfig, options, '["string"]'::jsonb)
));
CREATE INDEX IF NOT EXISTS figure_caption_search_idx ON synthesis_figure
    USING gin ((to_tsvector('english'::regconfig, caption)));
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("synthesis", "0011_failure_status_message_prompt_size")]

    operations = [migrations.RunPython(create, drop)]
