"""Image validation: only safe, decodable images of allowed formats get in.

Every accepted image is decoded fully and re-encoded, so whatever rode along
in the file (an HTML payload after the PNG end chunk, metadata text chunks)
is dropped. The size is checked against a pixel limit before any decoding,
so a decompression bomb costs a header read, not gigabytes of memory.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, UnidentifiedImageError

from synthesis.ingest.sources.records import Reason

# Pillow format name -> stored format. TIFF is stored as PNG (lossless and
# shown by every browser); JPEG stays JPEG (re-encoding it as PNG would only
# make it larger).
ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "TIFF": "PNG"}
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg"}
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"}
_JPEG_MODES = {"L", "RGB"}


class ImageRejected(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    extension: str
    width: int
    height: int
    sha256: str
    phash: str  # dHash (split grouping)
    dct_phash: str  # imagehash pHash (contamination checks)


def check_image(data: bytes, *, max_pixels: int, min_side: int = 0) -> CheckedImage:
    """Validate, decode and re-encode an image; raise ImageRejected if unsafe."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, max_pixels=max_pixels)
        if min(image.size) < min_side:
            raise ImageRejected(
                Reason.IMAGE_TOO_SMALL, f"{image.size[0]}x{image.size[1]}"
            )
        stored_format = ALLOWED_FORMATS[image.format]
        try:
            image.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
        except Image.DecompressionBombWarning as exc:
            raise ImageRejected(Reason.DECOMPRESSION_BOMB, str(exc)[:200]) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected(Reason.IMAGE_CORRUPT, str(exc)[:200]) from exc
    encoded = _reencode(image, stored_format)
    return CheckedImage(
        data=encoded,
        extension=_EXTENSIONS[stored_format],
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        phash=difference_hash(image),
        dct_phash=dct_hash(image),
    )


def _open(data: bytes, *, max_pixels: int) -> Image.Image:
    """Read only the header: format and size, checked before decoding."""
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(Reason.DECOMPRESSION_BOMB, str(exc)[:200]) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(Reason.NOT_AN_IMAGE, "not a recognised image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(Reason.IMAGE_CORRUPT, str(exc)[:200]) from exc
    if image.format not in ALLOWED_FORMATS:
        raise ImageRejected(Reason.FORMAT_NOT_ALLOWED, str(image.format))
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(
            Reason.DECOMPRESSION_BOMB, f"{width}x{height} exceeds {max_pixels} pixels"
        )
    if width < 1 or height < 1:
        raise ImageRejected(Reason.IMAGE_CORRUPT, "empty image")
    return image


def _reencode(image: Image.Image, stored_format: str) -> bytes:
    if stored_format == "JPEG":
        if image.mode not in _JPEG_MODES:
            image = image.convert("RGB")
    elif image.mode not in _PNG_MODES:
        image = _to_eight_bit(image)
    buffer = io.BytesIO()
    # No metadata is passed on: text chunks and EXIF stay behind.
    if stored_format == "JPEG":
        image.save(buffer, format="JPEG", quality=95)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Scale 32-bit integer or float images (common in TIFF) to 8-bit grey."""
    if image.mode in {"I", "F", "I;16B", "I;16L"}:
        pixels = np.asarray(image, dtype=np.float64)
        low, high = float(pixels.min()), float(pixels.max())
        scaled = (pixels - low) / (high - low or 1.0) * 255.0
        return Image.fromarray(scaled.astype(np.uint8), mode="L")
    return image.convert("RGBA" if "A" in image.mode else "RGB")


def dct_hash(image: Image.Image) -> str:
    """imagehash's 64-bit pHash as 16 hex digits: the hash the method's
    contamination audit compares (Hamming distance at 4 / 8 / 16)."""
    return str(imagehash.phash(image))


def difference_hash(image: Image.Image) -> str:
    """A 64-bit dHash as 16 hex digits: near-identical images get close hashes.

    Each bit says whether a pixel of a 9x8 grey thumbnail is brighter than its
    right neighbour, so re-encoding and resizing barely change it.
    """
    grey = image.convert("L").resize((9, 8), Image.Resampling.BOX)
    pixels = np.asarray(grey, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"
