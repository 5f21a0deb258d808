from __future__ import annotations

import pytest

from review.export.config import ExportSettingsError, parse_settings


def test_defaults_leave_out_noncommercial_and_unknown_licenses():
    settings = parse_settings({})
    assert settings.allowed_license_families == ("cc0", "cc-by", "cc-by-sa")
    opted = parse_settings({"include_noncommercial": True})
    assert "cc-by-nc" in opted.allowed_license_families
    assert "unknown" not in opted.allowed_license_families


def test_round_trip_through_the_stored_dict():
    settings = parse_settings({"ratios": ["0.7", 0.2, 0.1], "seed": "5"})
    assert settings.ratios == (0.7, 0.2, 0.1) and settings.seed == 5
    assert parse_settings(settings.to_dict()) == settings


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"ratios": [0.5, 0.2, 0.2]}, "add up to 1"),
        ({"ratios": "abc"}, "must be a list"),
        ({"ratios": ["x", 1, 0]}, "invalid export settings"),
        ({"formats": ["csv"]}, "formats must be chosen"),
        ({"colour": "red"}, "unknown export settings: colour"),
        ({"exclude_contaminated": True}, "needs an eval set"),
        ({"min_verifier_score": 2}, "between 0 and 1"),
    ],
)
def test_bad_settings_get_a_specific_error(raw, message):
    with pytest.raises(ExportSettingsError, match=message):
        parse_settings(raw)
