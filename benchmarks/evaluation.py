"""Evaluation and contamination figures (issue 18), printed, not asserted.

1. Orchestration overhead per evaluated item: whole slices (image loading and
   sizing, prompt, HTTP to a zero-latency local OpenAI-compatible server,
   grading, database writes) through the real `openai_compat` runtime.
   Target: at most 5 ms per item.
2. Sentence-embedding throughput on this CPU (texts per second, batched).
   Target: at least 50.
3. 10,000 exported items against 20,000 registered benchmark items by meaning,
   with cached embeddings: cache reads, then block cosine. Target: at most
   10 s, memory flat (compared in blocks).
4. Text and image contamination checks before (hand-written dHash, MinHash
   and difflib: `--before FILE`, the old module, e.g. from
   `git show f144464:review/export/contamination.py`) and after (imagehash,
   datasketch, rapidfuzz), on the same texts and images.

    .venv/bin/python benchmarks/evaluation.py --before /tmp/old_contamination.py
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = [
    "lesion",
    "opacity",
    "nodule",
    "mass",
    "effusion",
    "consolidation",
    "fracture",
    "lobe",
    "artery",
    "vein",
    "cortex",
    "medulla",
    "gland",
    "duct",
    "stenosis",
    "aneurysm",
    "hemorrhage",
    "infarct",
    "edema",
    "cyst",
    "abscess",
    "tumour",
    "carcinoma",
    "lymphoma",
    "sarcoma",
    "biopsy",
    "stain",
    "nucleus",
    "mitosis",
    "fibrosis",
    "necrosis",
    "calcification",
    "enhancement",
    "signal",
    "contrast",
    "axial",
    "coronal",
    "sagittal",
    "left",
    "right",
    "upper",
    "lower",
    "anterior",
    "posterior",
    "medial",
    "lateral",
    "proximal",
    "distal",
    "chest",
    "abdomen",
    "pelvis",
    "brain",
    "spine",
    "knee",
    "liver",
    "kidney",
    "lung",
    "heart",
]


def _setup(tmp: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


def _question(rng: random.Random) -> tuple[str, dict[str, str]]:
    stem = " ".join(rng.choice(WORDS) for _ in range(rng.randint(9, 16)))
    options = {
        letter: " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        for letter in "ABCDE"
    }
    return f"Which {stem}?", options


def _png(seed: int, size: int = 64) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((size, size), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# -- 1. orchestration overhead -------------------------------------------------


class _Stub(BaseHTTPRequestHandler):
    # Keep-alive and no Nagle: otherwise each request waits ~40 ms on delayed
    # ACKs and the figure measures TCP, not the orchestration.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    body = json.dumps(
        {
            "choices": [
                {
                    "message": {"content": "<think>x</think><answer>A</answer>"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 8},
        }
    ).encode()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        return


def orchestration(items: int, chunk: int) -> None:
    from django.test import override_settings

    from review.evalsets import services as evalsets
    from review.evaluation import services

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoints = {
        "stub": {
            "runtime": "openai_compat",
            "base_url": f"http://127.0.0.1:{server.server_port}/v1",
            "model": "stub",
            "roles": ["evaluation", "generator", "verifier"],
            "concurrency": 16,
        }
    }
    rng = random.Random(1)
    new_items = []
    for i in range(items):
        question, options = _question(rng)
        image = evalsets.store_image(_png(10_000 + i))
        new_items.append(
            evalsets.NewItem(question, options, "ABCDE"[i % 5], (image,), "pmc_vqa")
        )
    evaluation_set = evalsets.store_set(
        name=f"overhead-{items}", kind="benchmark", split="test", items=new_items
    )
    with override_settings(
        MEDSYN_ENDPOINTS=endpoints,
        MEDSYN_GENERATOR_ENDPOINT="stub",
        MEDSYN_VERIFIER_ENDPOINT="stub",
    ):
        run = services.launch_run(
            created_by=None,
            name="overhead",
            evaluation_set_id=evaluation_set.pk,
            config={"endpoint": "stub", "chunk_size": chunk},
            enqueue=None,
        )
        pending = services.pending_item_ids(run)
        # Warm: the client, its connection pool, the first queries.
        services.evaluate_items(run_id=run.pk, item_ids=pending[:chunk])
        start = time.perf_counter()
        for i in range(chunk, len(pending), chunk):
            services.evaluate_items(run_id=run.pk, item_ids=pending[i : i + chunk])
        elapsed = time.perf_counter() - start
    server.shutdown()
    run.refresh_from_db()
    timed = len(pending) - chunk
    print(
        f"  {timed} items in slices of {chunk}: {elapsed:.2f} s, "
        f"{1000 * elapsed / timed:.2f} ms per item "
        f"(status {run.status}, {run.items_done} predictions)"
    )


# -- 2. embedding throughput ----------------------------------------------------


def embedding_throughput(texts: int) -> None:
    from review.evalsets import embeddings

    rng = random.Random(2)
    batch = [embeddings.embedding_text(*_question(rng)) for _ in range(texts)]
    start = time.perf_counter()
    embeddings.encode(batch[:8])
    print(f"  model load + first batch: {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    vectors = embeddings.encode(batch)
    elapsed = time.perf_counter() - start
    print(
        f"  {texts} texts (batch {embeddings.BATCH_SIZE}): {elapsed:.2f} s, "
        f"{texts / elapsed:.0f} texts/s, {vectors.shape[1]} dimensions"
    )


# -- 3. semantic comparison at scale -------------------------------------------


def semantic_scale(exported: int, registered: int) -> None:
    import numpy as np

    from review.evalsets import embeddings
    from review.evalsets.models import TextEmbedding
    from review.export import semantic

    rng = np.random.default_rng(3)

    def cached(prefix: str, n: int, near: np.ndarray | None = None) -> list[str]:
        texts = [f"{prefix} {i}" for i in range(n)]
        vectors = rng.standard_normal((n, embeddings.DIMENSIONS)).astype(np.float32)
        if near is not None:
            # Planted near-copies of the first benchmark items.
            vectors[: len(near)] = near + 0.01 * vectors[: len(near)]
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        TextEmbedding.objects.bulk_create(
            [
                TextEmbedding(
                    model=embeddings.MODEL_NAME,
                    text_sha256=embeddings.text_key(t),
                    vector=v.astype("<f4").tobytes(),
                )
                for t, v in zip(texts, vectors, strict=True)
            ],
            batch_size=2000,
        )
        return texts, vectors

    reference_texts, reference_vectors = cached("benchmark", registered)
    reference_keys = [embeddings.text_key(t) for t in reference_texts]
    queries_texts, _ = cached("exported", exported, near=reference_vectors[:100])
    for n in (exported // 4, exported):
        tracemalloc.start()
        start = time.perf_counter()
        queries = embeddings.embed_cached(queries_texts[:n])
        references = embeddings.stored_matrix(reference_keys)
        read = time.perf_counter() - start
        found = sum(
            1 for _ in semantic.similar_pairs(queries, references, threshold=0.88)
        )
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"  {n} exported x {registered} registered: {elapsed:.2f} s "
            f"({read:.2f} s reading cached vectors, "
            f"{elapsed - read:.2f} s cosine in blocks of {semantic.BLOCK}), "
            f"{found} pairs >= 0.88 (100 planted), "
            f"peak traced memory {peak / 2**20:.0f} MiB"
        )


# -- 4. text and image checks, before and after ---------------------------------


def _load(path: Path):
    spec = importlib.util.spec_from_file_location("contamination_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def contamination(exported: int, registered: int, before: Path | None) -> None:
    from review.export import contamination as after

    rng = random.Random(4)
    refs = [_question(rng) for _ in range(registered)]
    queries = [_question(rng) for _ in range(exported - 100)]
    # 100 near-duplicates: one word changed, number changed, punctuation.
    for question, options in refs[:100]:
        queries.append((question.replace("?", " 12 ?", 1), options))
    images = 2000
    image_bytes = [_png(50_000 + i) for i in range(images)]

    def run(name: str, module, *, hashed: bool) -> None:
        start = time.perf_counter()
        index = module.EvalIndex(ngram=3, jaccard=0.5)
        for question, options in refs:
            index.add(question, options, [])
        built = time.perf_counter() - start
        start = time.perf_counter()
        found = sum(bool(index.text_matches(q, o, ratio=0.9)) for q, o in queries)
        text_s = time.perf_counter() - start
        start = time.perf_counter()
        if hashed:
            phashes = [after.image_phash(b) for b in image_bytes]
        else:
            phashes = [module.image_dhash(b) for b in image_bytes]
        hash_s = time.perf_counter() - start
        start = time.perf_counter()
        if hashed:
            image_index = after.EvalIndex(ngram=3, jaccard=0.5)
            for i, h in enumerate(phashes):
                image_index.add_hashed("", {}, [(f"sha{i}", h)])
            hits = sum(
                bool(image_index.image_matches_hashed(f"other{i}", h, hamming=8))
                for i, h in enumerate(phashes)
            )
        else:
            image_index = module.EvalIndex(ngram=3, jaccard=0.5)
            for data in image_bytes:
                image_index.add("", {}, [data])
            hits = sum(
                bool(image_index.image_matches(data, hamming=8)) for data in image_bytes
            )
        match_s = time.perf_counter() - start
        print(
            f"  {name}: text index of {registered} in {built:.2f} s, "
            f"{len(queries)} queries in {text_s:.2f} s ({found} flagged, 100 planted); "
            f"{images} image hashes in {hash_s:.2f} s, "
            f"{images} x {images} image matching in {match_s:.2f} s ({hits} hits)"
        )

    if before is not None:
        run("before (dHash, own MinHash, difflib)", _load(before), hashed=False)
    run("after (imagehash pHash, datasketch LSH, rapidfuzz)", after, hashed=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=16)
    parser.add_argument("--texts", type=int, default=1024)
    parser.add_argument("--exported", type=int, default=10_000)
    parser.add_argument("--registered", type=int, default=20_000)
    parser.add_argument("--before", type=Path, help="the old contamination.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp))
        print(f"CPU: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
        print("1. Orchestration overhead per evaluated item (zero-latency server)")
        orchestration(args.items, args.chunk)
        print("2. Embedding throughput (packaged all-MiniLM-L6-v2, CPU)")
        embedding_throughput(args.texts)
        print("3. Exported vs registered items by meaning (cached embeddings)")
        semantic_scale(args.exported, args.registered)
        print("4. Text and image checks, before and after")
        contamination(args.exported, args.registered, args.before)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"Peak RSS of the whole run: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
