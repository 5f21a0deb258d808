"""Chat messages in the OpenAI form, with images inlined as base64 data URLs.

Both `vllm serve` (over HTTP) and vLLM's offline `LLM.chat` take this form, so
the two vLLM runtimes build their conversations with the same code.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

from synthesis.backends.base import ChatMessage

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_mime(data: bytes) -> str:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ValueError(f"not a PNG, JPEG, GIF or WebP image ({len(data)} bytes)")


def shrink_image(data: bytes, *, max_long_side: int | None) -> bytes:
    """Re-encode as PNG only when the image is larger than `max_long_side`."""
    if not max_long_side:
        return data
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if max(image.size) <= max_long_side:
            return data
        image = image.convert("RGB")
        image.thumbnail((max_long_side, max_long_side))
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


def image_data_url(data: bytes, *, max_long_side: int | None = None) -> str:
    data = shrink_image(data, max_long_side=max_long_side)
    return f"data:{image_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"


def to_openai_messages(
    messages: Sequence[ChatMessage], *, max_image_long_side: int | None = None
) -> list[dict[str, Any]]:
    """Text-only messages stay plain strings; others are image parts, then text."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if not message.images:
            out.append({"role": message.role, "content": message.text})
            continue
        parts: list[dict[str, Any]] = [
            {
                "type": "image_url",
                "image_url": {
                    "url": image_data_url(image, max_long_side=max_image_long_side)
                },
            }
            for image in message.images
        ]
        parts.append({"type": "text", "text": message.text})
        out.append({"role": message.role, "content": parts})
    return out
