"""Review API (DRF): the same queue, cards and services as the htmx page.

A stale `item_version` answers 409 with the current version, exactly like the
page; nothing is written.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from medsyn_app.api import ERRORS
from medsyn_app.roles import IsReviewer
from review import cards, overlap, queue, services
from review.models import Decision, ItemRevision, RejectReason
from synthesis.models import Item


class ItemOutput(serializers.Serializer):
    """The item as the caller sees it (see `cards.Card`).

    `question`, `options` and `answer` are the item's; under blind review
    `status` is the status before any decision, and `proposal` is the caller's
    own edit proposal awaiting adjudication, if any.
    """

    class VerificationOutput(serializers.Serializer):
        verifier_model = serializers.CharField()
        rubric_version = serializers.CharField()
        normalized_score = serializers.FloatField(allow_null=True)
        essentials_passed = serializers.BooleanField()
        kept = serializers.BooleanField()
        criteria = serializers.JSONField()

    class ProposalOutput(serializers.Serializer):
        id = serializers.IntegerField()
        base_version = serializers.IntegerField()
        question = serializers.CharField()
        options = serializers.JSONField()
        answer = serializers.CharField()
        answer_changed = serializers.BooleanField()
        created_at = serializers.DateTimeField()

    id = serializers.IntegerField(source="item.pk")
    version = serializers.IntegerField(source="item.version")
    status = serializers.CharField()
    question = serializers.CharField(source="item.question")
    options = serializers.JSONField(source="item.options")
    answer = serializers.CharField(source="item.answer")
    flags = serializers.JSONField(source="item.flags")
    batch = serializers.CharField(source="item.batch.name")
    generator_model = serializers.CharField(source="item.generator_model")
    images = serializers.SerializerMethodField()
    verification = VerificationOutput(allow_null=True)
    proposal = ProposalOutput(allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_images(self, card: cards.Card) -> list[str]:
        return [
            reverse("review:figure_image", args=[fv.figure.pk]) for fv in card.figures
        ]


class RevisionOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.get_username")

    class Meta:
        model = ItemRevision
        fields = [
            "version",
            "author",
            "created_at",
            "before",
            "after",
            "answer_changed",
        ]


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason_code = serializers.ChoiceField(
        choices=RejectReason.choices, required=False, default=""
    )
    comment = serializers.CharField(required=False, default="", allow_blank=True)
    seconds_spent = serializers.FloatField(min_value=0, default=0)
    item_version = serializers.IntegerField(min_value=1)
    question = serializers.CharField(required=False, default="", allow_blank=True)
    options = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )
    answer = serializers.CharField(required=False, default="", allow_blank=True)


class DecisionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    version = serializers.IntegerField()


class StaleOutput(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField()


class InvalidEditOutput(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.CharField())


def _get_item_for_reviewer(request: Request, pk: int) -> Item:
    try:
        return queue.visible_items(request.user).get(pk=pk)
    except Item.DoesNotExist:
        raise Http404("No such item in your queue.") from None


def _item_response(request: Request, item_id: int, **kwargs) -> Response:
    card = cards.card_for(item_id=item_id, reviewer=request.user)
    return Response(ItemOutput(card).data, **kwargs)


@extend_schema(
    summary="Claim the next item of your queue",
    responses={
        200: ItemOutput,
        204: OpenApiResponse(description="Your queue is empty."),
    },
)
@api_view(["GET"])
@permission_classes([IsReviewer])
def next_item(request: Request) -> Response:
    item_id = queue.claim_next(reviewer=request.user)
    if item_id is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return _item_response(request, item_id)


@extend_schema(
    summary="An item handed to you", responses={200: ItemOutput, **ERRORS(404)}
)
@api_view(["GET"])
@permission_classes([IsReviewer])
def item_detail(request: Request, pk: int) -> Response:
    return _item_response(request, _get_item_for_reviewer(request, pk).pk)


@extend_schema(
    summary="An item's edits",
    responses={200: RevisionOutput(many=True), **ERRORS(404)},
)
@api_view(["GET"])
@permission_classes([IsReviewer])
def revisions(request: Request, pk: int) -> Response:
    """The item's revisions; under blind double review only the caller's own."""
    item = _get_item_for_reviewer(request, pk)
    rows = item.revisions.select_related("author").order_by("version")
    if overlap.blind_to(item, request.user):
        rows = rows.filter(author=request.user)
    return Response(RevisionOutput(rows, many=True).data)


@extend_schema(
    summary="Decide an item (accept, reject, skip, flag, or edit and accept)",
    request=DecisionInput,
    responses={
        201: DecisionOutput,
        400: OpenApiResponse(InvalidEditOutput, "The decision or edit is invalid."),
        **ERRORS(404),
        409: OpenApiResponse(StaleOutput, "The item changed since you read it."),
    },
)
@api_view(["POST"])
@permission_classes([IsReviewer])
def decide(request: Request, pk: int) -> Response:
    item = _get_item_for_reviewer(request, pk)
    data = DecisionInput(data=request.data)
    data.is_valid(raise_exception=True)
    d = data.validated_data
    try:
        if d["decision"] == Decision.EDIT_ACCEPT:
            review = services.edit_item(
                item=item,
                author=request.user,
                question=d["question"],
                options=d["options"],
                answer=d["answer"],
                item_version=d["item_version"],
                seconds_spent=d["seconds_spent"],
            )
        else:
            review = services.decide(
                item=item,
                reviewer=request.user,
                decision=d["decision"],
                reason_code=d["reason_code"],
                comment=d["comment"],
                seconds_spent=d["seconds_spent"],
                item_version=d["item_version"],
            )
    except services.StaleVersion as error:
        body = {"detail": str(error), "current_version": error.item.version}
        return Response(body, status=status.HTTP_409_CONFLICT)
    except services.InvalidDecision as error:
        body = {"detail": str(error), "errors": error.errors}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return Response(
        {"id": review.pk, "decision": review.decision, "version": review.item_version},
        status=status.HTTP_201_CREATED,
    )
