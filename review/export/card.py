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

REWARD_FILE = "reward.py"

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


def _files_list(paths: list[str]) -> str:
    return "[" + ",".join(paths) + "]" if len(paths) > 1 else "".join(paths)


def _training(formats: list[str], data_files: list[str]) -> list[str]:
    """Launch commands for the exported trainer formats, with the method's
    settings (§6.1, §6.2): GRPO on verl, SFT with TRL."""
    lines: list[str] = []
    if "verl" in formats:
        train = _files_list([f for f in data_files if f.startswith("verl/train-")])
        val = _files_list([f for f in data_files if f.startswith("verl/validation-")])
        lines += [
            "### RL (GRPO) with verl",
            "",
            f"`{REWARD_FILE}` is the reward: 1 when the whole response is "
            "`<think>…</think><answer>…</answer>` and the answer is the letter, "
            '"letter. text" or the text of the key, else 0. From this folder, on '
            "8 GPUs:",
            "",
            "```sh",
            "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo \\",
            f"  data.train_files={train or 'verl/train-00000.parquet'} \\",
            f"  data.val_files={val or 'verl/validation-00000.parquet'} \\",
            "  data.image_key=images data.max_prompt_length=8192 \\",
            "  data.max_response_length=4096 data.train_batch_size=64 \\",
            "  actor_rollout_ref.model.path=Qwen/Qwen2.5-VL-7B-Instruct \\",
            "  actor_rollout_ref.model.enable_gradient_checkpointing=True \\",
            "  actor_rollout_ref.actor.optim.lr=1e-6 \\",
            "  actor_rollout_ref.actor.ppo_mini_batch_size=32 \\",
            "  actor_rollout_ref.actor.use_kl_loss=True \\",
            "  actor_rollout_ref.actor.kl_loss_coef=0.01 \\",
            "  actor_rollout_ref.actor.kl_loss_type=low_var_kl \\",
            "  actor_rollout_ref.actor.entropy_coeff=0 \\",
            "  actor_rollout_ref.rollout.name=vllm actor_rollout_ref.rollout.n=8 \\",
            "  actor_rollout_ref.rollout.tensor_model_parallel_size=2 \\",
            "  actor_rollout_ref.rollout.gpu_memory_utilization=0.6 \\",
            "  algorithm.use_kl_in_reward=False \\",
            f"  custom_reward_function.path={REWARD_FILE} \\",
            "  custom_reward_function.name=compute_score \\",
            "  trainer.n_gpus_per_node=8 trainer.total_epochs=1 \\",
            "  trainer.save_freq=50 trainer.test_freq=-1",
            "```",
            "",
        ]
    if "sft" in formats:
        lines += [
            "### SFT with TRL",
            "",
            "`sft/` rows are TRL vision chats (`messages` + `images`). With the "
            "method's settings (lr 1e-5, 5 epochs, global batch 16 on 8 GPUs), "
            "save as `train_sft.py` and run `accelerate launch --num_processes 8 "
            "train_sft.py`:",
            "",
            "```python",
            "from datasets import load_dataset",
            "from trl import SFTConfig, SFTTrainer",
            "",
            'data = load_dataset("parquet", data_files={',
            '    "train": "sft/train-*.parquet",',
            '    "validation": "sft/validation-*.parquet",',
            "})",
            "trainer = SFTTrainer(",
            '    model="Qwen/Qwen2.5-VL-7B-Instruct",',
            '    train_dataset=data["train"],',
            '    eval_dataset=data["validation"],',
            "    args=SFTConfig(",
            '        output_dir="sft-out", learning_rate=1e-5, num_train_epochs=5,',
            "        per_device_train_batch_size=1, gradient_accumulation_steps=2,",
            "        weight_decay=1e-4, bf16=True, max_length=None,",
            "    ),",
            ")",
            "trainer.train()",
            "```",
            "",
        ]
    return ["## Training", "", *lines] if lines else []


def build_card(
    manifest: dict[str, Any],
    attribution: list[dict[str, Any]],
    data_files: list[str] | None = None,
) -> str:
    """The card; `data_files` (paths under the export) name the shards the
    training commands read."""
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
    lines += _training(manifest["settings"]["formats"], sorted(data_files or []))
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
