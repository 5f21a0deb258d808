"""The export form: parses HTML input into export settings, nothing more."""

from __future__ import annotations

from typing import Any

from django import forms

from review.export import references
from review.export.config import FORMATS
from review.models import Export, ExportStatus
from synthesis.models import Batch, Item, ItemStatus, LicenseFamily

MAX_EVAL_SET_BYTES = 512 * 1024 * 1024


class ExportForm(forms.Form):
    name = forms.CharField(max_length=200)
    formats = forms.MultipleChoiceField(
        choices=[(f, f) for f in FORMATS],
        initial=["hf", "jsonl"],
        widget=forms.CheckboxSelectMultiple,
    )
    seed = forms.IntegerField(initial=42)
    ratios = forms.CharField(initial="0.8,0.1,0.1", help_text="train,validation,test")
    batches = forms.ModelMultipleChoiceField(
        queryset=Batch.objects.all(), required=False
    )
    min_verifier_score = forms.FloatField(min_value=0, max_value=1, required=False)
    modalities = forms.MultipleChoiceField(required=False)
    license_families = forms.MultipleChoiceField(
        choices=LicenseFamily.choices,
        required=False,
        help_text="Leave empty for the open families (CC0, CC BY, CC BY-SA).",
    )
    include_noncommercial = forms.BooleanField(required=False)
    min_reviews = forms.IntegerField(min_value=0, initial=0, required=False)
    min_agreement = forms.FloatField(min_value=0, max_value=1, required=False)
    rebalance_letters = forms.BooleanField(required=False)
    sft_target = forms.ChoiceField(
        choices=[
            ("letter", "The letter (SFT prompt)"),
            ("think_answer", "<think>/<answer> (RL prompt, as the reward reads)"),
        ],
        initial="letter",
        required=False,
        help_text="What the SFT rows' assistant turn says.",
    )
    freeze_test_from = forms.ModelChoiceField(
        queryset=Export.objects.filter(status=ExportStatus.DONE), required=False
    )
    eval_set = forms.FileField(
        required=False,
        help_text="Another benchmark test set (.jsonl or .parquet); every "
        "registered benchmark is checked in any case.",
    )
    exclude_contaminated = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        modalities = (
            Item.objects.filter(status=ItemStatus.ACCEPTED)
            .exclude(modality="")
            .values_list("modality", flat=True)
            .distinct()
            .order_by("modality")
        )
        self.fields["modalities"].choices = [(m, m) for m in modalities]

    def clean_ratios(self) -> list[float]:
        try:
            ratios = [float(part) for part in self.cleaned_data["ratios"].split(",")]
        except ValueError as exc:
            raise forms.ValidationError(
                "Give three numbers such as 0.8,0.1,0.1"
            ) from exc
        if len(ratios) != 3:
            raise forms.ValidationError("Give three numbers: train, validation, test")
        return ratios

    def clean_eval_set(self) -> Any:
        upload = self.cleaned_data.get("eval_set")
        if upload and not upload.name.endswith((".jsonl", ".parquet")):
            raise forms.ValidationError(
                "The eval set must be a .jsonl or .parquet file"
            )
        if upload and upload.size > MAX_EVAL_SET_BYTES:
            raise forms.ValidationError("The eval set is larger than 512 MB")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("exclude_contaminated")
            and not data.get("eval_set")
            and not references.registered_ids()
        ):
            self.add_error(
                "exclude_contaminated",
                "Upload an eval set or register a benchmark to exclude from",
            )
        return data

    def export_settings(self) -> dict[str, Any]:
        data = self.cleaned_data
        settings: dict[str, Any] = {
            "formats": data["formats"],
            "seed": data["seed"],
            "ratios": data["ratios"],
            "batch_ids": [b.pk for b in data["batches"]],
            "modalities": data["modalities"],
            "license_families": data["license_families"],
            "include_noncommercial": data["include_noncommercial"],
            "min_reviews": data["min_reviews"] or 0,
            "rebalance_letters": data["rebalance_letters"],
            "sft_target": data["sft_target"] or "letter",
            "exclude_contaminated": data["exclude_contaminated"],
        }
        for key in ("min_verifier_score", "min_agreement"):
            if data[key] is not None:
                settings[key] = data[key]
        if data["freeze_test_from"]:
            settings["freeze_test_from"] = data["freeze_test_from"].pk
        return settings
