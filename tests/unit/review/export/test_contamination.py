from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from review.export.contamination import EvalIndex, image_phash, normalize_text


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _scene(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    return np.asarray(
        Image.fromarray(small).resize((96, 96), Image.Resampling.BILINEAR)
    )


OPTIONS = {
    "A": "Pneumothorax",
    "B": "Effusion",
    "C": "Nodule",
    "D": "Mass",
    "E": "None",
}


def test_normalisation_ignores_case_numbers_and_punctuation():
    a = normalize_text("What is seen at T12, in 2019?", {"A": "A 5 mm cyst."})
    b = normalize_text("what is SEEN at t7 in 1999", {"A": "a 15 mm cyst"})
    assert a == b


def test_near_duplicate_question_is_flagged_and_a_different_one_is_not():
    index = EvalIndex(ngram=3, jaccard=0.5)
    index.add(
        "Which abnormality is visible in the left upper lobe on this chest radiograph?",
        OPTIONS,
        [],
    )
    index.add(
        "What staining technique was used for this histology section?", OPTIONS, []
    )
    near = index.text_matches(
        "Which abnormality is visible in the left upper lobe on this chest"
        " radiograph ?",
        OPTIONS,
        ratio=0.9,
    )
    assert [i for i, _ in near] == [0]
    assert near[0][1] >= 0.9
    far = index.text_matches(
        "Which vessel supplies the lesion seen on this angiogram?", OPTIONS, ratio=0.9
    )
    assert far == []


def test_image_duplicates_found_by_bytes_and_by_perceptual_hash():
    index = EvalIndex(ngram=3, jaccard=0.5)
    original = _scene(1)
    index.add("q", OPTIONS, [_png(original)])
    index.add("r", OPTIONS, [_png(_scene(2))])
    assert index.image_matches(_png(original), hamming=8) == [(0, 0)]
    blurred = Image.fromarray(original).filter(ImageFilter.GaussianBlur(1))
    recompressed = io.BytesIO()
    blurred.resize((90, 90)).save(recompressed, format="JPEG", quality=80)
    matches = index.image_matches(recompressed.getvalue(), hamming=8)
    assert [owner for owner, _ in matches] == [0]
    assert index.image_matches(_png(_scene(3)), hamming=8) == []


def test_phash_is_64_bits_and_stable():
    data = _png(_scene(5))
    assert image_phash(data) == image_phash(data)
    assert 0 <= image_phash(data) < 2**64
