"""The admin's upload form for imports."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from synthesis.ingest import services
from synthesis.vocabulary import MODALITIES

FORMAT_CHOICES = [
    ("", "Detect from the file"),
    ("jats", "PMC Open Access article (.tar.gz)"),
    ("webdataset", "Webdataset shard (.tar)"),
    ("vqa", "VQA dataset (.parquet / .jsonl)"),
]


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        help_text="A JATS .tar.gz, a webdataset .tar, or a VQA .parquet/.jsonl file."
    )
    source_format = forms.ChoiceField(
        label="Format", choices=FORMAT_CHOICES, required=False
    )
    modalities = forms.MultipleChoiceField(
        choices=[(m, m) for m in MODALITIES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Keep only figures with these modalities (none ticked: keep all).",
    )
    min_caption_chars = forms.IntegerField(
        label="Minimum caption length", min_value=1, max_value=10_000, initial=1
    )
    min_image_side = forms.IntegerField(
        label="Minimum image side (px)", min_value=1, max_value=20_000, initial=1
    )
    group_identical_captions = forms.BooleanField(
        label="Group images of one article that share a caption (up to 6)",
        required=False,
        initial=True,
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:
            services.upload_suffix(upload.name or "")
        except services.UploadRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        if upload.size > settings.MEDSYN_MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than the upload limit.")
        return upload

    def import_options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "modalities": data["modalities"],
            "min_caption_chars": data["min_caption_chars"],
            "min_image_side": data["min_image_side"],
            "group_identical_captions": data["group_identical_captions"],
        }
