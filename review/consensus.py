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
GENERATED = "generated"
KEPT = "kept"
DROPPED = "dropped"

RULE_STEPS = (
    "An admin's adjudication decides: accept or edit-and-accept gives Accepted, "
    "reject gives Rejected, flag gives Flagged.",
    "Otherwise skips are ignored, and any flag makes the item Flagged.",
    "Accepts and rejects together make it Disputed: it goes to the adjudication queue.",
    "Until the required number of reviewers has decided, the item stays in review.",
    "When they have all decided and one of them proposed an edit (blind double "
    "review), it is Disputed too: an admin adopts one proposal or merges them.",
    "When they all accept it is Accepted; when they all reject it is Rejected.",
    "While it stays in review, the item keeps the verifier's verdict (Kept or "
    "Dropped), or, if it was never verified, the status it had before its first "
    "review.",
)
RULE = (
    "An item's final status follows from its current reviews: each reviewer's "
    "latest decision, not undone. "
) + " ".join(f"{n}. {step}" for n, step in enumerate(RULE_STEPS, start=1))


def final_status(
    *,
    decisions: Sequence[str],
    required: int = 1,
    adjudication: str | None = None,
    proposals: int = 0,
) -> str | None:
    """Return the item's final status, or None while it is still in review.

    `decisions` are the reviewers' current decisions (adjudications excluded),
    one per reviewer; `adjudication` is the latest current admin adjudication,
    if any; `proposals` counts the current edit proposals among the decisions
    (edits under an open overlap plan, which only an admin may adopt).
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
    if proposals:
        return DISPUTED
    return ACCEPTED if accepts else REJECTED


def status_in_review(*, verifier_kept: bool | None, status_before: str) -> str:
    """The status of an item without a final verdict (the last step of the rule).

    `verifier_kept` is the latest verification's verdict (None: never verified);
    `status_before` is the status the item had before its first review, blank
    when unknown.
    """
    if verifier_kept is not None:
        return KEPT if verifier_kept else DROPPED
    return status_before or GENERATED


def _status_of(decision: str) -> str:
    if decision in ACCEPTING:
        return ACCEPTED
    if decision == REJECT:
        return REJECTED
    if decision == FLAG:
        return FLAGGED
    raise ValueError(f"an adjudication must accept, reject or flag, not {decision!r}")
