"""The launch and compare forms: HTML input parsed into service arguments."""

from __future__ import annotations

from typing import Any

from django import forms

from medsyn_app import endpoints
from review.evalsets.models import EvaluationSet
from review.evaluation.config import ROLE
from review.evaluation.export_sets import SPLITS
from review.evaluation.models import EvaluationRun, RunStatus
from review.models import Export, ExportStatus


class LaunchForm(forms.Form):
    name = forms.CharField(max_length=200)
    endpoint = forms.ChoiceField(help_text="A registered endpoint serving evaluation.")
    evaluation_set = forms.ModelChoiceField(
        queryset=EvaluationSet.objects.all(),
        required=False,
        help_text="A registered benchmark or an export split evaluated before.",
    )
    export = forms.ModelChoiceField(
        queryset=Export.objects.filter(status=ExportStatus.DONE),
        required=False,
        help_text="Or an export, with the split to evaluate on.",
    )
    split = forms.ChoiceField(choices=[(s, s) for s in SPLITS], initial="test")
    prompt = forms.ChoiceField(
        choices=[
            ("rl", "The export's RL prompt (<think>/<answer>)"),
            ("sft", "The export's SFT prompt (the letter)"),
        ],
        initial="rl",
        widget=forms.RadioSelect,
    )
    max_tokens = forms.IntegerField(min_value=1, max_value=65536, initial=4096)
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.0)
    top_p = forms.FloatField(min_value=0, max_value=1, initial=1.0)
    seed = forms.IntegerField(min_value=0, initial=42, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["endpoint"].choices = [
            (e.name, e.label) for e in endpoints.for_role(ROLE)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("evaluation_set")) == bool(data.get("export")):
            self.add_error(
                "evaluation_set", "Pick an evaluation set or an export, not both"
            )
        return data

    def target(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["evaluation_set"]:
            return {"evaluation_set_id": data["evaluation_set"].pk}
        return {"export_id": data["export"].pk, "split": data["split"]}

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "endpoint": data["endpoint"],
            "prompt": data["prompt"],
            "sampling": {
                "max_tokens": data["max_tokens"],
                "temperature": data["temperature"],
                "top_p": data["top_p"],
                "seed": data["seed"],
            },
        }

    def add_service_error(self, exc: Exception) -> None:
        field = getattr(exc, "field", "")
        name = field.removeprefix("config.").split(".")[-1]
        self.add_error(name if name in self.fields else None, str(exc))


class CompareForm(forms.Form):
    first = forms.ModelChoiceField(queryset=EvaluationRun.objects.none())
    second = forms.ModelChoiceField(queryset=EvaluationRun.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        done = EvaluationRun.objects.filter(status=RunStatus.COMPLETED)
        self.fields["first"].queryset = done
        self.fields["second"].queryset = done
