"""HTML input for launching a batch; the service decides what is allowed.

Models are chosen from the registered endpoints that serve each role, by name;
the form has no field for a runtime, URL, key or path, and refuses a request
that sends one.
"""

from __future__ import annotations

from typing import Any

from django import forms

from medsyn_app import endpoints
from synthesis import reruns, rubric, vocabulary
from synthesis.batch_config import BatchConfigError
from synthesis.models import Document

# Where a service error about a config field is shown on this form.
_FIELD_OF = {
    "config.generator.endpoint": "generator_endpoint",
    "config.verifier.endpoint": "verifier_endpoint",
    "config.sampling.temperature": "temperature",
    "config.sampling.top_p": "top_p",
    "config.sampling.max_tokens": "max_tokens",
    "config.sampling.seed": "seed",
    "config.items_per_group": "items_per_group",
    "config.keep_rule.min_score": "min_score",
    "config.chunk_size": "chunk_size",
    "figure_filter.modality": "modality",
    "figure_filter.document": "document",
    "figure_filter.sample": "sample",
}
_NOT_FIELDS = {"csrfmiddlewaretoken"}


def _endpoint_choices(role: str) -> list[tuple[str, str]]:
    return [(e.name, e.label) for e in endpoints.for_role(role)]


class FigureFilterForm(forms.Form):
    """Which figures a batch takes; the launch form and its live count share it."""

    modality = forms.ChoiceField(
        required=False,
        choices=[("", "Any modality")] + [(m, m) for m in vocabulary.MODALITIES],
    )
    document = forms.ModelChoiceField(
        queryset=Document.objects.all(),
        to_field_name="source_id",
        required=False,
        widget=forms.TextInput(
            attrs={"list": "document-options", "autocomplete": "off"}
        ),
        help_text="Only figures of this document: type part of its id or title "
        "and pick it from the list.",
        error_messages={"invalid_choice": "No imported document has this id."},
    )
    sample = forms.IntegerField(
        required=False, min_value=1, help_text="A random sample of this many groups."
    )

    def figure_filter(self) -> dict[str, Any]:
        data = self.cleaned_data
        chosen = {k: data[k] for k in ("modality", "sample") if data.get(k)}
        if data.get("document"):
            chosen["document"] = data["document"].source_id
        return chosen


class LaunchBatchForm(FigureFilterForm):
    field_order = ["name", "modality", "document", "sample"]

    name = forms.CharField(max_length=200)
    generator_endpoint = forms.ChoiceField(
        label="Generator endpoint",
        help_text="Model endpoints are set up by the operator. The demo endpoint "
        "is a tiny model with random weights: its items are placeholders, not data.",
    )
    verifier_endpoint = forms.ChoiceField(label="Verifier endpoint")
    temperature = forms.FloatField(
        min_value=0.0,
        max_value=2.0,
        required=False,
        help_text="Blank: 0 (greedy) for one item per figure group, 0.7 for several.",
    )
    top_p = forms.FloatField(min_value=0.0, max_value=1.0)
    max_tokens = forms.IntegerField(min_value=16, max_value=32768)
    seed = forms.IntegerField(min_value=0)
    items_per_group = forms.IntegerField(min_value=1, max_value=20)
    min_score = forms.FloatField(
        min_value=0.0, max_value=1.0, label="Keep threshold (normalised score)"
    )
    chunk_size = forms.IntegerField(min_value=1, max_value=1000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form: the registry is settings, not import-time state.
        self.fields["generator_endpoint"].choices = _endpoint_choices("generator")
        self.fields["verifier_endpoint"].choices = _endpoint_choices("verifier")

    @classmethod
    def initial_from(cls, config: dict[str, Any]) -> dict[str, Any]:
        sampling = config["sampling"]
        return {
            "generator_endpoint": config["generator"]["endpoint"],
            "verifier_endpoint": config["verifier"]["endpoint"],
            "temperature": None,  # blank: the service picks (see the help text)
            "top_p": sampling["top_p"],
            "max_tokens": sampling["max_tokens"],
            "seed": sampling["seed"],
            "items_per_group": config["items_per_group"],
            "min_score": config["keep_rule"]["min_score"],
            "chunk_size": config["chunk_size"],
        }

    def clean(self) -> dict[str, Any]:
        # A field this form does not have (base_url, api_key, an old
        # generator_backend) is refused by name rather than silently dropped.
        if unknown := sorted(set(self.data) - set(self.fields) - _NOT_FIELDS):
            raise forms.ValidationError(
                "This form does not take %(fields)s; pick model endpoints by name.",
                code="unknown_field",
                params={"fields": ", ".join(unknown)},
            )
        return super().clean()

    def add_service_error(self, error: BatchConfigError) -> None:
        """Show a refused launch on the field it is about (else above the form)."""
        self.add_error(_FIELD_OF.get(error.field), str(error))

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "generator": {"endpoint": data["generator_endpoint"]},
            "verifier": {"endpoint": data["verifier_endpoint"]},
            "sampling": {
                k: data[k]
                for k in ("temperature", "top_p", "max_tokens", "seed")
                if data.get(k) is not None
            },
            "items_per_group": data["items_per_group"],
            "keep_rule": {"min_score": data["min_score"]},
            "chunk_size": data["chunk_size"],
        }


class RerunForm(forms.Form):
    """What to run again for a finished batch, and with which verifier/rubric."""

    what = forms.ChoiceField(
        choices=[(key, label) for key, label in reruns.WHAT.items()],
        initial=reruns.FAILED_VERIFICATIONS,
        widget=forms.RadioSelect,
    )
    item_ids = forms.CharField(
        required=False,
        max_length=20000,
        label="Item ids",
        help_text="For chosen items: ids separated by commas or spaces.",
    )
    verifier_endpoint = forms.ChoiceField(required=False, label="Verifier")
    rubric_version = forms.ChoiceField(required=False, label="Rubric version")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["verifier_endpoint"].choices = [
            ("", "The batch's verifier"),
            *_endpoint_choices("verifier"),
        ]
        self.fields["rubric_version"].choices = [
            ("", "The batch's rubric"),
            *((v, v) for v in sorted(rubric.RUBRICS)),
        ]

    def clean_item_ids(self) -> list[int]:
        raw = self.cleaned_data["item_ids"].replace(",", " ").split()
        try:
            ids = [int(value) for value in raw]
        except ValueError:
            raise forms.ValidationError("Item ids are whole numbers.") from None
        if any(not 0 < value < 2**31 for value in ids):
            raise forms.ValidationError("Item ids are positive numbers.")
        return ids

    def add_service_error(self, exc: reruns.RerunError) -> None:
        self.add_error(exc.field if exc.field in self.fields else None, str(exc))
