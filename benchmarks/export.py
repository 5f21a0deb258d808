"""Export throughput: items/s, MB/s and peak memory, 1k vs 10k items.

Builds a throwaway SQLite database and media folder with N accepted items,
each with its own small PNG, then times in fresh child processes (so peak RSS
is per run): the HF parquet export alone, HF parquet + JSONL, and, as the
yardstick, writing the same rows (every column of the HF export) straight to
parquet with pyarrow (`pyarrow`: two queries, read each image file,
ParquetWriter in 256-row groups). `pyarrow-5` is the earlier, narrower
yardstick (images, question, options, answer, index only), kept for
comparison. The last lines print the HF export's time over each yardstick.

Each child starts after `os.sync()` and a pause (`--settle`, 3 s), so no run
pays for writing back, or discarding, the previous run's half gigabyte:
without the pause the direct write of 10k items took anywhere from 0.5 to
1.5 s, by how much kernel work the last run left behind. `cpu s` (user +
system, all threads) is less disturbed than wall time when others share the
machine; `--repeat` runs every mode several times, interleaved, and the
ratios use the medians.
The CPU is printed first: SHA-256 (the manifest's checksums) runs several
times faster on one with SHA extensions.

    .venv/bin/python benchmarks/export.py [--sizes 1000,10000] [--px 128]
        [--repeat N] [--settle 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _django(var_dir: Path) -> None:
    os.environ["MEDSYN_VAR_DIR"] = str(var_dir)
    os.environ["MEDIA_ROOT"] = str(var_dir / "media")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medsyn_app.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def build(var_dir: Path, sizes: list[int], px: int) -> None:
    """N accepted items in batches sized so each size is a set of whole batches."""
    import hashlib
    import io

    import numpy as np
    from django.core.management import call_command
    from PIL import Image

    from synthesis.models import Batch, Document, Figure, Item, ItemFigure

    call_command("migrate", verbosity=0)
    media = Path(os.environ["MEDIA_ROOT"])
    rng = np.random.default_rng(0)
    done = 0
    for size in sizes:
        batch = Batch.objects.create(name=f"bench-{size}")
        docs, figures, items = [], [], []
        for i in range(done, size):
            pixels = rng.integers(0, 256, (px, px, 3), dtype=np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="PNG")
            data = buffer.getvalue()
            sha = hashlib.sha256(data).hexdigest()
            name = f"figures/{sha[:2]}/{sha}.png"
            (media / name).parent.mkdir(parents=True, exist_ok=True)
            (media / name).write_bytes(data)
            docs.append(
                Document(
                    source_id=f"PMC{i:08d}",
                    source_kind="jats",
                    license="CC BY 4.0",
                    license_family="cc-by",
                )
            )
            figures.append(
                Figure(
                    image=name,
                    width=px,
                    height=px,
                    sha256=sha,
                    phash=f"{int(rng.integers(0, 2**63)):016x}",
                    caption="c",
                    group_key=sha[:16],
                    modality=("CT", "MR", "X-Ray")[i % 3],
                    anatomy="Lung",
                )
            )
            items.append(
                Item(
                    batch=batch,
                    group_key=sha[:16],
                    status="accepted",
                    question=f"Question {i}: which finding is shown here?",
                    options={k: f"option {k} {i}" for k in "ABCDE"},
                    answer="ABCDE"[i % 5],
                    modality=("CT", "MR", "X-Ray")[i % 3],
                )
            )
        docs = Document.objects.bulk_create(docs)
        for doc, figure in zip(docs, figures, strict=True):
            figure.document = doc
        figures = Figure.objects.bulk_create(figures)
        items = Item.objects.bulk_create(items)
        ItemFigure.objects.bulk_create(
            ItemFigure(item=it, figure=f, position=0)
            for it, f in zip(items, figures, strict=True)
        )
        done = size


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(var_dir: Path, mode: str, batches: int) -> dict:
    _django(var_dir)
    import pyarrow as pa

    # pyarrow imports pandas on first table build (~1 s): keep it out of timings.
    pa.Table.from_pydict({"warm": [1]})
    from synthesis.models import Batch

    batch_ids = list(Batch.objects.order_by("pk").values_list("pk", flat=True))
    batch_ids = batch_ids[:batches]
    if mode == "pyarrow":
        return _direct(var_dir, batch_ids)
    if mode == "pyarrow-5":
        return _direct_narrow(var_dir, batch_ids)
    from review.export import services

    formats = {"hf": ["hf"], "hf+jsonl": ["hf", "jsonl"]}[mode]
    export = services.create_export(
        created_by=None,
        name=f"bench {mode}",
        enqueue=None,
        settings={"formats": formats, "batch_ids": batch_ids},
    )
    start, cpu = time.perf_counter(), _cpu_s()
    export = services.run_export(export_id=export.pk)
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    assert export.status == "done", export.error
    out_bytes = sum(f["bytes"] for f in export.manifest["files"])
    shutil.rmtree(services.export_path(export))
    return {
        "items": export.item_count,
        "seconds": seconds,
        "cpu": cpu,
        "bytes": out_bytes,
        "peak_rss_mb": _peak_mb(),
    }


def _finished(out: Path, n: int, start: float, cpu: float) -> dict:
    """A yardstick run's figures; its output file is removed."""
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    size = out.stat().st_size
    out.unlink()
    return {
        "items": n,
        "seconds": seconds,
        "cpu": cpu,
        "bytes": size,
        "peak_rss_mb": _peak_mb(),
    }


