"""HTML input for launching a batch; the service decides what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms

from synthesis import vocabulary
from synthesis.backends import RUNTIMES


class LaunchBatchForm(forms.Form):
    name = forms.CharField(max_length=200)
    modality = forms.ChoiceField(
        required=False,
        choices=[("", "Any modality")] + [(m, m) for m in vocabulary.MODALITIES],
    )
    document = forms.CharField(
        required=False, max_length=200, help_text="Only figures of this source id."
    )
    sample = forms.IntegerField(
        required=False, min_value=1, help_text="A random sample of this many groups."
    )
    generator_backend = forms.CharField(
        max_length=200, help_text=f"One of {', '.join(RUNTIMES)}, or module:Class."
    )
    generator_model = forms.CharField(required=False, max_length=200)
    verifier_backend = forms.CharField(max_length=200)
    verifier_model = forms.CharField(required=False, max_length=200)
    temperature = forms.FloatField(min_value=0.0, max_value=2.0)
    top_p = forms.FloatField(min_value=0.0, max_value=1.0)
    max_tokens = forms.IntegerField(min_value=16, max_value=32768)
    seed = forms.IntegerField(min_value=0)
    items_per_group = forms.IntegerField(min_value=1, max_value=20)
    min_score = forms.FloatField(
        min_value=0.0, max_value=1.0, label="Keep threshold (normalised score)"
    )
    chunk_size = forms.IntegerField(min_value=1, max_value=1000)

    @classmethod
    def initial_from(cls, config: dict[str, Any]) -> dict[str, Any]:
        sampling = config["sampling"]
        return {
            "generator_backend": config["generator"]["backend"],
            "generator_model": config["generator"]["model"],
            "verifier_backend": config["verifier"]["backend"],
            "verifier_model": config["verifier"]["model"],
            "temperature": sampling["temperature"],
            "top_p": sampling["top_p"],
            "max_tokens": sampling["max_tokens"],
            "seed": sampling["seed"],
            "items_per_group": config["items_per_group"],
            "min_score": config["keep_rule"]["min_score"],
            "chunk_size": config["chunk_size"],
        }

    def figure_filter(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {k: data[k] for k in ("modality", "document", "sample") if data.get(k)}

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "generator": {
                "backend": data["generator_backend"].strip(),
                "model": data["generator_model"].strip(),
            },
            "verifier": {
                "backend": data["verifier_backend"].strip(),
                "model": data["verifier_model"].strip(),
            },
            "sampling": {
                k: data[k] for k in ("temperature", "top_p", "max_tokens", "seed")
            },
            "items_per_group": data["items_per_group"],
            "keep_rule": {"min_score": data["min_score"]},
            "chunk_size": data["chunk_size"],
        }
