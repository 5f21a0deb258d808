"""Training-ready exports: the reward travels with the verl files, the card
says how to launch GRPO and SFT, and SFT rows can use the think/answer target."""

from __future__ import annotations

import importlib.util

import pyarrow.parquet as pq
import pytest

from review.export import reward
from review.export.mcq_prompt import RL_INSTRUCTION
from synthesis.models import Item
from tests.integration.review.export.conftest import export_root, run

pytestmark = pytest.mark.django_db


def _load_reward(path):
    spec = importlib.util.spec_from_file_location("exported_reward", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_verl_export_carries_its_reward_and_the_card_launch_commands(
    admin_user, corpus
):
    export = run(admin_user, formats=["hf", "verl", "sft"])
    root = export_root(export)
    assert "reward.py" in {f["path"] for f in export.manifest["files"]}
    reward = _load_reward(root / "reward.py")
    row = pq.read_table(root / "verl").to_pylist()[0]
    letter = row["extra_info"]["answer_label"]
    good = f"<think>looked</think><answer>{letter}</answer>"
    truth = row["reward_model"]["ground_truth"]
    assert reward.compute_score(row["data_source"], good, truth, row["extra_info"]) == 1
    assert (
        reward.compute_score(row["data_source"], letter, truth, row["extra_info"]) == 0
    )
    card = (root / "README.md").read_text()
    assert "## Training" in card
    assert "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo" in card
    assert "data.train_files=verl/train-00000.parquet" in card
    assert "custom_reward_function.path=reward.py" in card
    assert "actor_rollout_ref.rollout.n=8" in card
    assert "from trl import SFTConfig, SFTTrainer" in card
    assert '"train": "sft/train-*.parquet"' in card


def test_an_export_without_verl_has_no_reward_and_no_grpo_command(admin_user, corpus):
    export = run(admin_user, formats=["hf"])
    root = export_root(export)
    assert not (root / "reward.py").exists()
    assert "## Training" not in (root / "README.md").read_text()


def test_sft_rows_can_target_think_then_answer(admin_user, corpus):
    export = run(admin_user, formats=["sft"], sft_target="think_answer")
    rows = pq.read_table(export_root(export) / "sft").to_pylist()
    assert rows and export.settings["sft_target"] == "think_answer"
    for row in rows:
        user, assistant = row["messages"]
        prompt = user["content"][-1]["text"]
        answer = assistant["content"][0]["text"]
        assert prompt.startswith(RL_INSTRUCTION)
        item = Item.objects.get(pk=row["dataset_index"])
        assert answer == f"<think>\n</think>\n<answer>{item.answer}</answer>"
        # What the SFT target teaches is what the RL reward pays for.
        extra = {"answer_label": item.answer}
        assert reward.compute_score("medsyn", answer, item.answer_text, extra) == 1
