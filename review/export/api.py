"""JSON API for exports: list, launch and read one (admins only)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medsyn_app import queueing
from medsyn_app.api import ERRORS
from medsyn_app.roles import IsMedsynAdmin
from review.export import selectors, services, tasks
from review.models import Export


class ExportOutput(serializers.ModelSerializer):
    class Meta:
        model = Export
        fields = [
            "id",
            "name",
            "status",
            "settings",
            "formats",
            "item_count",
            "rows_total",
            "rows_written",
            "output_dir",
            "error",
            "created_at",
            "finished_at",
        ]


class ExportDetailOutput(ExportOutput):
    manifest = serializers.JSONField()

    class Meta(ExportOutput.Meta):
        fields = [*ExportOutput.Meta.fields, "manifest"]


class _SplitCount(serializers.Serializer):
    split = serializers.CharField()
    items = serializers.IntegerField()
    groups = serializers.IntegerField(help_text="Groups of papers and images")


class _CauseCount(serializers.Serializer):
    cause = serializers.CharField()
    label = serializers.CharField()
    items = serializers.IntegerField()


class ExportPreviewOutput(serializers.Serializer):
    """What an export with these settings would hold, and what it leaves out."""

    accepted = serializers.IntegerField(help_text="Accepted items in scope")
    exported = serializers.IntegerField()
    splits = _SplitCount(many=True)
    excluded = _CauseCount(many=True, help_text="Accepted items left out, by cause")
    not_accepted = _CauseCount(
        many=True, help_text="Items of the chosen batches not accepted yet, by status"
    )
    warnings = serializers.ListField(child=serializers.CharField())

    @staticmethod
    def from_explained(explained: dict) -> dict:
        def rows(key: str) -> list[dict]:
            return [
                {"cause": c, "label": label, "items": n}
                for c, label, n in explained[key]
            ]

        return {
            "accepted": explained["accepted"],
            "exported": explained["exported"],
            "splits": [
                {"split": s, "items": n, "groups": g} for s, n, g in explained["splits"]
            ],
            "excluded": rows("excluded"),
            "not_accepted": rows("not_accepted"),
            "warnings": explained["warnings"],
        }


class ExportListApi(APIView):
    permission_classes = [IsMedsynAdmin]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        settings = serializers.DictField(required=False, default=dict)

        class Meta:
            ref_name = "ExportStart"

    @extend_schema(
        summary="The latest exports", responses={200: ExportOutput(many=True)}
    )
    def get(self, request: Request) -> Response:
        exports = Export.objects.all()[:100]
        return Response(ExportOutput(exports, many=True).data)

    @extend_schema(
        summary="Start an export (written by a worker)",
        request=InputSerializer,
        responses={201: ExportOutput, **ERRORS(400, 503)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        settings = dict(data.validated_data["settings"])
        settings.pop("eval_set_path", None)  # server paths are not for API callers
        try:
            export = services.create_export(
                created_by=request.user,
                name=data.validated_data["name"],
                settings=settings,
                enqueue=tasks.start_export,
            )
        except services.ExportError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        except queueing.QueueUnavailable as exc:
            body = {"detail": str(exc), "id": exc.object_id}
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(ExportOutput(export).data, status=status.HTTP_201_CREATED)


class ExportDetailApi(APIView):
    permission_classes = [IsMedsynAdmin]

    @extend_schema(
        summary="One export, with its manifest",
        responses={200: ExportDetailOutput, **ERRORS(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        export = get_object_or_404(Export, pk=pk)
        return Response(ExportDetailOutput(export).data)


class ExportPreviewApi(APIView):
    permission_classes = [IsMedsynAdmin]

    @extend_schema(
        summary="Preview an export: counts per split and exclusions by cause",
        description="Runs the export's own selection, contamination check and "
        "split assignment without writing anything, so the counts are those a "
        "launch with the same settings would produce.",
        request=ExportListApi.InputSerializer,
        responses={200: ExportPreviewOutput, **ERRORS(400)},
    )
    def post(self, request: Request) -> Response:
        data = ExportListApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = dict(data.validated_data["settings"])
        raw.pop("eval_set_path", None)
        try:
            settings = services.resolve_settings(
                settings=raw, name=data.validated_data["name"]
            )
        except services.ExportError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        explained = selectors.preview(settings)
        return Response(ExportPreviewOutput.from_explained(explained))
