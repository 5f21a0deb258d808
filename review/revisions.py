"""The one code path that changes an item's content: validate it, write a revision.

A reviewer's edit, the undo of an edit, and an admin adopting or merging edit
proposals all end here, so every change of content bumps the version the same
way and leaves an ItemRevision saying who changed what.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from review import history
from review.models import ItemRevision
from synthesis.models import ANSWER_LETTERS, Item


class InvalidContent(ValueError):
    """Edited content that is not a valid item; `errors` names each bad field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("The edit is not a valid item.")
        self.errors = errors


def validate_content(
    *, question: str, options: dict[str, Any], answer: str
) -> dict[str, Any]:
    """Clean an edited item: a stem, 5 distinct non-empty options A–E, one key."""
    errors: dict[str, str] = {}
    question = (question or "").strip()
    if not question:
        errors["question"] = "The question cannot be empty."
    cleaned = {
        letter: str(options.get(letter) or "").strip() for letter in ANSWER_LETTERS
    }
    for letter, text in cleaned.items():
        if not text:
            errors[f"option_{letter}"] = f"Option {letter} cannot be empty."
    seen: dict[str, str] = {}
    for letter, text in cleaned.items():
        key = " ".join(text.lower().split())
        if key and key in seen:
            errors[f"option_{letter}"] = f"Option {letter} repeats option {seen[key]}."
        seen.setdefault(key, letter)
    if answer not in ANSWER_LETTERS:
        errors["answer"] = "Choose exactly one answer, A to E."
    if errors:
        raise InvalidContent(errors)
    return {"question": question, "options": cleaned, "answer": answer}


def write(*, item: Item, author: Any, after: dict[str, Any]) -> ItemRevision:
    """Move the item to `after` as its next version, with the revision saying so.

    The caller holds the item's row lock and has checked its version. A change
    of answer key is marked on the revision (`answer_changed`): it means the
    key was wrong and the item deserves a second look. `item` is updated in
    memory too, so the caller goes on with the new version.
    """
    before = history.snapshot(item)
    revision = ItemRevision.objects.create(
        item=item,
        author=author,
        version=item.version + 1,
        before=before,
        after=after,
        answer_changed=before["answer"] != after["answer"],
    )
    now = timezone.now()
    updated = Item.objects.filter(pk=item.pk, version=item.version).update(
        **after, version=revision.version, updated_at=now
    )
    if updated != 1:  # pragma: no cover - the caller's row lock makes this unreachable
        raise RuntimeError(f"Item {item.pk} moved while its row was locked.")
    item.question, item.options, item.answer = (
        after["question"],
        after["options"],
        after["answer"],
    )
    item.version, item.updated_at = revision.version, now
    return revision
