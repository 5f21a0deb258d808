"""Image checks: allowlist, bombs caught before decoding, re-encoding."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from synthesis.ingest import images
from synthesis.ingest.sources.records import Reason
from tests.fixtures.sources import image_bytes

LIMIT = 1_000_000


def rejected(data: bytes, **kwargs) -> str:
    with pytest.raises(images.ImageRejected) as raised:
        images.check_image(data, max_pixels=kwargs.pop("max_pixels", LIMIT), **kwargs)
    return raised.value.reason


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size; its pixel data would inflate to gigabytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)


def test_a_valid_png_is_accepted_and_re_encoded_as_png():
    checked = images.check_image(image_bytes(), max_pixels=LIMIT)
    assert checked.extension == "png"
    assert (checked.width, checked.height) == (40, 30)
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()
    assert Image.open(io.BytesIO(checked.data)).format == "PNG"


def test_a_jpeg_stays_a_jpeg():
    checked = images.check_image(image_bytes(fmt="JPEG"), max_pixels=LIMIT)
    assert checked.extension == "jpg"
    assert Image.open(io.BytesIO(checked.data)).format == "JPEG"


def test_a_tiff_is_stored_as_png():
    checked = images.check_image(image_bytes(fmt="TIFF"), max_pixels=LIMIT)
    assert Image.open(io.BytesIO(checked.data)).format == "PNG"


def test_a_sixteen_bit_float_tiff_is_scaled_to_eight_bit():
    buffer = io.BytesIO()
    Image.new("F", (8, 8), 1234.5).save(buffer, format="TIFF")
    checked = images.check_image(buffer.getvalue(), max_pixels=LIMIT)
    assert Image.open(io.BytesIO(checked.data)).mode == "L"


def test_html_appended_to_a_png_is_not_stored():
    payload = b"<html><script>alert(document.cookie)</script></html>"
    checked = images.check_image(image_bytes() + payload, max_pixels=LIMIT)
    assert b"<script>" not in checked.data
    assert checked.data.endswith(b"IEND\xaeB`\x82")


def test_a_truncated_png_is_refused_as_corrupt():
    data = image_bytes(200, 200, seed=5)
    assert rejected(data[: len(data) // 2]) == Reason.IMAGE_CORRUPT


def test_a_png_with_a_damaged_chunk_is_refused_as_corrupt():
    data = bytearray(image_bytes(seed=3))
    data[60] ^= 0xFF  # inside the IDAT chunk: the CRC no longer matches
    assert rejected(bytes(data)) == Reason.IMAGE_CORRUPT


def test_a_text_file_with_an_image_extension_is_not_an_image():
    assert rejected(b"Name,Value\nfoo,1\n") == Reason.NOT_AN_IMAGE


def test_a_gif_is_not_in_the_allowlist():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    assert rejected(buffer.getvalue()) == Reason.FORMAT_NOT_ALLOWED


def test_a_decompression_bomb_is_refused_from_its_header():
    assert rejected(png_header_only(50_000, 50_000)) == Reason.DECOMPRESSION_BOMB


def test_pillows_own_bomb_warning_counts_as_a_refusal(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    data = image_bytes(20, 20)  # 400 pixels: over Pillow's limit, under ours
    assert rejected(data) == Reason.DECOMPRESSION_BOMB


def test_an_image_smaller_than_the_minimum_side_is_refused():
    assert rejected(image_bytes(40, 30), min_side=32) == Reason.IMAGE_TOO_SMALL


def distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def scene(flip: bool = False) -> Image.Image:
    image = Image.new("L", (96, 80), 20)
    for x in range(96):
        for y in range(80):
            value = (x * 5 + (y * 3 if (x // 16) % 2 else 0)) % 256
            image.putpixel((95 - x if flip else x, y), value)
    return image


def test_the_difference_hash_survives_resizing_and_tells_images_apart():
    original = scene()
    resized = original.resize((48, 40))
    flipped = scene(flip=True)
    near = distance(images.difference_hash(original), images.difference_hash(resized))
    far = distance(images.difference_hash(original), images.difference_hash(flipped))
    assert near <= 4
    assert far >= 20
