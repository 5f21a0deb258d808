"""Answer extraction and the RL reward on one table of hand-written responses.

Each row: a response, the letter the lenient regrade reads from it, and the
strict reward verl gets for it (key C, "Pleural effusion").
"""

from __future__ import annotations

import json

import pytest

from review.evaluation import grading
from review.export import reward

OPTIONS = {
    "A": "Consolidation",
    "B": "Pneumothorax",
    "C": "Pleural effusion",
    "D": "Atelectasis",
    "E": "Pulmonary nodule",
}
KEY = "C"
EXTRA = {"answer_label": KEY, "options": json.dumps(OPTIONS)}

# (response, lenient letter, where it was read, strict reward)
TABLE = [
    ("<think>Blunted angle.</think><answer>C</answer>", "C", "answer_tag", 1.0),
    ("<think>x</think>\n<answer> c </answer>\n", "C", "answer_tag", 1.0),
    ("<think>x</think><answer>C. Pleural effusion</answer>", "C", "answer_tag", 1.0),
    ("<think>x</think><answer>pleural   EFFUSION</answer>", "C", "answer_tag", 1.0),
    ("<think>\nmulti\nline\n</think>\n\n<answer>C</answer>", "C", "answer_tag", 1.0),
    # Well formed, wrong answer.
    ("<think>x</think><answer>B</answer>", "B", "answer_tag", 0.0),
    ("<think>x</think><answer>B. Pneumothorax</answer>", "B", "answer_tag", 0.0),
    # The strict rule wants exactly letter, "letter. text" or text ...
    ("<think>x</think><answer>(C)</answer>", "C", "answer_tag", 0.0),
    ("<think>x</think><answer>C) Pleural effusion</answer>", "C", "answer_tag", 0.0),
    ("<think>x</think><answer>C. Effusion</answer>", "C", "answer_tag", 0.0),
    # ... and nothing around the two blocks.
    ("Sure! <think>x</think><answer>C</answer>", "C", "answer_tag", 0.0),
    ("<think>x</think><answer>C</answer> Hope this helps.", "C", "answer_tag", 0.0),
    ("<answer>C</answer>", "C", "answer_tag", 0.0),
    ("<think>x</think>C", "C", "whole", 0.0),
    # The last answer block counts; a cut-off block still reads.
    ("<answer>A</answer> no wait <answer>C</answer>", "C", "answer_tag", 0.0),
    ("<think>long reasoning</think><answer>C", "C", "answer_tag", 0.0),
    # "answer:" / "answer is" when there is no block.
    ("The effusion blunts the angle. The answer is C.", "C", "answer_phrase", 0.0),
    ("Reasoning...\nFinal answer: (C) pleural effusion", "C", "answer_phrase", 0.0),
    ("ANSWER: pleural effusion", "C", "answer_phrase", 0.0),
    # The SFT prompt's letter-only reply.
    ("C", "C", "whole", 0.0),
    ("C. Pleural effusion", "C", "whole", 0.0),
    ("Pleural effusion.", "C", "whole", 0.0),
    # Nothing that names an option.
    ("", "", "", 0.0),
    ("I cannot tell from this image.", "", "", 0.0),
    ("<think>x</think><answer>F</answer>", "", "", 0.0),
    ("A consolidation would look denser.", "", "", 0.0),
    ("<think>x</think><answer></answer>", "", "", 0.0),
]


@pytest.mark.parametrize(("response", "letter", "source", "score"), TABLE)
def test_lenient_extraction(response, letter, source, score):
    assert grading.extract(response, OPTIONS) == (letter, source)
    graded = grading.grade(response, OPTIONS, KEY)
    assert graded.letter == letter
    assert graded.correct is (letter == KEY)


@pytest.mark.parametrize(("response", "letter", "source", "score"), TABLE)
def test_reward_follows_the_strict_rule(response, letter, source, score):
    got = reward.compute_score("medsyn", response, OPTIONS[KEY], EXTRA)
    assert got == score
    assert grading.grade(response, OPTIONS, KEY).strict_correct is (score == 1.0)


def test_reward_without_extra_info_matches_the_text_only():
    good = "<think>x</think><answer>Pleural effusion</answer>"
    assert reward.compute_score("medsyn", good, "Pleural effusion") == 1.0
    letter_only = "<think>x</think><answer>C</answer>"
    assert reward.compute_score("medsyn", letter_only, "Pleural effusion") == 0.0


def test_reward_with_a_letter_as_ground_truth_reads_the_options():
    response = "<think>x</think><answer>C. Pleural effusion</answer>"
    assert reward.compute_score("medsyn", response, "C", {"options": OPTIONS}) == 1.0
    assert reward.compute_score("medsyn", response, "B", {"options": OPTIONS}) == 0.0


def test_reward_loads_by_path_without_the_project(tmp_path):
    """verl imports the file by path: it must need nothing but the stdlib."""
    import importlib.util
    import pathlib
    import subprocess
    import sys

    path = pathlib.Path(reward.__file__)
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('custom', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(m.compute_score('x', '<think>a</think><answer>B</answer>', 'b'))\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'django', 'review', 'synthesis', 'medsyn_app'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[0] == "1.0" and out[1] == "[]"
    assert importlib.util.find_spec("review.export.reward") is not None
