"""A verification's prompt is counted only when its generation's size says nothing.

Real HTTP against the local fake vLLM-shaped server; the streaming runner as a
chunk drives it, without the database.
"""

from __future__ import annotations

from collections import Counter

from synthesis import pipeline, streaming
from synthesis.backends import get_backend
from synthesis.slots import LocalSlots
from tests.fixtures.demo_model import png_bytes
from tests.fixtures.fake_openai_server import FakeOpenAIServer, is_verifier


def _lane(server: FakeOpenAIServer, name: str) -> streaming.Lane:
    backend = get_backend(
        "openai_compat", base_url=server.base_url, model=server.model, api_key=""
    )
    return streaming.Lane(name, backend, limit=4)


def _run(lanes: dict[str, list[streaming.Lane]], groups: int = 4) -> list:
    written = []
    runner = streaming.Runner(
        lanes=lanes,
        settings=pipeline.Settings(),
        slots=LocalSlots(),
        flush=lambda results: written.extend(results.items) or True,
        should_stop=lambda: False,
        allowed_tries=1,
        tries=Counter(),
    )
    units = [
        pipeline.Unit(
            pipeline.Group(
                f"g{i}",
                (pipeline.FigureText(f"Axial CT of the chest, case {i}."),),
                (png_bytes(),),
            ),
            0,
        )
        for i in range(groups)
    ]
    assert runner.run(units) == "done"
    return written


def test_on_one_server_a_verification_is_bounded_by_its_generation():
    with FakeOpenAIServer() as server:
        lane = _lane(server, "both")
        written = _run({streaming.GENERATOR: [lane], streaming.VERIFIER: [lane]})
    assert len(written) == 4 and all(verdict.score.kept for _, verdict, _, _ in written)
    counted = [p for p in server.tokenize_requests if "messages" in p]
    assert len(counted) == 4 and not any(is_verifier(p) for p in counted)
    verifications = [p for p in server.requests if is_verifier(p)]
    asked = pipeline.Settings().verifier_sampling.max_tokens
    assert len(verifications) == 4
    assert all(p["max_tokens"] == asked for p in verifications)


def test_a_verifier_on_another_server_counts_every_prompt():
    with FakeOpenAIServer() as generator, FakeOpenAIServer() as verifier:
        written = _run(
            {
                streaming.GENERATOR: [_lane(generator, "gen")],
                streaming.VERIFIER: [_lane(verifier, "ver")],
            }
        )
    assert len(written) == 4
    counted = [p for p in verifier.tokenize_requests if "messages" in p]
    assert len(counted) == 4 and all(is_verifier(p) for p in counted)
