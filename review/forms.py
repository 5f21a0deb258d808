"""HTML input for the review page; the rules themselves live in services."""

from __future__ import annotations

from django import forms

from review.evidence import DEFAULT_KEEP_THRESHOLD
from review.models import Decision, RejectReason
from review.queue import ReviewPolicy
from synthesis.models import ANSWER_LETTERS


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[c for c in Decision.choices if c[0] != Decision.EDIT_ACCEPT]
    )
    reason_code = forms.ChoiceField(choices=RejectReason.choices, required=False)
    comment = forms.CharField(required=False, max_length=4000)
    seconds_spent = forms.FloatField(min_value=0, required=False)
    item_version = forms.IntegerField(min_value=1)
    # The next item the browser already shows (decided ahead, saved behind).
    shown = forms.IntegerField(min_value=1, required=False)


class EditForm(forms.Form):
    question = forms.CharField(max_length=4000, required=False)
    option_A = forms.CharField(max_length=1000, required=False)
    option_B = forms.CharField(max_length=1000, required=False)
    option_C = forms.CharField(max_length=1000, required=False)
    option_D = forms.CharField(max_length=1000, required=False)
    option_E = forms.CharField(max_length=1000, required=False)
    answer = forms.CharField(max_length=1, required=False)
    seconds_spent = forms.FloatField(min_value=0, required=False)
    item_version = forms.IntegerField(min_value=1)

    def options(self) -> dict[str, str]:
        return {x: self.cleaned_data.get(f"option_{x}", "") for x in ANSWER_LETTERS}


class PolicyForm(forms.Form):
    name = forms.ChoiceField(label="Queue policy", choices=ReviewPolicy.choices)
    threshold = forms.FloatField(
        label="Keep threshold", min_value=0, max_value=1, initial=DEFAULT_KEEP_THRESHOLD
    )
    sample_rate = forms.FloatField(
        label="Audit sample rate", min_value=0.001, max_value=1, initial=0.1
    )
    seed = forms.IntegerField(label="Audit seed", min_value=0, initial=0)
