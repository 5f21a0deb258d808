"""Throughput of the hf_transformers backend: requests/s and output tokens/s.

    python benchmarks/backends.py                       # demo model, CPU, batch 1 and 8
    python benchmarks/backends.py --device cuda --size 7b --batch 1 8 --requests 32

`--size 7b` (or 3b) builds a Qwen2.5-VL of that size with random weights straight
on the device (nothing is downloaded; the tokenizer is the demo model's, the
vocabulary padded to 152064), so the figures show the runtime's cost, not a
model's quality. Requests are JSON-schema constrained like the pipeline's.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from workload import (
    REAL_MAX_PIXELS,
    SIZES,
    batch_plan,
    make_requests,
    print_table,
    real_size_config,
    summarize,
    write_json,
)

from synthesis.backends import demo_model
from synthesis.backends.hf_transformers import TransformersBackend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1")
    parser.add_argument("--size", default="demo", choices=["demo", *SIZES])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--requests", type=int, default=16, help="for the largest batch"
    )
    parser.add_argument("--max-tokens", type=int, default=640)
    parser.add_argument("--image-side", type=int, default=448)
    parser.add_argument("--no-schema", action="store_true")
    parser.add_argument("--cpu-threads", type=int, default=None)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    started = time.perf_counter()
    model_dir = args.model_dir or Path(tempfile.mkdtemp()) / "demo"
    demo_model.build_demo_model(path=model_dir)
    backend = _backend(args, model_dir)
    import torch

    print(
        f"model={backend.model_name} device={backend.device} torch={torch.__version__} "
        f"threads={torch.get_num_threads()} host={platform.node()}"
    )
    if backend.device.startswith("cuda"):
        print(f"gpu={torch.cuda.get_device_name(backend.device)}")
    runtime = backend._load()
    print(
        f"threads after load={torch.get_num_threads()} "
        f"image processor={type(runtime.processor.image_processor).__name__}"
    )
    params = sum(p.numel() for p in runtime.model.parameters())
    print(
        f"parameters={params / 1e9:.2f}B dtype={next(runtime.model.parameters()).dtype}"
    )
    warm = time.perf_counter()
    backend.generate(
        make_requests(1, image_side=args.image_side, max_tokens=16, schema=True)
    )
    print(f"setup {warm - started:.1f} s, warm-up {time.perf_counter() - warm:.1f} s")

    rows = []
    for batch, count in batch_plan(args.batch, args.requests):
        backend.max_batch_size = batch
        requests = make_requests(
            count,
            image_side=args.image_side,
            max_tokens=args.max_tokens,
            schema=not args.no_schema,
        )
        t0 = time.perf_counter()
        completions = backend.generate(requests)
        rows.append((batch, summarize(completions, time.perf_counter() - t0)))
        print_table(f"hf_transformers {args.size} on {backend.device}", rows[-1:])
    print_table(
        f"hf_transformers, {args.size}, {backend.device}, "
        f"schema={'off' if args.no_schema else 'on'}, max_tokens={args.max_tokens}",
        rows,
    )
    print(f"total {time.perf_counter() - started:.1f} s")
    write_json(
        args.json, {"args": vars(args) | {"model_dir": str(model_dir)}, "rows": rows}
    )


def _backend(args: argparse.Namespace, model_dir: Path) -> TransformersBackend:
    if args.size == "demo":
        return TransformersBackend(
            model_path=model_dir, device=args.device, cpu_threads=args.cpu_threads
        )
    import torch
    from transformers import AutoModelForImageTextToText, Qwen2_5_VLConfig

    device = TransformersBackend(model_path=model_dir, device=args.device).device
    processor = demo_model.load_processor(model_dir)
    processor.image_processor.size = {
        "shortest_edge": 56 * 56,
        "longest_edge": REAL_MAX_PIXELS,
    }
    config = Qwen2_5_VLConfig(**real_size_config(args.size, processor.tokenizer))
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=dtype)
    return TransformersBackend.from_components(
        model=model,
        processor=processor,
        model_name=f"random-qwen2.5-vl-{args.size}",
        device=device,
        cpu_threads=args.cpu_threads,
    )


if __name__ == "__main__":
    main()
