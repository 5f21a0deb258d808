"""The pipeline stays free of model runtimes and of Django."""

from __future__ import annotations

import subprocess
import sys


def test_pipeline_imports_no_runtime_and_no_django():
    code = (
        "import sys, synthesis.pipeline, synthesis.rebalancing, synthesis.tagging;"
        "print(sorted(m for m in ('torch', 'vllm', 'httpx', 'urllib3', 'django.db')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
