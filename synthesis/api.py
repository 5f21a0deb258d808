"""JSON API for batches: launch one, list them, read one's progress (admins).

A refused launch answers 400 with the offending field as the key, DRF style
(`{"config.generator.base_url": ["..."]}`), plus `detail` for people reading.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medsyn_app import queueing
from medsyn_app.api import ERRORS, ErrorOutput, FieldErrorsOutput
from medsyn_app.roles import IsMedsynAdmin
from synthesis import reruns, rubric, selectors, services, tasks
from synthesis.models import Batch, Rerun


class BatchOutput(serializers.ModelSerializer):
    class Meta:
        model = Batch
        fields = [
            "id", "name", "status", "status_reason", "config", "figure_groups_total",
            "items_generated", "items_verified", "items_kept", "generation_failures",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip


class BatchCostOutput(serializers.Serializer):
    """Tokens and model time per kept item so far; the rest at the measured rate."""

    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    model_seconds = serializers.FloatField()
    prompt_tokens_per_kept = serializers.FloatField(allow_null=True)
    completion_tokens_per_kept = serializers.FloatField(allow_null=True)
    model_seconds_per_kept = serializers.FloatField(allow_null=True)
    groups_remaining = serializers.IntegerField()
    projected_seconds = serializers.FloatField(
        allow_null=True, help_text="Time for the remaining figure groups."
    )
    projected_gpu_hours = serializers.FloatField(
        allow_null=True, help_text="Projected time x one GPU per endpoint used."
    )
    gpus = serializers.IntegerField()
    keep_rate = serializers.FloatField(allow_null=True)
    keep_rate_low = serializers.FloatField(allow_null=True, help_text="Wilson 95 %")
    keep_rate_high = serializers.FloatField(allow_null=True, help_text="Wilson 95 %")

    class Meta:
        ref_name = "BatchCost"


class FailureGroupOutput(serializers.Serializer):
    """Failures of one stage with one cause, with what one of them said."""

    stage = serializers.ChoiceField(choices=["generation", "verification"])
    cause = serializers.CharField(help_text="backends.base CAUSE_*, or empty")
    label = serializers.CharField()
    reason = serializers.CharField(help_text="the stored reason or verifier error")
    http_status = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()
    example = serializers.CharField(help_text="what the server (or backend) said")
    prompt_tokens = serializers.IntegerField(allow_null=True)

    class Meta:
        ref_name = "BatchFailureGroup"


class BatchProgressOutput(BatchOutput):
    """The batch with its live progress (counts per chunk status, rates)."""

    units_total = serializers.IntegerField(help_text="Items asked for.")
    units_done = serializers.IntegerField(
        help_text="Items made, plus samples out of generation tries."
    )
    groups_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    cost = BatchCostOutput()

    chunks = serializers.DictField(child=serializers.IntegerField())
    percent = serializers.IntegerField()
    items_per_minute = serializers.FloatField(allow_null=True)
    tokens_per_second = serializers.FloatField(allow_null=True)
    pass_rate = serializers.FloatField(allow_null=True)
    failures_by_reason = serializers.DictField(child=serializers.IntegerField())
    verifier_errors = serializers.DictField(child=serializers.IntegerField())
    chunk_errors = serializers.DictField(child=serializers.IntegerField())
    failure_groups = FailureGroupOutput(many=True)
    server_info = serializers.DictField(
        child=serializers.DictField(),
        help_text="by role: the server's context (max_model_len), the registry's, "
        "a mismatch, and whether prompts are counted",
    )

    class Meta(BatchOutput.Meta):
        fields = [
            *BatchOutput.Meta.fields, "chunks", "percent", "units_total",
            "units_done", "groups_per_second", "eta_seconds", "cost",
            "items_per_minute",
            "tokens_per_second", "pass_rate", "failures_by_reason",
            "verifier_errors", "chunk_errors", "failure_groups", "server_info",
        ]  # fmt: skip


class BatchListApi(APIView):
    permission_classes = [IsMedsynAdmin]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        figure_filter = serializers.DictField(required=False, default=dict)
        config = serializers.DictField(required=False, default=dict)

        def validate(self, attrs: dict) -> dict:
            if unknown := sorted(set(self.initial_data) - set(self.fields)):
                raise serializers.ValidationError(
                    {key: ["Unknown field."] for key in unknown}
                )
            return attrs

        class Meta:
            ref_name = "BatchLaunch"

    @extend_schema(
        summary="The latest batches", responses={200: BatchOutput(many=True)}
    )
    def get(self, request: Request) -> Response:
        return Response(BatchOutput(selectors.batches(), many=True).data)

    @extend_schema(
        summary="Launch a batch (endpoints by name; chunks go to the gpu queue)",
        request=InputSerializer,
        responses={
            201: BatchOutput,
            400: OpenApiResponse(
                FieldErrorsOutput,
                "A setting is refused; the key names it, e.g. "
                "`config.generator.endpoint`.",
            ),
            **ERRORS(503),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            batch = services.launch_batch(
                created_by=request.user,
                enqueue=tasks.send_chunks,
                **data.validated_data,
            )
        except services.BatchConfigError as exc:
            body = {"detail": str(exc)}
            if exc.field:
                body[exc.field] = [str(exc)]
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        except queueing.QueueUnavailable as exc:
            body = {"detail": str(exc), "id": exc.object_id}
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(BatchOutput(batch).data, status=status.HTTP_201_CREATED)


class BatchDetailApi(APIView):
    permission_classes = [IsMedsynAdmin]

    @extend_schema(
        summary="One batch and its progress",
        responses={200: BatchProgressOutput, **ERRORS(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        progress = selectors.progress(get_object_or_404(Batch, pk=pk))
        return Response(
            {
                **BatchOutput(progress.batch).data,
                "chunks": progress.chunks,
                "percent": progress.percent,
                "units_total": progress.units_total,
                "units_done": progress.units_done,
                "groups_per_second": progress.groups_per_second,
                "eta_seconds": progress.eta_seconds,
                "cost": _cost(progress.cost),
                "items_per_minute": progress.items_per_minute,
                "tokens_per_second": progress.tokens_per_second,
                "pass_rate": progress.pass_rate,
                "failures_by_reason": dict(progress.failures_by_reason),
                "verifier_errors": dict(progress.verifier_errors),
                "chunk_errors": dict(progress.chunk_errors),
                "failure_groups": FailureGroupOutput(
                    progress.failure_groups, many=True
                ).data,
                "server_info": progress.batch.server_info,
            }
        )


def _cost(cost: selectors.Cost) -> dict:
    low, high = cost.keep_interval or (None, None)
    fields = {k: v for k, v in vars(cost).items() if k != "keep_interval"}
    return {**fields, "keep_rate_low": low, "keep_rate_high": high}


class RerunOutput(serializers.ModelSerializer):
    verifier_endpoint = serializers.SerializerMethodField()
    rubric_version = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Rerun
        fields = [
            "id", "batch", "kind", "selection", "status", "status_reason",
            "verifier_endpoint", "rubric_version", "item_ids", "targets",
            "items_verified", "items_kept", "verifier_errors", "items_generated",
            "generation_failures", "created_by", "created_at", "started_at",
            "finished_at",
        ]  # fmt: skip

    def get_verifier_endpoint(self, rerun: Rerun) -> str:
        return (rerun.config.get("verifier") or {}).get("endpoint", "")

    def get_rubric_version(self, rerun: Rerun) -> str:
        return rerun.config.get("rubric_version", "")


class BatchRerunsApi(APIView):
    """Re-run part of a finished batch (admins): verification or generation."""

    permission_classes = [IsMedsynAdmin]

    class InputSerializer(serializers.Serializer):
        what = serializers.ChoiceField(choices=sorted(reruns.WHAT))
        item_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
            required=False,
            default=list,
            max_length=100_000,
        )
        verifier_endpoint = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=64
        )
        rubric_version = serializers.ChoiceField(
            choices=sorted(rubric.RUBRICS), required=False, allow_blank=True,
            default="",
        )  # fmt: skip

        class Meta:
            ref_name = "RerunLaunch"

    @extend_schema(
        summary="A batch's re-runs, newest first",
        responses={200: RerunOutput(many=True), **ERRORS(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        batch = get_object_or_404(Batch, pk=pk)
        return Response(
            RerunOutput(selectors.rerun_panel(batch)["reruns"], many=True).data
        )

    @extend_schema(
        summary="Re-run verification (failed or chosen items, optionally another "
        "verifier endpoint or rubric) or failed generations; adds, never overwrites",
        request=InputSerializer,
        responses={
            202: RerunOutput,
            400: OpenApiResponse(
                FieldErrorsOutput,
                "A choice is refused (the key names it, e.g. `verifier_endpoint`), "
                "or there is nothing to re-run.",
            ),
            404: OpenApiResponse(ErrorOutput, "No such batch."),
            409: OpenApiResponse(
                ErrorOutput, "The batch is still queued, running or waiting."
            ),
            **ERRORS(503),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        batch = get_object_or_404(Batch, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            rerun = reruns.launch(
                batch_id=batch.pk,
                created_by=request.user,
                enqueue=tasks.send_rerun,
                **data.validated_data,
            )
        except reruns.RerunError as exc:
            body = {"detail": str(exc)}
            if exc.field:
                body[exc.field] = [str(exc)]
            code = (
                status.HTTP_409_CONFLICT
                if exc.conflict
                else status.HTTP_400_BAD_REQUEST
            )
            return Response(body, status=code)
        except queueing.QueueUnavailable as exc:
            body = {"detail": str(exc), "id": exc.object_id}
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(RerunOutput(rerun).data, status=status.HTTP_202_ACCEPTED)
