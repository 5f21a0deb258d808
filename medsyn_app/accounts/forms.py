from __future__ import annotations

from typing import Any

from django import forms

from medsyn_app.accounts import selectors


class TokenForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, empty_label=None, label="For")

    def __init__(self, *args: Any, acting: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = selectors.token_owners(acting)
        self.fields["owner"].initial = acting.pk


class RevokeForm(forms.Form):
    token_key = forms.CharField(max_length=25)
