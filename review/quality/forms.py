"""HTML input for the quality pages: dashboard settings, adjudication, overlap."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from medsyn_app.roles import REVIEWER_GROUP
from review.adjudication import ADJUDICATION_DECISIONS
from review.models import Decision, RejectReason
from review.overlap import OverlapSettings
from synthesis.models import ANSWER_LETTERS, Batch, Item


class PlanAuditForm(forms.Form):
    """Which batch to plan an audit sample for (none: every batch with kept items)."""

    batch = forms.ModelChoiceField(queryset=Batch.objects.all(), required=False)


class DashboardForm(forms.Form):
    """What the admin chooses to look at; every field has a sensible default."""

    batch = forms.ModelChoiceField(
        queryset=Batch.objects.order_by("-created_at"),
        required=False,
        empty_label="All batches",
    )
    target_precision = forms.FloatField(
        min_value=0.5,
        max_value=1.0,
        required=False,
        initial=0.95,
        widget=forms.NumberInput(attrs={"placeholder": "0.95", "step": "0.01"}),
        help_text="Precision the keep threshold must reach (0.5 to 1).",
    )
    margin_points = forms.FloatField(
        min_value=0.5,
        max_value=50,
        required=False,
        initial=5,
        widget=forms.NumberInput(attrs={"placeholder": "5", "step": "0.5"}),
        label="Target margin (percentage points)",
        help_text="Audit until the 95% interval's half-width is at most this.",
    )
    min_support = forms.IntegerField(
        min_value=1,
        max_value=100_000,
        required=False,
        initial=30,
        widget=forms.NumberInput(attrs={"placeholder": "30"}),
        help_text="Fewest reviewed items a recommended threshold must rest on.",
    )

    def figure_options(self) -> dict[str, Any]:
        """Arguments for `dashboard_figures`, defaults filled in."""
        data = self.cleaned_data
        return {
            "target_precision": data.get("target_precision") or 0.95,
            "margin": (data.get("margin_points") or 5) / 100,
            "min_support": data.get("min_support") or 30,
        }


class AdjudicationForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(d.value, d.label) for d in ADJUDICATION_DECISIONS]
    )
    reason_code = forms.ChoiceField(
        choices=[("", "—")] + RejectReason.choices, required=False
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        rejecting = data.get("decision") == Decision.REJECT
        if rejecting and not data.get("reason_code"):
            self.add_error("reason_code", "A rejection needs a reason.")
        if not rejecting and data.get("reason_code"):
            self.add_error("reason_code", "Only a rejection takes a reason.")
        return data


class AdoptForm(forms.Form):
    """Adopting a proposal names the item version the page showed."""

    item_version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class MergeForm(forms.Form):
    """The admin's own content, merged from the proposals; validated by the service."""

    question = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, required=False
    )
    option_A = forms.CharField(max_length=1000, required=False, label="Option A")
    option_B = forms.CharField(max_length=1000, required=False, label="Option B")
    option_C = forms.CharField(max_length=1000, required=False, label="Option C")
    option_D = forms.CharField(max_length=1000, required=False, label="Option D")
    option_E = forms.CharField(max_length=1000, required=False, label="Option E")
    answer = forms.ChoiceField(
        choices=[(x, x) for x in ANSWER_LETTERS], label="Answer key"
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )
    item_version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    @classmethod
    def for_item(cls, item: Item) -> MergeForm:
        """Start from the item's current content."""
        initial = {f"option_{x}": item.options.get(x, "") for x in ANSWER_LETTERS}
        initial |= {
            "question": item.question,
            "answer": item.answer,
            "item_version": item.version,
        }
        return cls(initial=initial)

    def options(self) -> dict[str, str]:
        return {x: self.cleaned_data.get(f"option_{x}", "") for x in ANSWER_LETTERS}


class OverlapForm(forms.Form):
    reviewers_per_item = forms.IntegerField(min_value=1, max_value=10, initial=1)
    overlap_reviewers = forms.IntegerField(min_value=1, max_value=10, initial=2)
    overlap_percent = forms.FloatField(min_value=0, max_value=100, initial=0)
    review_percent = forms.FloatField(min_value=0, max_value=100, initial=100)
    seed = forms.IntegerField(initial=0)
    reviewers = forms.ModelMultipleChoiceField(
        queryset=get_user_model()
        .objects.filter(is_active=True, groups__name=REVIEWER_GROUP)
        .order_by("username"),
        required=False,
        help_text="Leave empty to use every reviewer.",
    )
    match_specialty = forms.BooleanField(required=False)

    @classmethod
    def initial_from(cls, settings: OverlapSettings) -> dict[str, Any]:
        return {
            "reviewers_per_item": settings.reviewers_per_item,
            "overlap_reviewers": settings.overlap_reviewers,
            "overlap_percent": settings.overlap_fraction * 100,
            "review_percent": settings.review_fraction * 100,
            "seed": settings.seed,
            "reviewers": settings.reviewer_ids,
            "match_specialty": settings.match_specialty,
        }

    def to_settings(self) -> OverlapSettings:
        data = self.cleaned_data
        return OverlapSettings(
            reviewers_per_item=data["reviewers_per_item"],
            overlap_reviewers=data["overlap_reviewers"],
            overlap_fraction=data["overlap_percent"] / 100,
            review_fraction=data["review_percent"] / 100,
            seed=data["seed"],
            reviewer_ids=sorted(u.pk for u in data["reviewers"]),
            match_specialty=data["match_specialty"],
        )
