"""The browser's filter form (GET) and the admin's bulk action form (POST)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from medsyn_app.roles import is_admin
from review.items.selectors import (
    DEFAULT_PAGE_SIZE,
    GATES,
    PAGE_SIZES,
    Cursor,
    FailureKind,
    Filters,
    Sort,
)
from review.items.services import MAX_ITEMS
from review.models import RejectReason, Review
from synthesis.models import Batch, ItemStatus

YES_NO = (("", "Any"), ("yes", "Yes"), ("no", "No"))


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class FilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *ItemStatus.choices], required=False
    )
    batch = forms.TypedChoiceField(
        choices=(), coerce=int, empty_value=None, required=False
    )
    modality = forms.CharField(required=False, max_length=50)
    score_min = forms.FloatField(
        label="Score from", required=False, min_value=0, max_value=1
    )
    score_max = forms.FloatField(
        label="Score to", required=False, min_value=0, max_value=1
    )
    failed_gate = forms.ChoiceField(
        choices=[("", "Any"), *[(g, g) for g in GATES]], required=False
    )
    reason = forms.ChoiceField(
        label="Reject reason",
        choices=[("", "Any"), *RejectReason.choices],
        required=False,
    )
    reviewer = forms.TypedChoiceField(
        choices=(), coerce=int, empty_value=None, required=False
    )
    flagged = forms.ChoiceField(choices=YES_NO, required=False)
    edited = forms.ChoiceField(choices=YES_NO, required=False)
    sort = forms.ChoiceField(choices=Sort.CHOICES, required=False)
    size = forms.TypedChoiceField(
        label="Per page",
        choices=[(n, n) for n in PAGE_SIZES],
        coerce=int,
        empty_value=DEFAULT_PAGE_SIZE,
        required=False,
    )
    after = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)

    def __init__(self, data: Any = None, *, user: Any, **kwargs: Any) -> None:
        if data is not None and not data.get("size"):
            data = data.copy()  # so the page size shown is the one used
            data["size"] = str(DEFAULT_PAGE_SIZE)
        super().__init__(data, **kwargs)
        self.fields["batch"].choices = [
            ("", "Any batch"),
            *Batch.objects.order_by("-created_at").values_list("pk", "name"),
        ]
        # A reviewer filters on their own decisions only (blind review).
        reviewers = get_user_model().objects.filter(is_active=True)
        if not is_admin(user):
            reviewers = reviewers.filter(pk=user.pk)
        else:
            # Only people who decided something: a semi-join on the reviewer index.
            decided = Review.objects.filter(reviewer=OuterRef("pk"))
            reviewers = reviewers.filter(Exists(decided))
        self.fields["reviewer"].choices = [
            ("", "Any reviewer"),
            *reviewers.order_by("username").values_list("pk", "username"),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", "The upper score is below the lower one.")
        if data.get("after"):
            try:
                data["cursor"] = Cursor.decode(
                    data["after"], data.get("sort") or Sort.NEWEST
                )
            except ValueError:
                self.add_error("after", "This page link is not valid any more.")
        return data

    def filters(self) -> Filters:
        d = self.cleaned_data
        return Filters(
            q=d.get("q") or "",
            status=d.get("status") or "",
            batch=d.get("batch"),
            modality=d.get("modality") or "",
            score_min=d.get("score_min"),
            score_max=d.get("score_max"),
            failed_gate=d.get("failed_gate") or "",
            reason=d.get("reason") or "",
            reviewer=d.get("reviewer"),
            flagged=_yes_no(d.get("flagged") or ""),
            edited=_yes_no(d.get("edited") or ""),
            sort=d.get("sort") or Sort.NEWEST,
        )

    def cursor(self) -> Cursor | None:
        return self.cleaned_data.get("cursor")

    def page_size(self) -> int:
        return self.cleaned_data.get("size") or DEFAULT_PAGE_SIZE


class BulkAction:
    SEND_TO_REVIEW = "send_to_review"
    AUDIT_SAMPLE = "add_to_audit_sample"
    EXCLUDE = "exclude_from_export"
    INCLUDE = "include_in_export"
    CHOICES = (
        (SEND_TO_REVIEW, "Send back to review"),
        (AUDIT_SAMPLE, "Add to the audit sample"),
        (EXCLUDE, "Exclude from export"),
        (INCLUDE, "Include in export again"),
    )


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BulkAction.CHOICES)
    items = forms.TypedMultipleChoiceField(coerce=int, choices=())
    reason = forms.CharField(
        label="Reason (for exclusion)", required=False, max_length=500
    )
    back = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any ids are offered: the service reads only items that exist.
        raw = self.data.getlist("items") if hasattr(self.data, "getlist") else []
        self.fields["items"].choices = [(v, v) for v in raw if str(v).isdigit()]

    def clean_items(self) -> list[int]:
        items = self.cleaned_data["items"]
        if len(items) > MAX_ITEMS:
            raise forms.ValidationError(f"Choose at most {MAX_ITEMS} items.")
        return items

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("action") == BulkAction.EXCLUDE
            and not data.get("reason", "").strip()
        ):
            self.add_error("reason", "Say why these items are excluded from export.")
        return data


class FailureForm(forms.Form):
    kind = forms.ChoiceField(choices=FailureKind.CHOICES, required=False)
    cause = forms.CharField(required=False, max_length=100)
    batch = forms.IntegerField(required=False, min_value=1)
    before = forms.IntegerField(required=False, min_value=1)
