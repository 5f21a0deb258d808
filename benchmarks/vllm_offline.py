"""Throughput of the vllm_offline backend: requests/s and output tokens/s.

    python benchmarks/vllm_offline.py --size 7b --batch 1 8 --requests 32

Runs only where vllm imports (a GPU box with requirements-gpu.txt); elsewhere
it says so and exits 0. `--size 7b` writes a config-only Qwen2.5-VL folder and
lets vLLM fill it with dummy weights (`load_format="dummy"`): nothing is
downloaded and the figures show the runtime's cost, not a model's quality.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from workload import (
    SIZES,
    batch_plan,
    make_requests,
    print_table,
    real_size_config,
    summarize,
    write_json,
)

from synthesis.backends import demo_model
from synthesis.backends.vllm_offline import VLLMOfflineBackend, vllm_available


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="demo", choices=["demo", *SIZES])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--requests", type=int, default=32, help="for the largest batch"
    )
    parser.add_argument("--max-tokens", type=int, default=640)
    parser.add_argument("--image-side", type=int, default=448)
    parser.add_argument("--no-schema", action="store_true")
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.85)
    parser.add_argument("--tensor-parallel-size", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if not vllm_available():
        print(
            "vllm is not importable here: skipped (pip install -r requirements-gpu.txt)"
        )
        return

    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp())
    model_dir = demo_model.build_demo_model(path=folder / "demo")
    load_format = "auto"
    if args.size != "demo":
        model_dir, load_format = (
            _config_only_model(model_dir, folder / args.size),
            "dummy",
        )
    backend = VLLMOfflineBackend(
        model=str(model_dir),
        load_format=load_format,
        gpu_memory_utilization=args.gpu_memory_utilization,
        tensor_parallel_size=args.tensor_parallel_size,
        max_model_len=8192,
        dtype="bfloat16" if args.size != "demo" else "float32",
    )
    backend.generate(
        make_requests(1, image_side=args.image_side, max_tokens=16, schema=True)
    )
    print(f"engine up and warm in {time.perf_counter() - started:.1f} s")
    rows = []
    for batch, count in batch_plan(args.batch, args.requests):
        # vLLM schedules its own batches; "batch" is how many requests a call gets.
        completions = []
        t0 = time.perf_counter()
        requests = make_requests(
            count, image_side=args.image_side, max_tokens=args.max_tokens,
            schema=not args.no_schema,
        )  # fmt: skip
        for start in range(0, count, batch):
            completions += backend.generate(requests[start : start + batch])
        rows.append((batch, summarize(completions, time.perf_counter() - t0)))
    print_table(
        f"vllm_offline, {args.size}, schema={'off' if args.no_schema else 'on'}, "
        f"max_tokens={args.max_tokens}",
        rows,
    )
    print(f"total {time.perf_counter() - started:.1f} s")
    write_json(args.json, {"args": vars(args), "rows": rows})


def _config_only_model(demo_dir: Path, target: Path) -> Path:
    """The demo folder's tokenizer and processor with a real-size config, no weights."""
    import shutil

    shutil.copytree(demo_dir, target, ignore=shutil.ignore_patterns("*.safetensors"))
    processor = demo_model.load_processor(demo_dir)
    config = json.loads((demo_dir / "config.json").read_text())
    real = real_size_config(target.name, processor.tokenizer)
    config["text_config"].update(real["text_config"])
    config["vision_config"].update(real["vision_config"])
    (target / "config.json").write_text(json.dumps(config, indent=2))
    return target


if __name__ == "__main__":
    sys.exit(main())
