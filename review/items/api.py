"""JSON API of the item browser: the same list, filters and visibility as the page."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medsyn_app.api import ERRORS
from medsyn_app.roles import IsReviewer
from review.items import selectors
from review.items.selectors import GATES, PAGE_SIZES, Cursor, Filters, Sort
from review.models import RejectReason
from synthesis.models import ItemStatus

YES_NO = ("yes", "no")


class ItemDecisionOutput(serializers.Serializer):
    reviewer = serializers.CharField()
    decision = serializers.CharField()
    reason = serializers.CharField()
    comment = serializers.CharField()
    is_adjudication = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ItemRowOutput(serializers.Serializer):
    id = serializers.IntegerField(source="item.pk")
    question = serializers.CharField(source="item.question")
    batch = serializers.IntegerField(source="item.batch_id")
    batch_name = serializers.CharField(source="item.batch.name")
    modality = serializers.CharField(source="item.modality")
    status = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    failed_gates = serializers.ListField(child=serializers.CharField())
    verifier_error = serializers.CharField()
    decisions = ItemDecisionOutput(many=True)
    flags = serializers.ListField(child=serializers.CharField())
    edits = serializers.ListField(child=serializers.CharField())
    excluded_from_export = serializers.CharField(source="excluded")


class ItemPageOutput(serializers.Serializer):
    results = ItemRowOutput(many=True, source="rows")
    next = serializers.CharField(
        allow_null=True, source="next_cursor", help_text="Pass as `after`."
    )


class ItemListApi(APIView):
    """GET a page of items with the browser's filters (keyset: pass `next` as `after`).

    Admins see every item; a reviewer only the items they decided, and nothing
    of other reviewers on items whose overlap plan is open.
    """

    permission_classes = [IsReviewer]

    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200)
        status = serializers.ChoiceField(choices=ItemStatus.choices, required=False)
        batch = serializers.IntegerField(required=False, min_value=1)
        modality = serializers.CharField(required=False, max_length=50)
        score_min = serializers.FloatField(required=False, min_value=0, max_value=1)
        score_max = serializers.FloatField(required=False, min_value=0, max_value=1)
        failed_gate = serializers.ChoiceField(choices=GATES, required=False)
        reason = serializers.ChoiceField(choices=RejectReason.choices, required=False)
        reviewer = serializers.IntegerField(required=False, min_value=1)
        flagged = serializers.ChoiceField(choices=YES_NO, required=False)
        edited = serializers.ChoiceField(choices=YES_NO, required=False)
        sort = serializers.ChoiceField(
            choices=Sort.CHOICES, required=False, default=Sort.NEWEST
        )
        size = serializers.ChoiceField(
            choices=PAGE_SIZES, required=False, default=selectors.DEFAULT_PAGE_SIZE
        )
        after = serializers.CharField(required=False, max_length=60)

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            low, high = data.get("score_min"), data.get("score_max")
            if low is not None and high is not None and low > high:
                raise serializers.ValidationError(
                    {"score_max": "The upper score is below the lower one."}
                )
            if data.get("after"):
                try:
                    data["cursor"] = Cursor.decode(data["after"], data["sort"])
                except ValueError:
                    raise serializers.ValidationError(
                        {"after": "Not a cursor this list gave out."}
                    ) from None
            return data

    @extend_schema(
        summary="Items, filtered and searched, one keyset page at a time",
        parameters=[InputSerializer],
        responses={200: ItemPageOutput, **ERRORS(400)},
    )
    def get(self, request: Request) -> Response:
        form = self.InputSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        filters = Filters(
            q=data.get("q", ""),
            status=data.get("status", ""),
            batch=data.get("batch"),
            modality=data.get("modality", ""),
            score_min=data.get("score_min"),
            score_max=data.get("score_max"),
            failed_gate=data.get("failed_gate", ""),
            reason=data.get("reason", ""),
            reviewer=data.get("reviewer"),
            flagged={"yes": True, "no": False}.get(data.get("flagged", "")),
            edited={"yes": True, "no": False}.get(data.get("edited", "")),
            sort=data["sort"],
        )
        page = selectors.page(
            user=request.user,
            filters=filters,
            after=data.get("cursor"),
            size=int(data["size"]),
        )
        return Response(ItemPageOutput(page).data)
