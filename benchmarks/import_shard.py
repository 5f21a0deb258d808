"""Import throughput and memory for a webdataset shard.

    .venv/bin/python benchmarks/import_shard.py [--figures 2000] [--scale 4]

Builds a shard of N figures (JPEG + Biomedica-style JSON) and one `scale`
times larger, then, each in a fresh process:

* raw: stream the tar and verify + decode each image with Pillow (the floor);
* import: the full importer into a fresh SQLite database and media folder
  (checks, re-encoding, hashing, one transaction per article, file writes).

It prints figures/s and the peak resident memory of each process, before and
after the work, so a flat footprint across shard sizes shows streaming works.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
FIGURES_PER_ARTICLE = 4


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_shard(path: Path, figures: int) -> None:
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w") as archive:
        for index in range(figures):
            small = rng.integers(0, 255, (9, 12, 3), dtype=np.uint8)
            image = Image.fromarray(small).resize((384, 288), Image.Resampling.BILINEAR)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=85)
            article = index // FIGURES_PER_ARTICLE
            image_id = f"img{index}"
            meta = {
                "image_id": image_id,
                "image_set": [
                    {"image_id": image_id, "caption": f"Axial CT, case {index}."}
                ],
                "image_context": {image_id: [f"As shown in Fig. {index % 4 + 1}."]},
                "article_accession_id": f"PMC{9_000_000 + article}",
                "article_title": f"Synthetic article {article}",
                "article_license": "CC BY 4.0",
                "image_primary_label": ["clinical imaging"],
                "image_secondary_label": ["computerized tomography"],
            }
            for suffix, data in (
                ("jpg", buffer.getvalue()),
                ("json", json.dumps(meta).encode()),
            ):
                info = tarfile.TarInfo(f"{index:08d}.{suffix}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))


def run_raw(shard: Path) -> dict:
    before = peak_rss_mib()
    start = time.perf_counter()
    count = 0
    with tarfile.open(shard, "r|") as archive:
        while (member := archive.next()) is not None:
            archive.members.clear()  # as the importer does: keep no headers
            if not member.name.endswith(".jpg"):
                continue
            data = archive.extractfile(member).read()
            Image.open(io.BytesIO(data)).verify()
            Image.open(io.BytesIO(data)).load()
            count += 1
    seconds = time.perf_counter() - start
    return {"figures": count, "seconds": seconds, "rss_before": before}


def run_import(shard: Path, workdir: Path) -> dict:
    os.environ.pop("DATABASE_URL", None)
    os.environ["MEDSYN_VAR_DIR"] = str(workdir / "var")
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DEBUG"] = "0"  # DEBUG keeps every SQL query in memory
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medsyn_app.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    from synthesis.ingest import importing

    call_command("migrate", verbosity=0)
    before = peak_rss_mib()
    start = time.perf_counter()
    report = importing.import_path(
        path=shard, source_format="webdataset", options=importing.ImportOptions()
    )
    seconds = time.perf_counter() - start
    assert report.figures_created == report.records_seen, report.as_dict()
    return {"figures": report.figures_created, "seconds": seconds, "rss_before": before}


def child(mode: str, shard: Path, workdir: Path) -> dict:
    command = [sys.executable, __file__, "--child", mode, str(shard), str(workdir)]
    # Re-runs this script with fixed arguments; nothing untrusted is passed.
    output = subprocess.run(  # noqa: S603
        command, check=True, capture_output=True, text=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=int, default=2000)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "SHARD", "WORKDIR"))
    args = parser.parse_args()
    if args.child:
        mode, shard, workdir = args.child
        result = (run_raw if mode == "raw" else run_import)(
            Path(shard), *([Path(workdir)] if mode == "import" else [])
        )
        result["rss_peak"] = peak_rss_mib()
        print(json.dumps(result))
        return

    version = sys.version.split()[0]
    print(f"python {version}, Pillow {Image.__version__}, cpus {os.cpu_count()}")
    print(f"{'shard':>8} {'stage':>7} {'figures':>8} {'seconds':>8} {'fig/s':>8}"
          f" {'RSS before':>11} {'RSS peak':>9} {'growth':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for figures in (args.figures, args.figures * args.scale):
            shard = Path(tmp) / f"shard-{figures}.tar"
            build_shard(shard, figures)
            size_mib = shard.stat().st_size / 1024**2
            for mode in ("raw", "import"):
                workdir = Path(tmp) / f"{mode}-{figures}"
                workdir.mkdir()
                r = child(mode, shard, workdir)
                growth = r["rss_peak"] - r["rss_before"]
                print(
                    f"{figures:>8} {mode:>7} {r['figures']:>8} {r['seconds']:>8.2f}"
                    f" {r['figures'] / r['seconds']:>8.0f} {r['rss_before']:>8.0f} MiB"
                    f" {r['rss_peak']:>5.0f} MiB {growth:>3.0f} MiB"
                )
            print(f"{'':>8} (shard of {figures} figures is {size_mib:.0f} MiB on disk)")


if __name__ == "__main__":
    main()
