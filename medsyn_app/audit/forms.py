from __future__ import annotations

from typing import Any

from django import forms


class EventFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Who (username)")
    action = forms.CharField(
        required=False, max_length=60, help_text="e.g. review.decide or review"
    )
    object_type = forms.CharField(
        required=False, max_length=60, help_text="e.g. synthesis.item"
    )
    object_id = forms.CharField(required=False, max_length=64)
    since = forms.DateTimeField(required=False, label="From")
    until = forms.DateTimeField(required=False, label="Until")
    before_id = forms.IntegerField(
        required=False, min_value=1, widget=forms.HiddenInput
    )

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            key: data[key]
            for key in ("actor", "action", "object_type", "object_id", "since", "until")
            if data.get(key)
        }
