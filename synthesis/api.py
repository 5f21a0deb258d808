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

from medsyn_app.api import ERRORS, FieldErrorsOutput
from medsyn_app.roles import IsMedsynAdmin
from synthesis import selectors, services, tasks
from synthesis.models import Batch


class BatchOutput(serializers.ModelSerializer):
    class Meta:
        model = Batch
        fields = [
            "id", "name", "status", "config", "figure_groups_total",
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

    class Meta(BatchOutput.Meta):
        fields = [
            *BatchOutput.Meta.fields, "chunks", "percent", "units_total",
            "units_done", "groups_per_second", "eta_seconds", "cost",
            "items_per_minute",
            "tokens_per_second", "pass_rate", "failures_by_reason",
            "verifier_errors", "chunk_errors",
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
            }
        )


def _cost(cost: selectors.Cost) -> dict:
    low, high = cost.keep_interval or (None, None)
    fields = {k: v for k, v in vars(cost).items() if k != "keep_interval"}
    return {**fields, "keep_rate_low": low, "keep_rate_high": high}
