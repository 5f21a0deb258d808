"""Building the demo model: offline, idempotent, loadable by the normal path."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from synthesis.backends import demo_model

pytestmark = pytest.mark.slow


def test_built_folder_is_complete_and_small(demo_model_dir):
    assert demo_model.is_built(demo_model_dir)
    size = sum(p.stat().st_size for p in demo_model_dir.iterdir())
    assert size < 5 * 1024**2
    config = json.loads((demo_model_dir / "config.json").read_text())
    text = config["text_config"]
    # vLLM's CPU attention needs head_dim 64.
    assert text["hidden_size"] // text["num_attention_heads"] == 64


def test_processor_config_lets_stock_autoprocessor_load_it(demo_model_dir):
    data = json.loads((demo_model_dir / "processor_config.json").read_text())
    assert data["processor_class"] == "Qwen2_5_VLProcessor"
    assert data["video_processor"]["video_processor_type"] == "Qwen2VLVideoProcessor"
    processor = demo_model.load_processor(demo_model_dir)
    assert processor.tokenizer.eos_token == "<|im_end|>"


def test_building_again_keeps_a_valid_model(demo_model_dir):
    before = (demo_model_dir / "model.safetensors").stat().st_mtime_ns
    demo_model.build_demo_model(path=demo_model_dir)
    assert (demo_model_dir / "model.safetensors").stat().st_mtime_ns == before


def test_a_stale_or_broken_folder_is_not_taken_as_built(tmp_path, demo_model_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    assert not demo_model.is_built(broken)
    assert not demo_model.is_built(tmp_path / "absent")


def test_command_builds_into_the_settings_folder(tmp_path, settings, capsys):
    settings.MEDSYN_DEMO_MODEL_DIR = tmp_path / "demo"
    call_command("build_demo_model")
    assert demo_model.is_built(tmp_path / "demo")
    call_command("build_demo_model")
    out = capsys.readouterr().out
    assert "Built demo model" in out and "already built" in out