def _direct(var_dir: Path, batch_ids: list[int]) -> dict:
    """The same rows as the HF export, written straight to parquet with pyarrow.

    Two queries (every column of every item with its figure, paper and latest
    score; review counts), each image file read, ParquetWriter in 256-row
    groups with the export's schema, compression and dictionary columns. No
    filters, splits, manifest, card or checksums: the yardstick is the cost
    of writing these rows at all.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.db.models import Count, OuterRef, Subquery

    from review.export import hf_parquet, parquet_stream
    from review.models import Review
    from synthesis.models import ItemFigure, Verification

    media = Path(os.environ["MEDIA_ROOT"])
    schema = hf_parquet.SCHEMA
    start, cpu = time.perf_counter(), _cpu_s()
    score = Subquery(
        Verification.objects.filter(item=OuterRef("item_id"))
        .order_by("-created_at", "-id")
        .values("normalized_score")[:1]
    )
    reviews = dict(
        Review.objects.current()
        .filter(item__batch_id__in=batch_ids)
        .values("item_id")
        .annotate(n=Count("id"))
        .values_list("item_id", "n")
    )
    rows = (
        ItemFigure.objects.filter(item__batch_id__in=batch_ids)
        .annotate(score=score)
        .order_by("item_id", "position")
        .values_list(
            "item_id",
            "item__question",
            "item__options",
            "item__answer",
            "item__version",
            "item__batch_id",
            "item__modality",
            "item__anatomy",
            "item__question_type",
            "figure__image",
            "figure__sha256",
            "figure__document__source_id",
            "figure__document__license",
            "figure__document__license_family",
            "score",
        )
    )
    out = var_dir / "direct.parquet"
    columns: dict[str, list] = {name: [] for name in schema.names}
    n = 0
    codecs = {
        path: "none" if path.endswith("bytes") else "zstd"
        for path in parquet_stream._leaf_paths(schema)
    }
    writer = pq.ParquetWriter(
        out,
        schema,
        compression=codecs,
        use_dictionary=hf_parquet._DICTIONARY,
        write_statistics=False,
    )
    for row in rows.iterator(2000):
        item_id, question, options, answer, version, batch, modality = row[:7]
        anatomy, qtype, image, sha, source, license_text, family, score = row[7:]
        data = (media / image).read_bytes()
        values = {
            "images": [{"bytes": data, "path": f"{sha}.png"}],
            "question": question,
            "options": json.dumps(options, ensure_ascii=False),
            "answer_label": answer,
            "answer": options.get(answer, ""),
            "dataset_name": "direct",
            "dataset_index": item_id,
            "item_version": version,
            "batch_id": batch,
            "source_ids": [source],
            "licenses": [license_text],
            "license_families": [family],
            "image_sha256": [sha],
            "modality": modality,
            "anatomy": anatomy,
            "question_type": qtype,
            "verifier_score": score,
            "review_decision": "",
            "reviews": reviews.get(item_id, 0),
            "reviewer_agreement": None,
        }
        for name, value in values.items():
            columns[name].append(value)
        n += 1
        if n % 256 == 0:
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            columns = {name: [] for name in schema.names}
    if columns["question"]:
        writer.write_table(pa.Table.from_pydict(columns, schema=schema))
    writer.close()
    return _finished(out, n, start, cpu)


def _direct_narrow(var_dir: Path, batch_ids: list[int]) -> dict:
    """The earlier yardstick: only images, question, options, answer, index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synthesis.models import ItemFigure

    media = Path(os.environ["MEDIA_ROOT"])
    schema = pa.schema(
        [
            (
                "images",
                pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
            ),
            ("question", pa.string()),
            ("options", pa.string()),
            ("answer_label", pa.string()),
            ("dataset_index", pa.int64()),
        ]
    )
    start, cpu = time.perf_counter(), _cpu_s()
    rows = (
        ItemFigure.objects.filter(item__batch_id__in=batch_ids)
        .order_by("item_id")
        .values_list(
            "item_id",
            "item__question",
            "item__options",
            "item__answer",
            "figure__image",
        )
    )
    out = var_dir / "direct.parquet"
    buffer, n = [], 0
    codecs = {"images.list.element.bytes": "none", "images.list.element.path": "zstd"}
    codecs |= dict.fromkeys(["question", "options", "answer_label"], "zstd")
    codecs["dataset_index"] = "zstd"
    with pq.ParquetWriter(out, schema, compression=codecs, use_dictionary=False) as w:
        for item_id, question, options, answer, image in rows.iterator(2000):
            data = (media / image).read_bytes()
            buffer.append(
                {
                    "images": [{"bytes": data, "path": image}],
                    "question": question,
                    "options": json.dumps(options),
                    "answer_label": answer,
                    "dataset_index": item_id,
                }
            )
            n += 1
            if len(buffer) == 256:
                w.write_table(pa.Table.from_pylist(buffer, schema=schema))
                buffer = []
        if buffer:
            w.write_table(pa.Table.from_pylist(buffer, schema=schema))
    return _finished(out, n, start, cpu)


