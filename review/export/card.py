"""README.md: a Hugging Face dataset card with statistics and attribution.

The YAML header lists the license, task categories and one data_files entry
per split; the body gives the counts and a license/attribution row for every
source paper, as CC BY and friends require.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from synthesis.models import Document, LicenseFamily

HF_LICENSE = {
    "cc0": "cc0-1.0",
    "cc-by": "cc-by-4.0",
    "cc-by-sa": "cc-by-sa-4.0",
    "cc-by-nc": "cc-by-nc-4.0",
    "cc-by-nd": "cc-by-nd-4.0",
}


def _cell(value: Any) -> str:
    """Paper metadata is third-party text: keep it from breaking the table."""
    text = " ".join(str(value or "").split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
    ):
        if n < limit:
            return label
    return "100K<n<1M"


def attribution_rows(items_per_source: dict[str, int]) -> list[dict[str, Any]]:
    """One row per source paper, read as plain values: building 10,000 model
    instances cost more than the rest of the card."""
    ids = sorted(items_per_source)
    family_label = dict(LicenseFamily.choices)
    fields = ("source_id", "title", "journal", "year", "license", "license_family")
    fields += ("license_url", "doi", "pmcid")
    rows = []
    for start in range(0, len(ids), 500):
        documents = Document.objects.filter(source_id__in=ids[start : start + 500])
        for doc in documents.order_by("source_id").values_list(*fields, named=True):
            family = doc.license_family
            rows.append(
                {
                    "source_id": doc.source_id,
                    "title": doc.title,
                    "journal": doc.journal,
                    "year": doc.year,
                    "license": doc.license or str(family_label.get(family, family)),
                    "license_family": family,
                    # Document.link reads only doi and pmcid, which the row has.
                    "link": doc.license_url or Document.link.fget(doc),
                    "items": items_per_source[doc.source_id],
                }
            )
    return rows


def _yaml_header(manifest: dict[str, Any], families: Iterable[str]) -> list[str]:
    families = sorted(set(families))
    licenses = {HF_LICENSE.get(f, "other") for f in families}
    license_id = licenses.pop() if len(licenses) == 1 else "other"
    lines = ["---", f"license: {license_id}"]
    if license_id == "other":
        lines += [
            "license_name: mixed-per-item",
            "license_details: Each item carries its source paper's license; see "
            "the attribution table.",
        ]
    total = sum(manifest["counts"]["rows"].values())
    lines += [
        f"pretty_name: {json.dumps(manifest['name'])}",
        "language:\n- en",
        "task_categories:\n- visual-question-answering\n- image-text-to-text",
        "tags:\n- medical\n- synthetic\n- multiple-choice",
        "annotations_creators:\n- machine-generated\n- expert-generated",
        f"size_categories:\n- {_size_category(total)}",
        "configs:\n- config_name: default\n  data_files:",
    ]
    for split, n in manifest["counts"]["rows"].items():
        if n:
            lines.append(f"  - split: {split}\n    path: data/{split}-*.parquet")
    return [*lines, "---"]


def _count_table(title: str, counts: dict[str, dict[str, int]]) -> list[str]:
    splits = [s for s in counts if s != "total"]
    lines = [f"### {title}", "", "| value | " + " | ".join(splits) + " | total |"]
    lines.append("|---" * (len(splits) + 2) + "|")
    for value, total in counts.get("total", {}).items():
        cells = [str(counts[s].get(value, 0)) for s in splits]
        lines.append(f"| {_cell(value)} | " + " | ".join(cells) + f" | {total} |")
    return [*lines, ""]


def build_card(manifest: dict[str, Any], attribution: list[dict[str, Any]]) -> str:
    counts = manifest["counts"]
    lines = _yaml_header(manifest, (row["license_family"] for row in attribution))
    lines += [
        "",
        f"# {_cell(manifest['name'])}",
        "",
        "Multiple-choice visual question answering items about biomedical figures, "
        "written by a vision-language model, scored by a verifier model against a "
        "rubric and accepted by clinician reviewers in MedSyn. Each row keeps its "
        "provenance: source paper ids, license, modality, anatomy, question type, "
        "verifier score and review decision.",
        "",
        "Splits are grouped by source paper and by identical or near-identical "
        "image, so no paper or image appears in two splits.",
        "",
        "## Statistics",
        "",
        "| split | items | images |",
        "|---|---|---|",
    ]
    for split, n in counts["rows"].items():
        lines.append(f"| {split} | {n} | {counts['images'][split]} |")
    lines.append("")
    for key, title in (
        ("modality", "Modality"),
        ("anatomy", "Anatomy"),
        ("answer_letter", "Answer letter"),
        ("question_type", "Question type"),
    ):
        if key in counts:
            lines += _count_table(title, counts[key])
    lines += [
        "## License and attribution",
        "",
        "Images and the text they came with remain under their source paper's "
        "license. Attribute the papers below when you redistribute the data.",
        "",
        "| source id | title | journal | year | license | link | items |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in attribution:
        cells = [row[k] for k in ("source_id", "title", "journal", "year")]
        cells += [row["license"], row["link"], row["items"]]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
