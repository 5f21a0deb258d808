"""DRF endpoints for imports (admins only): start one, read its job."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medsyn_app import queueing
from medsyn_app.api import ERRORS
from medsyn_app.roles import IsMedsynAdmin
from synthesis.ingest import services, tasks
from synthesis.ingest.forms import FORMAT_CHOICES
from synthesis.models import ImportJob
from synthesis.vocabulary import MODALITIES


class ImportJobOutput(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = [
            "id",
            "original_name",
            "source_format",
            "options",
            "status",
            "records_seen",
            "report",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ImportJobListApi(APIView):
    permission_classes = [IsMedsynAdmin]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        source_format = serializers.ChoiceField(
            choices=[value for value, _ in FORMAT_CHOICES], required=False, default=""
        )
        modalities = serializers.ListField(
            child=serializers.ChoiceField(choices=MODALITIES), required=False
        )
        min_caption_chars = serializers.IntegerField(min_value=1, default=1)
        min_image_side = serializers.IntegerField(min_value=1, default=1)
        group_identical_captions = serializers.BooleanField(default=True)

        class Meta:
            ref_name = "ImportUpload"

        def validate_file(self, upload):
            try:
                services.upload_suffix(upload.name or "")
            except services.UploadRefused as exc:
                raise serializers.ValidationError(str(exc)) from exc
            return upload

    @extend_schema(
        summary="The latest import jobs", responses={200: ImportJobOutput(many=True)}
    )
    def get(self, request: Request) -> Response:
        jobs = ImportJob.objects.all()[:50]
        return Response(ImportJobOutput(jobs, many=True).data)

    @extend_schema(
        summary="Upload a source and import it (run by a worker)",
        request={"multipart/form-data": InputSerializer},
        responses={201: ImportJobOutput, **ERRORS(400, 503)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(data.validated_data)
        upload = options.pop("file")
        source_format = options.pop("source_format")
        try:
            job = services.start_import(
                upload=upload,
                source_format=source_format,
                options=options,
                user=request.user,
                enqueue=tasks.start_import,
            )
        except queueing.QueueUnavailable as exc:
            body = {"detail": str(exc), "id": exc.object_id}
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(ImportJobOutput(job).data, status=status.HTTP_201_CREATED)


class ImportJobDetailApi(APIView):
    permission_classes = [IsMedsynAdmin]

    @extend_schema(
        summary="One import job and its report",
        responses={200: ImportJobOutput, **ERRORS(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(ImportJob, pk=pk)
        return Response(ImportJobOutput(job).data)
