"""JSON API for evaluation: list and launch runs, read one, compare two."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medsyn_app.roles import IsMedsynAdmin
from review.evaluation import selectors, services, tasks
from review.evaluation.config import PROMPTS
from review.evaluation.export_sets import SPLITS
from review.evaluation.models import EvaluationRun
from review.evaluation.statistics import Accuracy


class RunOutput(serializers.ModelSerializer):
    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "name",
            "evaluation_set",
            "endpoint",
            "config",
            "status",
            "items_total",
            "items_done",
            "items_correct",
            "items_failed",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class AccuracyOutput(serializers.Serializer):
    correct = serializers.IntegerField()
    total = serializers.IntegerField()
    value = serializers.FloatField()
    low = serializers.FloatField()
    high = serializers.FloatField()


def _accuracy(value: Accuracy | None) -> dict[str, Any] | None:
    return AccuracyOutput(value).data if value else None


def _results(run: EvaluationRun) -> dict[str, Any]:
    results = selectors.results(run)
    return {
        "answered": results.answered,
        "accuracy": _accuracy(results.overall),
        "strict_accuracy": _accuracy(results.strict),
        "well_formed": _accuracy(results.well_formed),
        "unreadable": results.unreadable,
        "errors": results.errors,
        "mean_over_benchmarks": results.mean_over_benchmarks,
        "by": {
            key: [{"group": v, **_accuracy(a)} for v, a in rows if a]
            for key, rows in results.breakdowns.items()
        },
    }


class RunListApi(APIView):
    permission_classes = [IsMedsynAdmin]

    class SamplingInput(serializers.Serializer):
        max_tokens = serializers.IntegerField(required=False)
        temperature = serializers.FloatField(required=False)
        top_p = serializers.FloatField(required=False)
        seed = serializers.IntegerField(required=False, allow_null=True)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        endpoint = serializers.CharField(max_length=64)
        evaluation_set = serializers.IntegerField(required=False)
        export = serializers.IntegerField(required=False)
        split = serializers.ChoiceField(choices=SPLITS, default="test")
        prompt = serializers.ChoiceField(choices=PROMPTS, default="rl")
        sampling = serializers.DictField(required=False)
        chunk_size = serializers.IntegerField(required=False)

        def validate_sampling(self, value: dict) -> dict:
            checked = RunListApi.SamplingInput(data=value)
            checked.is_valid(raise_exception=True)
            unknown = sorted(set(value) - set(checked.fields))
            if unknown:
                raise serializers.ValidationError(f"unknown setting {unknown[0]}")
            return dict(checked.validated_data)

    def get(self, request: Request) -> Response:
        runs = EvaluationRun.objects.all()[:100]
        return Response(RunOutput(runs, many=True).data)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        config = {"endpoint": given["endpoint"], "prompt": given["prompt"]}
        for key in ("sampling", "chunk_size"):
            if key in given:
                config[key] = given[key]
        try:
            run = services.launch_run(
                created_by=request.user,
                name=given["name"],
                config=config,
                enqueue=tasks.send_slices,
                evaluation_set_id=given.get("evaluation_set"),
                export_id=given.get("export"),
                split=given["split"],
            )
        except (services.EvaluationError, services.EvaluationConfigError) as exc:
            field = exc.field.removeprefix("config.") or "non_field_errors"
            return Response({field: [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(RunOutput(run).data, status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    permission_classes = [IsMedsynAdmin]

    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(EvaluationRun, pk=pk)
        return Response({**RunOutput(run).data, "results": _results(run)})


class CompareApi(APIView):
    permission_classes = [IsMedsynAdmin]

    class InputSerializer(serializers.Serializer):
        first = serializers.IntegerField()
        second = serializers.IntegerField()

    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        first = get_object_or_404(EvaluationRun, pk=data.validated_data["first"])
        second = get_object_or_404(EvaluationRun, pk=data.validated_data["second"])
        try:
            comparison = selectors.compare(first, second)
        except selectors.NotComparable as exc:
            return Response({"second": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "first": first.pk,
                "second": second.pk,
                "paired": comparison.paired,
                "both_correct": comparison.both,
                "only_first": comparison.only_first,
                "only_second": comparison.only_second,
                "neither": comparison.neither,
                "mcnemar_p": comparison.p_value,
                "first_accuracy": _accuracy(comparison.first_accuracy),
                "second_accuracy": _accuracy(comparison.second_accuracy),
                "changed": [
                    {
                        "item": c["item"].pk,
                        "index": c["item"].index,
                        "answer": c["item"].answer,
                        "first_letter": c["first_letter"],
                        "second_letter": c["second_letter"],
                    }
                    for c in comparison.changed
                ],
                "changed_total": comparison.changed_total,
            }
        )
