"""run_export: what goes in, what comes out, and what happens when it fails."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image, ImageFilter

from review.export import services
from review.export.manifest import sha256_file
from review.models import Export, ItemRevision
from synthesis.models import Item
from tests.fixtures.builders import (
    make_accepted_item,
    make_document,
    make_item,
    patterned_png,
)
from tests.integration.review.export.conftest import export_root, run


def _exported_ids(export) -> set[int]:
    root = export_root(export) / "jsonl"
    ids = set()
    for path in root.glob("*.jsonl"):
        ids |= {json.loads(line)["dataset_index"] for line in path.open()}
    return ids


def test_manifest_checksums_match_every_file(admin_user, corpus):
    export = run(admin_user, formats=["hf", "jsonl", "verl", "sft"])
    root = export_root(export)
    listed = {f["path"]: f for f in export.manifest["files"]}
    on_disk = {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
    } - {"manifest.json"}
    assert set(listed) == on_disk
    for path, entry in listed.items():
        assert sha256_file(root / path) == entry["sha256"]
        assert (root / path).stat().st_size == entry["bytes"]
    written = json.loads((root / "manifest.json").read_text())
    assert written == export.manifest
    counts = export.manifest["counts"]
    assert sum(counts["rows"].values()) == len(corpus)
    assert sum(counts["modality"]["total"].values()) == len(corpus)
    assert export.manifest["reviewers"]["reviewers"] == 2
    assert export.manifest["batches"][0]["name"] == "Export batch"


def test_card_has_yaml_header_and_attribution_per_paper(admin_user, corpus):
    export = run(admin_user)
    card = (export_root(export) / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-4.0\n")
    assert "  - split: train\n    path: data/train-*.parquet" in card
    for source_id in export.manifest["splits"]["train"]["source_ids"]:
        assert f"| {source_id} |" in card
    # Paper titles are third-party text: a pipe must not break the table.
    assert "Paper 3 \\| a title" in card
    assert "CC BY 4.0" in card


def test_noncommercial_papers_are_left_out_unless_asked(admin_user, corpus):
    nc = make_accepted_item(
        document=make_document("PMC200000", license_family="cc-by-nc")
    )
    default = run(admin_user, name="Default")
    assert nc.pk not in _exported_ids(default)
    assert default.manifest["selection"]["excluded"] == {"license_family": 1}
    opted_in = run(admin_user, name="With NC", include_noncommercial=True)
    assert nc.pk in _exported_ids(opted_in)


def test_only_accepted_items_in_their_latest_revision_are_exported(admin_user, corpus):
    rejected = make_accepted_item(document="PMC300000")
    Item.objects.filter(pk=rejected.pk).update(status="rejected")
    unreviewed = make_item(figures=corpus[0].figures.all()[:1], status="kept")
    edited = corpus[1]
    ItemRevision.objects.create(
        item=edited,
        author=admin_user,
        version=2,
        before={"question": edited.question},
        after={"question": "Edited: which lobe is affected?"},
    )
    Item.objects.filter(pk=edited.pk).update(
        question="Edited: which lobe is affected?", version=2
    )
    export = run(admin_user, formats=["jsonl"])
    ids = _exported_ids(export)
    assert rejected.pk not in ids and unreviewed.pk not in ids
    rows = [
        json.loads(line)
        for path in (export_root(export) / "jsonl").glob("*.jsonl")
        for line in path.open()
    ]
    row = next(r for r in rows if r["dataset_index"] == edited.pk)
    assert (row["question"], row["item_version"]) == (
        "Edited: which lobe is affected?",
        2,
    )


def test_filters_by_score_modality_and_agreement(admin_user, second_reviewer, corpus):
    split_vote = make_accepted_item(
        document="PMC400000",
        reviewers=[admin_user, second_reviewer],
        decisions=["accept", "reject"],
    )
    export = run(
        admin_user, min_verifier_score=0.7, modalities=["CT", "MR"], min_agreement=0.9
    )
    ids = _exported_ids(export) if export.manifest["settings"]["formats"] else set()
    expected = {
        i.pk
        for i in corpus
        if i.modality in {"CT", "MR"}
        and i.verifications.get().normalized_score >= 0.7
        and i.reviews.count() == 2
    }
    assert expected and ids == expected
    assert split_vote.pk not in ids
    assert export.manifest["selection"]["excluded"]["reviewer_agreement"] >= 1


def test_rebalancing_evens_the_answer_letters(admin_user, corpus):
    Item.objects.update(answer="A")
    export = run(admin_user, rebalance_letters=True)
    counts = export.manifest["counts"]["answer_letter"]["total"]
    assert max(counts.values()) - min(counts.values()) <= 1
    assert export.manifest["selection"]["answer_balance_before"]["counts"]["A"] == 26


def test_same_items_and_seed_give_byte_identical_files(admin_user, corpus):
    fmts = ["hf", "jsonl", "verl", "sft"]
    first = run(admin_user, formats=fmts, seed=9)
    second = run(admin_user, formats=fmts, seed=9)
    assert first.output_dir != second.output_dir
    assert first.manifest["files"] == second.manifest["files"]
    strip = lambda m: {k: v for k, v in m.items() if k != "created_at"}  # noqa: E731
    assert strip(first.manifest) == strip(second.manifest)
    other_seed = run(admin_user, formats=fmts, seed=10)
    assert other_seed.manifest["files"] != first.manifest["files"]


def test_failure_mid_export_leaves_no_output(admin_user, corpus):
    # The last item's image file disappears from storage: rows before it are
    # written, then reading it fails.
    figure = corpus[-3].item_figures.get().figure
    Path(figure.image.path).unlink()
    threads = threading.active_count()
    # Small row groups: shards are open (and being hashed) when the read fails.
    export = run(admin_user, formats=["hf", "jsonl"], row_group_size=2)
    assert export.status == "failed"
    assert "FileNotFoundError" in export.error
    exports_dir = Path(settings.MEDIA_ROOT) / "exports"
    assert list(exports_dir.iterdir()) == []
    assert export.output_dir == ""
    assert threading.active_count() == threads  # no shard hasher left waiting
    # A failed export has no folder: never MEDIA_ROOT, which callers would
    # copy or delete.
    with pytest.raises(services.ExportError, match="has no files"):
        services.export_path(export)


def test_an_image_name_outside_media_root_fails_the_export(admin_user, corpus):
    figure = corpus[0].item_figures.get().figure
    type(figure).objects.filter(pk=figure.pk).update(image="../outside.png")
    export = run(admin_user, formats=["hf"])
    assert export.status == "failed"
    assert "SuspiciousFileOperation: image name outside MEDIA_ROOT" in export.error
    assert list((Path(settings.MEDIA_ROOT) / "exports").iterdir()) == []


def test_running_twice_keeps_the_finished_export(admin_user, corpus):
    export = run(admin_user)
    manifest = export_root(export) / "manifest.json"
    before = manifest.stat().st_mtime_ns
    again = services.run_export(export_id=export.pk)
    assert again.status == "done"
    assert manifest.stat().st_mtime_ns == before
    assert Export.objects.count() == 1


def test_frozen_test_split_survives_new_papers(admin_user, corpus):
    first = run(admin_user, name="v1", ratios=[0.6, 0.2, 0.2])
    frozen = first.manifest["splits"]["test"]["source_ids"]
    assert frozen
    for paper in range(10):
        make_accepted_item(document=f"PMC5{paper:05d}", image_seed=5000 + paper)
    later = run(
        admin_user, name="v2", ratios=[0.6, 0.2, 0.2], freeze_test_from=first.pk
    )
    assert later.manifest["splits"]["test"]["source_ids"] == frozen
    for split in ("train", "validation"):
        old = set(first.manifest["splits"][split]["source_ids"])
        assert old <= set(later.manifest["splits"][split]["source_ids"])


def test_bad_settings_are_refused_before_anything_is_written(admin_user):
    with pytest.raises(services.ExportError, match="add up to 1"):
        services.create_export(
            created_by=admin_user,
            name="x",
            settings={"ratios": [0.5, 0.1, 0.1]},
            enqueue=None,
        )
    with pytest.raises(services.ExportError, match="not a finished export"):
        services.create_export(
            created_by=admin_user,
            name="x",
            settings={"freeze_test_from": 999},
            enqueue=None,
        )
    assert not Export.objects.exists()


def _blurred_jpeg(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.filter(ImageFilter.GaussianBlur(0.6)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _smooth_png(seed: int) -> bytes:
    # Smooth content, like a real figure: its dHash survives recompression.
    with Image.open(io.BytesIO(patterned_png(seed, size=(8, 8)))) as small:
        out = io.BytesIO()
        small.resize((96, 96), Image.Resampling.BILINEAR).save(out, "PNG")
    return out.getvalue()


def test_contamination_check_flags_planted_duplicates(admin_user, corpus, tmp_path):
    from tests.fixtures.builders import make_image_figure

    text_dup = corpus[4]
    Item.objects.filter(pk=text_dup.pk).update(
        question="What does the contrast-enhanced CT at 3 months show in the liver?"
    )
    image_data = _smooth_png(4242)
    image_item = make_accepted_item(
        document="PMC600000",
        figures=[make_image_figure(make_document("PMC600000"), data=image_data)],
        question="A question nobody benchmarked about kidney ultrasound findings.",
    )
    (tmp_path / "eval.png").write_bytes(_blurred_jpeg(image_data))
    (tmp_path / "other.png").write_bytes(_smooth_png(77))
    eval_rows = [
        {
            "question": "what does the contrast enhanced CT at 6 months show in the "
            "liver",
            "options": json.dumps(text_dup.options),
            "images": ["other.png"],
        },
        {"question": "Unrelated staining question?", "images": ["eval.png"]},
    ]
    eval_path = tmp_path / "bench.jsonl"
    eval_path.write_text("\n".join(json.dumps(r) for r in eval_rows) + "\n")

    flagged = run(admin_user, name="flag", eval_set_path=str(eval_path))
    report = flagged.manifest["contamination"]
    pairs = {(p["item_id"], p["kind"], p["eval_index"]) for p in report["pairs"]}
    assert pairs == {(text_dup.pk, "text", 0), (image_item.pk, "image", 1)}
    assert report["flagged_items"] == 2 and not report["excluded"]
    assert {text_dup.pk, image_item.pk} <= _exported_ids(flagged)

    dropped = run(
        admin_user, name="drop", eval_set_path=str(eval_path), exclude_contaminated=True
    )
    assert not {text_dup.pk, image_item.pk} & _exported_ids(dropped)
    assert dropped.item_count == flagged.item_count - 2


def test_unreadable_eval_set_fails_the_export_with_a_clear_error(
    admin_user, corpus, tmp_path
):
    bench = tmp_path / "bench.jsonl"
    bench.write_text('{"question": "fine"}\n{not json\n')
    export = run(admin_user, eval_set_path=str(bench))
    assert export.status == "failed"
    assert "EvalSetError: bench.jsonl line 2" in export.error
    assert list((Path(settings.MEDIA_ROOT) / "exports").iterdir()) == []


def test_a_killed_run_is_redone_and_its_leftovers_cleared(admin_user, corpus):
    export = services.create_export(
        created_by=admin_user, name="Again", settings={}, enqueue=None
    )
    # As if a worker died mid-export: status running, a temporary folder left.
    Export.objects.filter(pk=export.pk).update(status="running")
    leftover = Path(settings.MEDIA_ROOT) / "exports" / f".tmp-{export.pk}-dead"
    leftover.mkdir(parents=True)
    export = services.run_export(export_id=export.pk)
    assert export.status == "done"
    assert not leftover.exists()
    assert export.item_count == len(corpus)


def test_the_manifest_names_the_endpoints_a_batch_ran_on(admin_user):
    from synthesis import services as synthesis_services
    from tests.fixtures.builders import make_figures
    from tests.fixtures.fake_backends import fake_config

    make_figures(1)
    batch = synthesis_services.launch_batch(
        created_by=admin_user, name="Made", config=fake_config(), enqueue=None
    )
    item = make_accepted_item(document="PMC777777", image_seed=77)
    item.batch = batch
    item.save(update_fields=["batch"])
    export = run(admin_user)
    (made,) = [b for b in export.manifest["batches"] if b["id"] == batch.pk]
    assert made["generator_endpoint"] == "fake-generator"
    assert made["verifier_endpoint"] == "fake-verifier"
    assert made["backend"] == "tests.fixtures.fake_backends:FakeGenerator"