def _cpu() -> str:
    info = Path("/proc/cpuinfo")
    text = info.read_text() if info.exists() else ""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if "model name" in line
        ),
        "unknown CPU",
    )
    sha = "with" if " sha_ni" in text else "without"
    return f"{model}, {os.cpu_count()} cores, {sha} SHA extensions"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--px", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--child", nargs=3, metavar=("VAR", "MODE", "BATCHES"))
    args = parser.parse_args()
    if args.child:
        var, mode, batches = args.child
        print(json.dumps(child(Path(var), mode, int(batches))))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    var_dir = Path(tempfile.mkdtemp(prefix="medsyn-bench-"))
    try:
        start = time.perf_counter()
        _django(var_dir)
        build(var_dir, sizes, args.px)
        print(_cpu())
        print(
            f"built {sizes[-1]} items with {args.px}px PNGs "
            f"in {time.perf_counter() - start:.1f}s"
        )
        header = f"{'mode':<10}{'items':>7}{'s':>8}{'cpu s':>8}{'items/s':>9}"
        print(header + f"{'MB/s':>8}{'out MB':>8}{'peak RSS MB':>13}")
        modes = ("pyarrow", "pyarrow-5", "hf", "hf+jsonl") * args.repeat
        seconds: dict[tuple[int, str], list[float]] = {}
        for batches, size in enumerate(sizes, start=1):
            for mode in modes:
                os.sync()
                time.sleep(args.settle)
                result = subprocess.run(  # noqa: S603 - our own script
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        str(var_dir),
                        mode,
                        str(batches),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                    env=os.environ,
                )
                if result.returncode:
                    raise SystemExit(f"{mode} run failed:\n{result.stderr[-3000:]}")
                r = json.loads(result.stdout.strip().splitlines()[-1])
                seconds.setdefault((size, mode), []).append(r["seconds"])
                mb = r["bytes"] / 1e6
                print(
                    f"{mode:<10}{r['items']:>7}{r['seconds']:>8.2f}{r['cpu']:>8.2f}"
                    f"{r['items'] / r['seconds']:>9.0f}{mb / r['seconds']:>8.1f}"
                    f"{mb:>8.1f}{r['peak_rss_mb']:>13.0f}"
                )
        for (size, mode), runs in seconds.items():
            print(f"median {mode:<10}{size:>7}{statistics.median(runs):>8.2f}")
        for size in sizes:
            hf = statistics.median(seconds[size, "hf"])
            same = hf / statistics.median(seconds[size, "pyarrow"])
            narrow = hf / statistics.median(seconds[size, "pyarrow-5"])
            print(
                f"{size} items: hf / pyarrow (same rows) = {same:.2f}x, "
                f"hf / pyarrow-5 (narrow) = {narrow:.2f}x (medians)"
            )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
