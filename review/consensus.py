"""The one rule for how an item's final status follows from its reviews.

Pure: it takes decision strings, so the review page, the adjudication page and
any batch re-computation all settle an item the same way. `RULE` is the text the
UI shows next to the decisions, kept beside the code that implements it.
"""

from __future__ import annotations

from collections.abc import Sequence

# Decision and status values, as stored in Review.decision and Item.status.
ACCEPTING = frozenset({"accept", "edit_accept"})
REJECT = "reject"
FLAG = "flag"
SKIP = "skip"

ACCEPTED = "accepted"
REJECTED = "rejected"
FLAGGED = "flagged"
DISPUTED = "disputed"

RULE_STEPS = (
    "An admin's adjudication decides: accept or edit-and-accept gives Accepted, "
    "reject gives Rejected, flag gives Flagged.",
    "Otherwise skips are ignored, and any flag makes the item Flagged.",
    "Accepts and rejects together make it Disputed: it goes to the adjudication queue.",
    "Until the required number of reviewers has decided, the item stays in review.",
    "When they all accept it is Accepted; when they all reject it is Rejected.",
)
RULE = "An item's final status follows from its current (not undone) reviews. " + (
    " ".join(f"{n}. {step}" for n, step in enumerate(RULE_STEPS, start=1))
)


def final_status(
    *,
    decisions: Sequence[str],
    required: int = 1,
    adjudication: str | None = None,
) -> str | None:
    """Return the item's final status, or None while it is still in review.

    `decisions` are the reviewers' current decisions (adjudications excluded);
    `adjudication` is the latest current admin adjudication, if any.
    """
    if adjudication is not None:
        return _status_of(adjudication)
    decisive = [d for d in decisions if d != SKIP]
    if FLAG in decisive:
        return FLAGGED
    accepts = sum(d in ACCEPTING for d in decisive)
    rejects = sum(d == REJECT for d in decisive)
    if accepts and rejects:
        return DISPUTED
    if len(decisive) < max(required, 1):
        return None
    return ACCEPTED if accepts else REJECTED


def _status_of(decision: str) -> str:
    if decision in ACCEPTING:
        return ACCEPTED
    if decision == REJECT:
        return REJECTED
    if decision == FLAG:
        return FLAGGED
    raise ValueError(f"an adjudication must accept, reject or flag, not {decision!r}")
