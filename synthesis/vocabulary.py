"""The method's controlled vocabularies for tagging items and figures.

MedVLSynther tags every kept item with one of 13 modalities (12 + Other), 28
anatomical regions (25 + Brain + Heart + Other) and 7 question types. Labels are
matched case- and punctuation-insensitively so "ct", "CT (Computed Tomography)"
and "C.T." all land on the same canonical value.
"""

from __future__ import annotations

import re

MODALITIES: tuple[str, ...] = (
    "Colposcopy",
    "CT",
    "Digital Photography",
    "Fundus Photography",
    "Infrared Reflectance Imaging",
    "MR",
    "OCT",
    "Dermoscopy",
    "Endoscopy",
    "Microscopy",
    "X-Ray",
    "Ultrasound",
    "Other",
)

ANATOMY: tuple[str, ...] = (
    "Lung",
    "Mammary Gland",
    "Hand",
    "Upper Limb",
    "Eye",
    "Uterus",
    "Intestine",
    "Skin",
    "Shoulder",
    "Kidney",
    "Gallbladder",
    "Pancreas",
    "Spleen",
    "Liver",
    "Pelvic",
    "Ovary",
    "Blood Vessel",
    "Spine",
    "Urinary System",
    "Adipose Tissue",
    "Muscle Tissue",
    "Oral Cavity",
    "Knee",
    "Foot",
    "Lower Limb",
    "Brain",
    "Heart",
    "Other",
)

QUESTION_TYPES: tuple[str, ...] = (
    "Modality Recognition",
    "Anatomy/Localization",
    "Finding/Abnormality Identification",
    "Disease Diagnosis",
    "Lesion Grading",
    "Next Step",
    "Other Biological/Technical Attributes",
)

# Aliases the method's fix-up scripts recovered from free-text labels.
_MODALITY_ALIASES = {
    "computed tomography": "CT",
    "ct computed tomography": "CT",
    "microct": "CT",
    "cta": "CT",
    "mri": "MR",
    "magnetic resonance": "MR",
    "magnetic resonance imaging": "MR",
    "mr magnetic resonance": "MR",
    "xray": "X-Ray",
    "radiograph": "X-Ray",
    "radiography": "X-Ray",
    "mammography": "X-Ray",
    "dsa": "X-Ray",
    "angiography": "X-Ray",
    "tomosynthesis": "X-Ray",
    "chest xray": "X-Ray",
    "us": "Ultrasound",
    "ultrasonography": "Ultrasound",
    "sonography": "Ultrasound",
    "echocardiography": "Ultrasound",
    "octa": "OCT",
    "optical coherence tomography": "OCT",
    "fa": "Fundus Photography",
    "icga": "Fundus Photography",
    "fundus": "Fundus Photography",
    "fluorescein angiography": "Fundus Photography",
    "histology": "Microscopy",
    "histopathology": "Microscopy",
    "microscopy images": "Microscopy",
    "light microscopy": "Microscopy",
    "pathology": "Microscopy",
    "cytology": "Microscopy",
    "photograph": "Digital Photography",
    "clinical photograph": "Digital Photography",
    "photo": "Digital Photography",
}

_ANATOMY_ALIASES = {
    "breast": "Mammary Gland",
    "lungs": "Lung",
    "chest": "Lung",
    "thorax": "Lung",
    "pelvis": "Pelvic",
    "bowel": "Intestine",
    "colon": "Intestine",
    "vessel": "Blood Vessel",
    "artery": "Blood Vessel",
    "vein": "Blood Vessel",
    "cardiac": "Heart",
    "head": "Brain",
    "cerebral": "Brain",
    "retina": "Eye",
    "mouth": "Oral Cavity",
    "bladder": "Urinary System",
    "kidneys": "Kidney",
    "renal": "Kidney",
    "hepatic": "Liver",
    "spinal": "Spine",
    "fat": "Adipose Tissue",
    "muscle": "Muscle Tissue",
}


def _key(label: str) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", label.lower().replace("-", "")).strip()


def _canonicaliser(vocabulary: tuple[str, ...], aliases: dict[str, str]):
    table = {_key(value): value for value in vocabulary}
    table.update({_key(alias): value for alias, value in aliases.items()})

    def canonical(label: str | None) -> str:
        """Map a free-text label to the vocabulary; '' when it is empty or unknown."""
        if not label:
            return ""
        key = _key(label)
        if key in table:
            return table[key]
        # "CT (Computed Tomography)" and the like: try the part before brackets.
        head = _key(re.split(r"[(\[]", label, maxsplit=1)[0])
        return table.get(head, "")

    return canonical


canonical_modality = _canonicaliser(MODALITIES, _MODALITY_ALIASES)
canonical_anatomy = _canonicaliser(ANATOMY, _ANATOMY_ALIASES)
canonical_question_type = _canonicaliser(QUESTION_TYPES, {})
