"""Chat messages in the OpenAI form, shared by openai_compat and vllm_offline."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from synthesis.backends.base import ChatMessage
from synthesis.backends.openai_messages import image_data_url, to_openai_messages
from tests.fixtures.demo_model import png_bytes


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buf, format="JPEG")
    return buf.getvalue()


def test_text_only_messages_stay_strings_and_images_come_before_text():
    messages = (
        ChatMessage("system", "Be terse."),
        ChatMessage("user", "Compare", (png_bytes(), jpeg_bytes())),
    )
    system, user = to_openai_messages(messages)
    assert system == {"role": "system", "content": "Be terse."}
    kinds = [part["type"] for part in user["content"]]
    assert kinds == ["image_url", "image_url", "text"]
    assert user["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_large_images_are_shrunk_to_the_long_side_limit():
    url = image_data_url(png_bytes((800, 400)), max_long_side=200)
    data = base64.b64decode(url.split(",", 1)[1])
    assert Image.open(io.BytesIO(data)).size == (200, 100)
    small = png_bytes((100, 50))
    assert image_data_url(small, max_long_side=200).endswith(
        base64.b64encode(small).decode()
    )


def test_unknown_bytes_are_refused():
    with pytest.raises(ValueError, match="not a PNG"):
        image_data_url(b"%PDF-1.7 ...")
