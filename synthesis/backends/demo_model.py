"""Build the tiny random-weight Qwen2.5-VL that tests and the CPU demo run on.

Weights cannot be downloaded here, so the demo model is made from nothing: a
byte-level BPE tokenizer trained on a few kilobytes of synthetic MCQ text, a
Qwen2.5-VL config a few hundred times smaller than the real one, and random
weights. Its output is meaningless; it exists so the whole pipeline (images in,
schema-valid JSON out) runs end to end on a laptop in seconds.

head_dim is 64 (hidden 128, 2 heads) so vLLM's CPU attention can load the same
folder. The saved processor config carries a video-processor section, so stock
`AutoProcessor` loads it wherever torchvision works; without torchvision,
`load_processor` falls back to an image-only subclass.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Bump when the recipe changes so stale folders are rebuilt.
RECIPE_VERSION = 1
MARKER = "medsyn_demo_model.json"
MODEL_NAME = "medsyn-demo/tiny-qwen2.5-vl"
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "processor_config.json",
    MARKER,
)
SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Qwen2-VL chat format; image parts may be {"type": "image"} (transformers) or
# {"type": "image_url"} (vLLM's OpenAI-style parts).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] in ['image', 'image_url', 'image_pil'] %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_WORD_TEXT = (
    "figure panel image shows chest x-ray ct mri ultrasound histology staining "
    "arrow lesion opacity nodule lobe left right upper lower normal abnormal "
    "patient biopsy tumor cell tissue diagnosis finding most likely which "
    "question answer option explanation caption mention modality anatomy "
    "the a of in with and or not is are what where how"
)
_WORDS = _WORD_TEXT.split()


def default_dir() -> Path:
    """Where the demo model lives without Django: the same env vars as settings."""
    if os.environ.get("MEDSYN_DEMO_MODEL_DIR"):
        return Path(os.environ["MEDSYN_DEMO_MODEL_DIR"])
    var = (
        os.environ.get("MEDSYN_VAR_DIR") or Path(__file__).resolve().parents[2] / "var"
    )
    return Path(var) / "models" / "tiny-qwen2_5-vl"


def is_built(path: Path) -> bool:
    """True when `path` holds a complete demo model made by this recipe."""
    if not all((path / name).is_file() for name in REQUIRED_FILES):
        return False
    try:
        marker = json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("recipe") == RECIPE_VERSION


def is_demo_model(path: Path) -> bool:
    return (Path(path) / MARKER).is_file()


def build_demo_model(*, path: Path, force: bool = False) -> Path:
    """Build the demo model into `path` unless a valid one is already there.

    Writes into a temporary sibling folder and renames it into place, so a
    crash never leaves a half-written model that later looks valid.
    """
    path = Path(path)
    if is_built(path) and not force:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        _write_model(staging)
        if path.exists():
            shutil.rmtree(path)
        staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def load_processor(path: Path) -> Any:
    """Stock AutoProcessor where it works, else the image-only Qwen processor."""
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(str(path))
    except (OSError, ImportError, AttributeError, ValueError):
        base = _processor_base(path)
        return _image_only(base).from_pretrained(str(path))


def _processor_base(path: Path) -> type:
    from transformers import Qwen2_5_VLProcessor, Qwen2VLProcessor

    model_type = json.loads((Path(path) / "config.json").read_text()).get("model_type")
    return Qwen2VLProcessor if model_type == "qwen2_vl" else Qwen2_5_VLProcessor


def _image_only(base: type) -> type:
    """The Qwen-VL processor without its video half (which needs torchvision)."""

    class ImageOnly(base):  # type: ignore[misc, valid-type]
        def __init__(
            self, image_processor=None, tokenizer=None, chat_template=None, **kw
        ):
            # ProcessorMixin derives its attributes from this signature.
            kw.pop("video_processor", None)
            super().__init__(
                image_processor, tokenizer, None, chat_template=chat_template, **kw
            )

    # The saved processor_class stays the stock name.
    ImageOnly.__name__ = ImageOnly.__qualname__ = base.__name__
    return ImageOnly


def _corpus(seed: int = 0) -> list[str]:
    """Synthetic MCQ-shaped text (with JSON punctuation) to train the tokenizer on."""
    rng = random.Random(seed)  # noqa: S311 (reproducible text, not secrets)
    lines = []
    for _ in range(400):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14)))
        options = [" ".join(rng.choices(_WORDS, k=2)) for _ in "ABCDE"]
        lines.append(words.capitalize() + "?")
        lines.append(
            json.dumps(
                {
                    "question": words,
                    "options": dict(zip("ABCDE", options, strict=True)),
                    "answer": rng.choice("ABCDE"),
                }
            )
        )
    return lines


def _train_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",  # noqa: S106 (a token, not a password)
        pad_token="<|endoftext|>",  # noqa: S106
        additional_special_tokens=SPECIALS[1:],
        chat_template=CHAT_TEMPLATE,
    )


def _write_model(folder: Path) -> None:
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
    )
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = _train_tokenizer()
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": 56 * 56, "longest_edge": 112 * 112},
        patch_size=14,
        temporal_patch_size=2,
        merge_size=2,
    )
    processor = _image_only(Qwen2_5_VLProcessor)(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    config = demo_config(vocab_size=len(tokenizer), tokenizer=tokenizer)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(**config))
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    _add_video_processor_section(folder / "processor_config.json", image_processor)
    (folder / MARKER).write_text(
        json.dumps({"recipe": RECIPE_VERSION, "name": MODEL_NAME, "demo": True})
    )


def demo_config(
    *,
    vocab_size: int,
    tokenizer: Any,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 2,
    num_kv_heads: int = 2,
    intermediate_size: int = 256,
    vision_depth: int = 2,
    vision_hidden: int = 32,
    vision_heads: int = 2,
    vision_intermediate: int = 64,
) -> dict[str, Any]:
    """Qwen2.5-VL config kwargs; the defaults are the demo size.

    The benchmark reuses this with real dimensions (e.g. 7B) and random weights.
    """
    head_dim = hidden_size // num_heads
    ids = {name: tokenizer.convert_tokens_to_ids(name) for name in SPECIALS}
    return {
        "text_config": {
            "vocab_size": vocab_size,
            "hidden_size": hidden_size,
            "intermediate_size": intermediate_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": num_heads,
            "num_key_value_heads": num_kv_heads,
            "max_position_embeddings": 32768,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1e6,
                # Must sum to head_dim / 2.
                "mrope_section": [
                    head_dim // 8,
                    3 * head_dim // 16,
                    3 * head_dim // 16,
                ],
            },
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        "vision_config": {
            "depth": vision_depth,
            "hidden_size": vision_hidden,
            "intermediate_size": vision_intermediate,
            "num_heads": vision_heads,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "out_hidden_size": hidden_size,
            # Full attention every quarter of the tower, as in the released models.
            "fullatt_block_indexes": (
                list(range(vision_depth // 4 - 1, vision_depth, vision_depth // 4))
                if vision_depth >= 4
                else [vision_depth - 1]
            ),
        },
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }


def _add_video_processor_section(config_path: Path, image_processor: Any) -> None:
    """Let stock AutoProcessor (with torchvision) load the folder too."""
    data = json.loads(config_path.read_text())
    data["video_processor"] = {
        "video_processor_type": "Qwen2VLVideoProcessor",
        "size": dict(image_processor.size),
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "image_mean": list(image_processor.image_mean),
        "image_std": list(image_processor.image_std),
    }
    config_path.write_text(json.dumps(data, indent=2))
