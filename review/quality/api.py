"""JSON API for review quality: the dashboard figures and blind-review reads."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medsyn_app.api import ERRORS
from medsyn_app.roles import IsMedsynAdmin, IsReviewer
from review import queue
from review.overlap import visible_reviews_for
from review.quality import snapshots
from review.quality.forms import DashboardForm
from synthesis.models import Batch


class QualityFiguresApi(APIView):
    """GET every dashboard figure for one batch (`<id>`) or for `all`.

    Default settings read the stored snapshot, kept current within seconds
    of a decision (see `review.quality.snapshots`); `?fresh=1` recounts.
    """

    permission_classes = [IsMedsynAdmin]

    @extend_schema(
        summary="Every quality figure, for one batch or for all",
        parameters=[
            OpenApiParameter(
                "batch",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="A batch id, or `all`.",
                pattern=r"^(all|[0-9]+)$",
            ),
            OpenApiParameter("fresh", OpenApiTypes.STR, enum=["1"], required=False),
        ],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                "Status counts, agreement, calibration, throughput, quality "
                "estimate, `computed_at`, and `behind` (decisions made since "
                "are being counted; current within seconds; see the README).",
            ),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, "A query parameter does not validate."
            ),
            **ERRORS(404),
        },
    )
    def get(self, request: Request, batch: str) -> Response:
        selected = None if batch == "all" else get_object_or_404(Batch, pk=_pk(batch))
        form = DashboardForm(request.query_params)
        if not form.is_valid():
            return Response({"errors": form.errors}, status=400)
        result = snapshots.figures_for(
            selected,
            options=form.figure_options(),
            fresh=request.query_params.get("fresh") == "1",
        )
        computed_at = result.computed_at.isoformat()
        return Response(
            {**result.figures, "computed_at": computed_at, "behind": result.behind}
        )


def _pk(value: str) -> int:
    if not value.isdigit():
        raise Http404("a batch is a number or 'all'")
    return int(value)


class ItemReviewsApi(APIView):
    """GET the reviews of an item the caller may see (`visible_reviews_for`).

    Blind while the item's overlap plan is open, and until the caller has made
    a decisive decision; admins see every review.
    """

    permission_classes = [IsReviewer]

    class OutputSerializer(serializers.Serializer):
        reviewer = serializers.CharField(source="reviewer.username")
        decision = serializers.CharField()
        reason_code = serializers.CharField()
        comment = serializers.CharField()
        is_adjudication = serializers.BooleanField()
        created_at = serializers.DateTimeField()
        undone_at = serializers.DateTimeField()

    @extend_schema(
        summary="The reviews of an item you may see (blind under an open plan)",
        responses={200: OutputSerializer(many=True), **ERRORS(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        # An item the caller may not open is not there for them (404).
        item = get_object_or_404(queue.visible_items(request.user), pk=pk)
        reviews = visible_reviews_for(item, request.user).order_by("created_at")
        return Response(self.OutputSerializer(reviews, many=True).data)
