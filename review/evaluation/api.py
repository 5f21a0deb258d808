"""JSON API for evaluation: list and launch runs, read one, compare two."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medsyn_app.api import ERRORS, FieldErrorsOutput
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


class GroupAccuracyOutput(AccuracyOutput):
    group = serializers.CharField()


class ResultsOutput(serializers.Serializer):
    answered = serializers.IntegerField()
    accuracy = AccuracyOutput(allow_null=True)
    strict_accuracy = AccuracyOutput(allow_null=True)
    well_formed = AccuracyOutput(allow_null=True)
    unreadable = serializers.IntegerField()
    errors = serializers.IntegerField()
    mean_over_benchmarks = serializers.FloatField(allow_null=True)
    by = serializers.DictField(child=GroupAccuracyOutput(many=True))


class RunDetailOutput(RunOutput):
    results = ResultsOutput()

    class Meta(RunOutput.Meta):
        fields = [*RunOutput.Meta.fields, "results"]


class ChangedOutput(serializers.Serializer):
    item = serializers.IntegerField()
    index = serializers.IntegerField()
    answer = serializers.CharField()
    first_letter = serializers.CharField(allow_blank=True, allow_null=True)
    second_letter = serializers.CharField(allow_blank=True, allow_null=True)


class CompareOutput(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    paired = serializers.IntegerField()
    both_correct = serializers.IntegerField()
    only_first = serializers.IntegerField()
    only_second = serializers.IntegerField()
    neither = serializers.IntegerField()
    mcnemar_p = serializers.FloatField(allow_null=True)
    first_accuracy = AccuracyOutput(allow_null=True)
    second_accuracy = AccuracyOutput(allow_null=True)
    changed = ChangedOutput(many=True)
    changed_total = serializers.IntegerField()


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
        max_tokens = serializers.IntegerField(
            required=False, min_value=1, max_value=131072
        )
        temperature = serializers.FloatField(required=False, min_value=0, max_value=2)
        top_p = serializers.FloatField(required=False, min_value=0, max_value=1)
        seed = serializers.IntegerField(
            required=False, allow_null=True, min_value=0, max_value=2**31 - 1
        )

        class Meta:
            ref_name = "EvaluationSampling"

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        endpoint = serializers.CharField(max_length=64)
        evaluation_set = serializers.IntegerField(required=False, min_value=1)
        export = serializers.IntegerField(required=False, min_value=1)
        split = serializers.ChoiceField(choices=SPLITS, default="test")
        prompt = serializers.ChoiceField(choices=PROMPTS, default="rl")
        sampling = serializers.DictField(required=False)
        chunk_size = serializers.IntegerField(
            required=False, min_value=1, max_value=1000
        )

        class Meta:
            ref_name = "EvaluationLaunch"

        def validate_sampling(self, value: dict) -> dict:
            checked = RunListApi.SamplingInput(data=value)
            checked.is_valid(raise_exception=True)
            unknown = sorted(set(value) - set(checked.fields))
            if unknown:
                raise serializers.ValidationError(f"unknown setting {unknown[0]}")
            return dict(checked.validated_data)

    @extend_schema(
        summary="The latest evaluation runs", responses={200: RunOutput(many=True)}
    )
    def get(self, request: Request) -> Response:
        runs = EvaluationRun.objects.all()[:100]
        return Response(RunOutput(runs, many=True).data)

    @extend_schema(
        summary="Evaluate a registered endpoint on an export split or a benchmark",
        request=InputSerializer,
        responses={
            201: RunOutput,
            400: OpenApiResponse(FieldErrorsOutput, "A setting is refused."),
        },
    )
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

    @extend_schema(
        summary="One run and its results",
        responses={200: RunDetailOutput, **ERRORS(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(EvaluationRun, pk=pk)
        return Response({**RunOutput(run).data, "results": _results(run)})


class CompareApi(APIView):
    permission_classes = [IsMedsynAdmin]

    class InputSerializer(serializers.Serializer):
        first = serializers.IntegerField(min_value=1)
        second = serializers.IntegerField(min_value=1)

        class Meta:
            ref_name = "EvaluationPair"

    @extend_schema(
        summary="Two runs on the same set, paired (McNemar's exact test)",
        parameters=[InputSerializer],
        responses={
            200: CompareOutput,
            400: OpenApiResponse(FieldErrorsOutput, "The runs cannot be paired."),
            **ERRORS(404),
        },
    )
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
