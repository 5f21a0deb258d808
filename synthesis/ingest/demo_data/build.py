"""Draw the demo images and write the demo items.

Run `python -m synthesis.ingest.demo_data.build` to redraw them.

The drawings are schematic (a radiograph, two CT windows, an ultrasound
sector, a micrograph) but have the shapes a question can be asked about.
Random noise is seeded, so a rebuild writes the same bytes.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from synthesis.ingest.demo_data import DEMO_DIR

SIZE = 224


def _noise(image: Image.Image, amount: float, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0, amount, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), image.mode)


def chest_radiograph() -> Image.Image:
    image = Image.new("L", (SIZE, SIZE), 15)
    draw = ImageDraw.Draw(image)
    draw.ellipse((22, 20, 202, 230), fill=95)  # thorax soft tissue
    draw.ellipse((40, 40, 108, 200), fill=35)  # patient's right lung (viewer's left)
    draw.ellipse((116, 40, 184, 200), fill=35)  # left lung
    draw.ellipse((95, 110, 160, 190), fill=170)  # heart
    draw.rectangle((102, 10, 122, 120), fill=150)  # mediastinum / spine
    for y in range(55, 190, 18):  # ribs
        draw.arc((30, y - 20, 112, y + 25), 190, 350, fill=120, width=3)
        draw.arc((112, y - 20, 194, y + 25), 190, 350, fill=120, width=3)
    draw.line((40, 38, 100, 48), fill=170, width=5)  # clavicles
    draw.line((124, 48, 184, 38), fill=170, width=5)
    draw.ellipse((48, 140, 100, 192), fill=130)  # right lower zone opacity
    draw.text((10, 8), "R", fill=230)
    image = image.filter(ImageFilter.GaussianBlur(2.5))
    return _noise(image, 4, seed=1)


def chest_ct(window: str) -> Image.Image:
    lung = window == "lung"
    image = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(image)
    draw.ellipse((14, 40, 210, 190), fill=110 if lung else 90)  # body
    air = 10 if lung else 0
    draw.ellipse((30, 58, 104, 176), fill=air)  # right lung (viewer's left)
    draw.ellipse((120, 58, 194, 176), fill=air)  # left lung
    draw.ellipse((92, 72, 134, 120), fill=200 if lung else 140)  # mediastinum
    draw.ellipse((104, 150, 122, 172), fill=255)  # vertebral body
    draw.polygon(  # consolidation, posterior right lower lobe
        [(38, 130), (70, 118), (98, 140), (92, 172), (50, 170)],
        fill=140 if lung else 100,
    )
    if lung:
        for x in range(50, 90, 12):  # air bronchograms
            draw.line((x, 140, x + 8, 164), fill=25, width=2)
        rng = np.random.default_rng(7)
        for x, y in zip(
            rng.integers(35, 190, 40), rng.integers(62, 170, 40), strict=True
        ):
            draw.point((int(x), int(y)), fill=90)  # vessels
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    return _noise(image, 3, seed=2 if lung else 3)


def gallbladder_ultrasound() -> Image.Image:
    image = Image.new("L", (SIZE, SIZE), 0)
    rng = np.random.default_rng(4)
    speckle = rng.gamma(2.0, 35.0, (SIZE, SIZE)).clip(0, 255).astype(np.uint8)
    tissue = Image.fromarray(speckle, "L").filter(ImageFilter.GaussianBlur(0.8))
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).pieslice((-100, -190, 324, 230), 60, 120, fill=255)
    image.paste(tissue, (0, 0), mask)
    draw = ImageDraw.Draw(image)
    draw.ellipse((70, 80, 160, 140), fill=5)  # anechoic gallbladder
    draw.ellipse((110, 118, 128, 134), fill=235)  # echogenic stone
    draw.polygon([(111, 134), (127, 134), (131, 215), (107, 215)], fill=8)  # shadow
    image.paste(0, (0, 0), Image.eval(mask, lambda v: 255 - v))
    return image


def gallbladder_histology() -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (238, 190, 205))  # eosin pink
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(5)
    for fold in range(5):  # mucosal folds lined by epithelium
        cx = 25 + fold * 44
        draw.ellipse((cx - 18, 20, cx + 18, 120), fill=(246, 225, 232))
        for step in range(24):
            angle = 2 * math.pi * step / 24
            x, y = cx + 17 * math.cos(angle), 70 + 49 * math.sin(angle)
            draw.ellipse((x - 3, y - 2, x + 3, y + 4), fill=(92, 60, 140))
    for _ in range(260):  # stromal nuclei
        x, y = int(rng.integers(0, SIZE)), int(rng.integers(125, SIZE))
        draw.ellipse((x - 2, y - 2, x + 3, y + 2), fill=(110, 70, 150))
    return image.filter(ImageFilter.GaussianBlur(0.6))


IMAGES = {
    "pneumonia/f1-radiograph.png": chest_radiograph,
    "pneumonia/f2a-ct-lung.png": lambda: chest_ct("lung"),
    "pneumonia/f2b-ct-soft.png": lambda: chest_ct("soft"),
    "gallstones/f1-ultrasound.png": gallbladder_ultrasound,
    "gallstones/f2-histology.png": gallbladder_histology,
}

OPTIONS_ZONE = {
    "A": "Right lower zone",
    "B": "Left upper zone",
    "C": "Right upper zone",
    "D": "Left lower zone",
    "E": "No focal opacity",
}
ITEMS = [
    ("pneumonia/f1-radiograph.png",),
    ("pneumonia/f2a-ct-lung.png", "pneumonia/f2b-ct-soft.png"),
    ("pneumonia/f2a-ct-lung.png", "pneumonia/f2b-ct-soft.png"),
    ("gallstones/f1-ultrasound.png",),
    ("gallstones/f1-ultrasound.png",),
    ("gallstones/f2-histology.png",),
]
QUESTIONS = [
    ("Where is the focal opacity on this frontal chest radiograph?",
     OPTIONS_ZONE, "A", "Anatomy/Localization"),
    ("What is the main finding in the posterior right lower lobe on these axial CT"
     " images?",
     {"A": "Consolidation with air bronchograms", "B": "Pneumothorax",
      "C": "Large pleural effusion", "D": "Cavitating mass",
      "E": "Normal lung parenchyma"}, "A", "Finding/Abnormality Identification"),
    ("The two panels show the same slice. How do they differ?",
     {"A": "Lung window and soft-tissue window", "B": "Before and after contrast",
      "C": "Inspiration and expiration", "D": "Prone and supine positioning",
      "E": "CT and MRI"}, "A", "Other Biological/Technical Attributes"),
    ("What does the bright focus with a dark band beneath it inside the"
     " gallbladder most likely represent?",
     {"A": "A gallstone with posterior acoustic shadowing", "B": "A gallbladder polyp",
      "C": "Biliary sludge", "D": "Air in the gallbladder wall",
      "E": "A normal fold"}, "A", "Finding/Abnormality Identification"),
    ("Which imaging modality produced this image?",
     {"A": "CT", "B": "MR", "C": "Ultrasound", "D": "X-Ray", "E": "Endoscopy"},
     "C", "Modality Recognition"),
    ("Which stain gives this micrograph its pink stroma and purple nuclei?",
     {"A": "Hematoxylin and eosin", "B": "Periodic acid-Schiff", "C": "Gram stain",
      "D": "Ziehl-Neelsen", "E": "Silver stain"}, "A",
     "Other Biological/Technical Attributes"),
]  # fmt: skip


def build() -> None:
    for name, draw in IMAGES.items():
        target = DEMO_DIR / "articles" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        draw().save(target, format="PNG", optimize=True)
    rows = []
    for index, (images, (question, options, answer, kind)) in enumerate(
        zip(ITEMS, QUESTIONS, strict=True)
    ):
        encoded = [
            {
                "bytes": base64.b64encode(
                    (DEMO_DIR / "articles" / name).read_bytes()
                ).decode(),
                "path": name,
            }
            for name in images
        ]
        rows.append(
            {
                "images": encoded,
                "question": question,
                "options": json.dumps(options),
                "answer_label": answer,
                "answer": options[answer],
                "dataset_name": "medsyn-demo",
                "dataset_index": index,
                "question_type": kind,
            }
        )
    text = "\n".join(json.dumps(row) for row in rows) + "\n"
    (DEMO_DIR / "items.jsonl").write_text(text)


if __name__ == "__main__":
    build()
