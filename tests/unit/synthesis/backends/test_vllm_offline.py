"""vllm_offline without vllm: the import stays lazy and the error says what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from synthesis.backends import get_backend
from synthesis.backends.base import BackendError
from synthesis.backends.vllm_offline import vllm_available

REPO = Path(__file__).resolve().parents[4]


@pytest.mark.skipif(vllm_available(), reason="vllm is installed here")
def test_asking_for_it_without_vllm_names_requirements_gpu():
    with pytest.raises(BackendError) as caught:
        get_backend("vllm_offline", model="/models/qwen2.5-vl-7b")
    assert caught.value.retryable is False
    assert "requirements-gpu.txt" in str(caught.value)


def test_importing_the_module_does_not_import_vllm(tmp_path):
    # A vllm that explodes on import: the module must load without touching it.
    fake = tmp_path / "vllm"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise RuntimeError('vllm imported eagerly')\n")
    code = (
        "import sys, synthesis.backends.vllm_offline as m;"
        "assert 'vllm' not in sys.modules; print(m.vllm_available())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.skipif(vllm_available(), reason="vllm is installed here")
def test_the_install_hint_comes_before_configuration_errors():
    with pytest.raises(BackendError) as caught:
        get_backend("vllm_offline")
    assert "requirements-gpu.txt" in str(caught.value)
