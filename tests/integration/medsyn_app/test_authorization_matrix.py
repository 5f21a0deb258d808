"""Every URL the app serves, requested as every persona, against a declared table.

The URL patterns come from the resolver, so a new URL without an entry in
`PAGES` (or, for Django admin, a newly registered model without an entry in
`ADMIN_MODELS`) fails `test_every_url_has_an_entry`. Each entry fills the URL's
arguments with real objects and gives, per allowed method, the status each
persona gets: anonymous, the reviewer the item is assigned to, another reviewer
(not assigned) and an admin. DELETE, which no view takes, answers 405.

302 from a MedSyn page is the login redirect; the entries say so with `LOGIN`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from knox.models import AuthToken

from review.evalsets.models import EvaluationImage
from review.evaluation import services as evaluation_services
from review.export import services as export_services
from review.models import Assignment, EditProposal, ItemRevision, ReviewerProfile
from synthesis.models import (
    Chunk,
    Document,
    GenerationFailure,
    ImportJob,
    Verification,
)
from tests.fixtures.builders import (
    add_review,
    add_revision,
    make_accepted_item,
    make_batch,
    make_evaluation_set,
    make_reviewable_item,
    make_user,
)

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "reviewer", "other_reviewer", "admin")
LOGIN = 302


@dataclass
class World:
    """One of everything a URL can name, with the item assigned to `reviewer`."""

    reviewer: Any
    other_reviewer: Any
    admin: Any
    batch: Any
    item: Any
    figure: Any
    document: Any
    export: Any
    job: Any
    objects: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def world(tmp_path) -> World:
    admin = make_user("alice", role="admin")
    reviewer = make_user("bob", role="reviewer")
    other = make_user("dora", role="reviewer")
    batch = make_batch("Matrix batch")
    item = make_reviewable_item(batch)
    Assignment.objects.create(item=item, reviewer=reviewer)
    figure = item.item_figures.get().figure
    review = add_review(item, reviewer, "accept")
    revision = add_revision(
        item, reviewer, before={"question": "a"}, after={"question": "b"}
    )
    make_accepted_item(document="PMC424242", image_seed=4)
    export = export_services.create_export(
        created_by=admin, name="Matrix", settings={}, enqueue=None
    )
    export = export_services.run_export(export_id=export.pk)
    job = ImportJob.objects.create(source_path="uploads/x.jsonl", original_name="x")
    chunk = Chunk.objects.create(batch=batch, index=0, group_keys=[], figure_ids=[])
    failure = GenerationFailure.objects.create(
        batch=batch, group_key="g", sample_index=0, attempt=1, reason="prose"
    )
    proposal_item = make_reviewable_item(batch)
    proposal = EditProposal.objects.create(
        item=proposal_item,
        author=other,
        review=add_review(proposal_item, other, "edit_accept"),
        base_version=proposal_item.version,
        question="Edited?",
        options=proposal_item.options,
        answer=proposal_item.answer,
    )
    evaluation_set = make_evaluation_set("Matrix bench", answers="AB")
    run = evaluation_services.launch_run(
        created_by=admin,
        name="Matrix run",
        evaluation_set_id=evaluation_set.pk,
        config={"endpoint": "fake-answerer"},
        enqueue=None,
    )
    objects = {
        "evaluation.run": run,
        "evaluation.image": EvaluationImage.objects.first(),
        "review.editproposal": proposal,
        "synthesis.document": figure.document,
        "synthesis.figure": figure,
        "synthesis.batch": batch,
        "synthesis.item": item,
        "synthesis.verification": Verification.objects.filter(item=item).first(),
        "synthesis.importjob": job,
        "synthesis.chunk": chunk,
        "synthesis.generationfailure": failure,
        "review.review": review,
        "review.itemrevision": ItemRevision.objects.get(pk=revision.pk),
        "review.assignment": Assignment.objects.get(item=item, reviewer=reviewer),
        "review.export": export,
        "review.reviewerprofile": ReviewerProfile.objects.create(user=other),
        "auth.user": other,
        "auth.group": Group.objects.get(name="reviewer"),
        "knox.authtoken": AuthToken.objects.create(user=other)[0],
        "axes.accessattempt": AccessAttempt.objects.create(
            username="bob", ip_address="10.0.0.1", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(
            username="bob", ip_address="10.0.0.1"
        ),
        "axes.accessfailurelog": AccessFailureLog.objects.create(
            username="bob", ip_address="10.0.0.1"
        ),
    }
    return World(
        reviewer, other, admin, batch, item, figure, figure.document, export, job,
        objects,
    )  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """Statuses per method, in `PERSONAS` order; `kwargs` fills the URL."""

    methods: dict[str, tuple[int, int, int, int]]
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    # What a method the view does not take gets (Django's own views may differ).
    other_methods: int = 405


def _item(w: World) -> dict[str, Any]:
    return {"pk": w.item.pk}


def _batch(w: World) -> dict[str, Any]:
    return {"pk": w.batch.pk}


def _export(w: World) -> dict[str, Any]:
    return {"pk": w.export.pk}


def _run(w: World) -> dict[str, Any]:
    return {"pk": w.objects["evaluation.run"].pk}


ADMIN_PAGE = (LOGIN, 403, 403, 200)
ADMIN_FORM_POST = (LOGIN, 403, 403, 200)  # an empty form comes back with errors
ADMIN_API = (403, 403, 403, 200)
ADMIN_API_POST = (403, 403, 403, 400)
EVERYONE = (200, 200, 200, 200)
NOWHERE = (404, 404, 404, 404)
SIGNED_IN = (LOGIN, 200, 200, 200)

PAGES: dict[str, Entry] = {
    "home": Entry({"GET": SIGNED_IN}),
    "healthz": Entry({"GET": EVERYONE}),
    "login": Entry({"GET": EVERYONE, "POST": EVERYONE}),
    "favicon": Entry({"GET": (301, 301, 301, 301)}),
    "logout": Entry({"POST": (302, 302, 302, 302)}),
    "password_change": Entry({"GET": SIGNED_IN, "POST": SIGNED_IN}),
    "password_change_done": Entry({"GET": SIGNED_IN}),
    # No mail is configured in tests: the reset form is not offered.
    "password_reset": Entry({"GET": NOWHERE, "POST": NOWHERE}),
    "password_reset_done": Entry({"GET": EVERYONE}),
    "password_reset_confirm": Entry(
        {"GET": EVERYONE, "POST": EVERYONE},
        lambda w: {"uidb64": "MQ", "token": "set-password"},
        other_methods=200,  # Django's view shows "invalid link" for any method
    ),
    "password_reset_complete": Entry({"GET": EVERYONE}),
    # Account pages: API tokens for oneself (admins: for anyone); the audit log.
    "accounts:tokens": Entry({"GET": SIGNED_IN, "POST": (LOGIN, 400, 400, 400)}),
    "accounts:revoke": Entry({"POST": (LOGIN, 302, 302, 302)}),
    "audit:events": Entry({"GET": ADMIN_PAGE}),
    # The API contract and its docs page: for anyone signed in.
    "api-schema": Entry({"GET": (403, 200, 200, 200)}),
    "api-docs": Entry({"GET": (403, 200, 200, 200)}),
    # Importing: admins only.
    "imports:upload": Entry({"GET": ADMIN_PAGE, "POST": ADMIN_FORM_POST}),
    "imports:job": Entry({"GET": ADMIN_PAGE}, lambda w: {"pk": w.job.pk}),
    "imports:figure-image": Entry({"GET": ADMIN_PAGE}, lambda w: {"pk": w.figure.pk}),
    "imports-api:list": Entry({"GET": ADMIN_API, "POST": ADMIN_API_POST}),
    "imports-api:detail": Entry({"GET": ADMIN_API}, lambda w: {"pk": w.job.pk}),
    # Exports: admins only.
    "exports:list": Entry({"GET": ADMIN_PAGE, "POST": ADMIN_FORM_POST}),
    "exports:detail": Entry({"GET": ADMIN_PAGE}, _export),
    "exports:preview": Entry({"POST": ADMIN_FORM_POST}),
    "exports:archive": Entry({"GET": ADMIN_PAGE}, _export),
    "exports:file": Entry(
        {"GET": ADMIN_PAGE}, lambda w: {"pk": w.export.pk, "path": "manifest.json"}
    ),
    "exports:api-list": Entry({"GET": ADMIN_API, "POST": ADMIN_API_POST}),
    "exports:api-detail": Entry({"GET": ADMIN_API}, _export),
    "exports:api-preview": Entry({"POST": ADMIN_API_POST}),
    # Quality and adjudication: admins; an item's reviews: its reviewers, blind.
    "quality:dashboard": Entry({"GET": ADMIN_PAGE}),
    "quality:adjudication_queue": Entry({"GET": ADMIN_PAGE}),
    "quality:plan_audit": Entry({"POST": (LOGIN, 403, 403, 302)}),
    "quality:adjudication_item": Entry({"GET": ADMIN_PAGE}, _item),
    "quality:settle": Entry({"POST": (LOGIN, 403, 403, 400)}, _item),
    "quality:adopt": Entry(
        {"POST": (LOGIN, 403, 403, 400)},
        lambda w: {"pk": w.item.pk, "proposal_id": w.objects["review.editproposal"].pk},
    ),
    "quality:merge": Entry({"POST": (LOGIN, 403, 403, 400)}, _item),
    "quality:overlap": Entry(
        {"GET": ADMIN_PAGE, "POST": ADMIN_FORM_POST}, lambda w: {"batch_id": w.batch.pk}
    ),
    "quality:api_item_reviews": Entry({"GET": (403, 200, 404, 200)}, _item),
    "quality:api": Entry({"GET": ADMIN_API}, lambda w: {"batch": "all"}),
    # Evaluation: admins only.
    "evaluation:home": Entry({"GET": ADMIN_PAGE}),
    "evaluation:launch": Entry({"GET": ADMIN_PAGE, "POST": ADMIN_FORM_POST}),
    "evaluation:run": Entry({"GET": ADMIN_PAGE}, _run),
    "evaluation:cancel": Entry({"POST": (LOGIN, 403, 403, 302)}, _run),
    "evaluation:resume": Entry({"POST": (LOGIN, 403, 403, 302)}, _run),
    "evaluation:compare": Entry({"GET": ADMIN_PAGE}),
    "evaluation:image": Entry(
        {"GET": ADMIN_PAGE}, lambda w: {"pk": w.objects["evaluation.image"].pk}
    ),
    "evaluation:api-runs": Entry({"GET": ADMIN_API, "POST": ADMIN_API_POST}),
    "evaluation:api-run": Entry({"GET": ADMIN_API}, _run),
    "evaluation:api-compare": Entry({"GET": ADMIN_API_POST}),
    # Batches: admins only.
    "synthesis:batch_list": Entry({"GET": ADMIN_PAGE}),
    "synthesis:batch_launch": Entry({"GET": ADMIN_PAGE, "POST": ADMIN_FORM_POST}),
    "synthesis:batch_launch_match": Entry({"GET": ADMIN_PAGE}),
    "synthesis:batch_detail": Entry({"GET": ADMIN_PAGE}, _batch),
    "synthesis:batch_cancel": Entry({"POST": (LOGIN, 403, 403, 302)}, _batch),
    "synthesis:batch_resume": Entry({"POST": (LOGIN, 403, 403, 302)}, _batch),
    # An empty re-run form comes back with its errors (400 without htmx).
    "synthesis:batch_reruns": Entry(
        {"GET": ADMIN_PAGE, "POST": (LOGIN, 403, 403, 400)}, _batch
    ),
    "synthesis:api_batches": Entry({"GET": ADMIN_API, "POST": ADMIN_API_POST}),
    "synthesis:api_batch": Entry({"GET": ADMIN_API}, _batch),
    "synthesis:api_batch_reruns": Entry(
        {"GET": ADMIN_API, "POST": ADMIN_API_POST}, _batch
    ),
    # The item browser: admins every item; a reviewer the items they decided
    # (dora decided nothing, so the world's item is not there for her).
    "items:list": Entry({"GET": SIGNED_IN}),
    "items:detail": Entry({"GET": (LOGIN, 200, 404, 200)}, _item),
    "items:failures": Entry({"GET": ADMIN_PAGE}),
    # An empty bulk form changes nothing and goes back to the list with a message.
    "items:bulk": Entry({"POST": (LOGIN, 403, 403, 302)}),
    "items:api-list": Entry({"GET": (403, 200, 200, 200)}),
    # Review: reviewers on the items handed to them; admins on every item.
    "review:next": Entry({"GET": SIGNED_IN}),
    "review:upcoming": Entry({"GET": SIGNED_IN}),
    # Each reviewer's latest decision is undone (back to the item); the admin
    # has none to undo.
    "review:undo": Entry({"POST": (LOGIN, 302, 302, 200)}),
    "review:item": Entry({"GET": (LOGIN, 200, 404, 200)}, _item),
    "review:decide": Entry({"POST": (LOGIN, 422, 404, 422)}, _item),
    "review:edit": Entry({"POST": (LOGIN, 422, 404, 422)}, _item),
    "review:figure_image": Entry(
        {"GET": (LOGIN, 200, 404, 200)}, lambda w: {"pk": w.figure.pk}
    ),
    "review:batch_policy": Entry({"GET": ADMIN_PAGE, "POST": ADMIN_FORM_POST}, _batch),
    # The world's item is already decided: every queue is empty.
    "review:api_next": Entry({"GET": (403, 204, 204, 204)}),
    "review:api_item": Entry({"GET": (403, 200, 404, 200)}, _item),
    "review:api_decide": Entry({"POST": (403, 400, 404, 400)}, _item),
    "review:api_revisions": Entry({"GET": (403, 200, 404, 200)}, _item),
}

# Django admin, per registered model: what the admin group may do there.
# "read": read-only for everyone; "metadata": read and change, never add or
# delete; "manage": read, add and change; "accounts": like "manage", with a
# password page; "operators": nothing (superusers only).
ADMIN_MODELS: dict[str, str] = {
    "synthesis.document": "metadata",
    "synthesis.figure": "metadata",
    "synthesis.batch": "read",
    "synthesis.item": "read",
    "synthesis.verification": "read",
    "synthesis.importjob": "read",
    "synthesis.chunk": "read",
    "synthesis.generationfailure": "read",
    "review.review": "read",
    "review.itemrevision": "read",
    "review.assignment": "read",
    "review.export": "read",
    "review.reviewerprofile": "manage",
    "auth.user": "accounts",
    "auth.group": "read",
    # Login protection and API token records: operators (superusers) only.
    "knox.authtoken": "operators",
    "axes.accessattempt": "operators",
    "axes.accesslog": "operators",
    "axes.accessfailurelog": "operators",
}
# Staff-only pages: non-staff and anonymous users go to the admin login.
ADMIN_SITE_PAGES = {
    "admin:index": 200,
    "admin:password_change": 200,
    "admin:password_change_done": 200,
    "admin:jsi18n": 200,
}


def _url_names() -> Iterator[tuple[str, str]]:
    def walk(patterns: list, namespace: str) -> Iterator[tuple[str, str]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or ""
                full = f"{namespace}:{inner}" if namespace and inner else inner
                yield from walk(pattern.url_patterns, full or namespace)
            elif isinstance(pattern, URLPattern):
                # Unnamed patterns (admin's catch-all redirects) read as "?".
                label = pattern.name or "?"
                yield (
                    (f"{namespace}:{label}" if namespace else label),
                    str(pattern.pattern),
                )

    yield from walk(get_resolver().url_patterns, "")


def _admin_model_entries() -> dict[str, tuple[str, str]]:
    """admin URL name -> (model key, view kind) for every registered model."""
    from django.contrib import admin

    found = {}
    for model in admin.site._registry:
        key = f"{model._meta.app_label}.{model._meta.model_name}"
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for kind in ("changelist", "add", "change", "delete", "history"):
            found[f"{prefix}_{kind}"] = (key, kind)
        if key == "auth.user":
            found[f"{prefix}_password_change"] = (key, "password")
    return found


# Admin URLs that are plumbing, not pages: each is declared with its reason.
ADMIN_PLUMBING = {
    "admin:login": "the admin login form (anyone may see it)",
    "admin:logout": "POST-only logout",
    "admin:autocomplete": "JSON for autocomplete widgets, staff only",
    "admin:view_on_site": "redirect to an object's public URL; no model has one",
    "admin:app_list": "per-app index, staff only",
    "admin:?": "the catch-all that redirects unknown admin URLs",
}


def test_every_url_has_an_entry():
    names = {name for name, _ in _url_names()}
    declared = (
        set(PAGES)
        | set(_admin_model_entries())
        | set(ADMIN_SITE_PAGES)
        | set(ADMIN_PLUMBING)
    )
    # Every admin model URL must belong to a model with a declared policy.
    unknown_models = {
        key for key, _ in _admin_model_entries().values() if key not in ADMIN_MODELS
    }
    assert not unknown_models, f"no ADMIN_MODELS entry for {sorted(unknown_models)}"
    missing = sorted(names - declared)
    assert not missing, f"URLs without an entry in the authorization matrix: {missing}"
    stale = sorted(set(PAGES) - names)
    assert not stale, f"matrix entries for URLs that no longer exist: {stale}"


def _client(world: World, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(getattr(world, persona))
    return client


def _request(client: Client, method: str, url: str):
    return getattr(client, method.lower())(url)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_persona_gets_the_declared_status(world, name):
    entry = PAGES[name]
    url = reverse(name, kwargs=entry.kwargs(world))
    got: dict[str, dict[str, int]] = {}
    want: dict[str, dict[str, int]] = {}
    for method, statuses in entry.methods.items():
        for persona, status in zip(PERSONAS, statuses, strict=True):
            response = _request(_client(world, persona), method, url)
            got.setdefault(method, {})[persona] = response.status_code
            want.setdefault(method, {})[persona] = status
            if persona == "anonymous" and status == LOGIN and name != "logout":
                assert "/login/" in response["Location"], f"{name} sends to login"
    assert got == want, f"{name} ({url})"
    # A method the view does not take is refused, even for an admin.
    refused = _client(world, "admin").delete(url).status_code
    assert refused == entry.other_methods, f"DELETE {name}"


def _admin_expectation(policy: str, kind: str, method: str) -> int:
    if policy == "operators":
        return 403
    readable = kind in {"changelist", "change", "history"}
    if method == "GET":
        if readable:
            return 200
        if kind in {"add", "password"}:
            return 200 if policy in {"manage", "accounts"} else 403
        return 403  # delete
    # POST: the change form saves only for "metadata" and "manage" models (an
    # empty form comes back with errors: 200); a read-only one refuses.
    if kind == "change":
        return 200 if policy in {"metadata", "manage", "accounts"} else 403
    if kind == "add":
        return 200 if policy in {"manage", "accounts"} else 403
    if kind == "delete":
        return 403
    return 200 if policy == "accounts" else 403  # password


@pytest.mark.parametrize(("name", "spec"), sorted(_admin_model_entries().items()))
def test_django_admin_follows_the_declared_model_policy(world, name, spec):
    key, kind = spec
    policy = ADMIN_MODELS[key]
    target = world.objects[key]
    kwargs = {} if kind in {"changelist", "add"} else {"object_id": target.pk}
    if kind == "password":
        kwargs = {"id": target.pk}
    url = reverse(name, kwargs=kwargs)
    for persona in ("anonymous", "reviewer"):
        response = _client(world, persona).get(url)
        assert response.status_code == 302, f"{persona} GET {name}"
        assert "/admin/login/" in response["Location"]
    admin = _client(world, "admin")
    methods = ["GET"] if kind in {"changelist", "history"} else ["GET", "POST"]
    for method in methods:
        status = _request(admin, method, url).status_code
        expected = _admin_expectation(policy, kind, method)
        assert status == expected, f"admin {method} {name}: {status} != {expected}"


@pytest.mark.parametrize(("name", "status"), sorted(ADMIN_SITE_PAGES.items()))
def test_admin_site_pages_are_for_staff(world, name, status):
    url = reverse(name)
    for persona in ("anonymous", "reviewer", "other_reviewer"):
        response = _client(world, persona).get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert _client(world, "admin").get(url).status_code == status


def test_a_medsyn_admin_sees_no_operator_account(world):
    operator = get_user_model().objects.create_superuser("root", "", "x-pass-12345")
    url = reverse("admin:auth_user_change", kwargs={"object_id": operator.pk})
    assert _client(world, "admin").get(url).status_code == 302  # "does not exist"
    assert Document.objects.exists()
