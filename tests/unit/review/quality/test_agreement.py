"""Agreement statistics against examples worked out by hand (in the comments)."""

from __future__ import annotations

import pytest

from review.quality import agreement

A, R, F = "accept", "reject", "flag"


def _pairs(counts: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    return [pair for pair, n in counts.items() for _ in range(n)]


# Two raters, 50 items (a textbook 2x2 table):
#              rater 2 yes  rater 2 no
# rater 1 yes       20           5
# rater 1 no        10          15
# po = (20 + 15) / 50 = 0.70
# rater 1 says yes 25/50 = 0.5, rater 2 says yes 30/50 = 0.6
# pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.50
# kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40
TEXTBOOK = _pairs({(A, A): 20, (A, R): 5, (R, A): 10, (R, R): 15})


def test_cohens_kappa_matches_the_textbook_table():
    result = agreement.cohens_kappa(TEXTBOOK)
    assert result.value == pytest.approx(0.40)
    assert result.items == 50


def test_percent_agreement_of_two_raters_is_the_share_of_equal_labels():
    assert agreement.percent_agreement(TEXTBOOK).value == pytest.approx(0.70)


# Same table for AC1: pi_yes = (0.5 + 0.6) / 2 = 0.55, pi_no = 0.45
# pe = 1/(2-1) * (0.55 * 0.45 + 0.45 * 0.55) = 0.495
# AC1 = (0.70 - 0.495) / (1 - 0.495) = 0.205 / 0.505 = 0.405940...
def test_gwet_ac1_two_raters_matches_hand_computation():
    result = agreement.gwet_ac1(TEXTBOOK, categories=(A, R))
    assert result.value == pytest.approx(0.205 / 0.505)


# MedSyn's normal case: 100 items, nearly all accepted.
#              B accept  B reject
# A accept         90         5
# A reject          5         0
# po = 0.90; each rater accepts 95/100.
# kappa: pe = 0.95^2 + 0.05^2 = 0.905; kappa = (0.90 - 0.905) / 0.095 = -0.0526
# AC1:   pe = 0.95*0.05 + 0.05*0.95 = 0.095; AC1 = (0.90 - 0.095) / 0.905 = 0.8895
NEARLY_ALL_ACCEPT = _pairs({(A, A): 90, (A, R): 5, (R, A): 5})


def test_kappa_collapses_while_ac1_stays_high_when_nearly_all_are_accepted():
    kappa = agreement.cohens_kappa(NEARLY_ALL_ACCEPT).value
    ac1 = agreement.gwet_ac1(NEARLY_ALL_ACCEPT, categories=(A, R)).value
    assert kappa == pytest.approx(-0.005 / 0.095)
    assert ac1 == pytest.approx(0.805 / 0.905)
    assert agreement.percent_agreement(NEARLY_ALL_ACCEPT).value == pytest.approx(0.9)
    # Same raw agreement, opposite stories: this is why both are shown.
    assert kappa < 0.0 < 0.85 < ac1


def test_everything_accepted_leaves_kappa_undefined_with_a_reason():
    pairs = [(A, A)] * 12
    kappa = agreement.cohens_kappa(pairs)
    fleiss = agreement.fleiss_kappa([[A, A]] * 12)
    assert kappa.value is None and fleiss.value is None
    assert kappa.reason == agreement.ONE_CATEGORY == fleiss.reason
    # AC1: pa = 1, pi_accept = 1 so pe = 0, AC1 = 1.
    assert agreement.gwet_ac1(pairs, categories=(A, R, F)).value == pytest.approx(1.0)


def test_ac1_without_declared_categories_and_one_label_is_undefined():
    result = agreement.gwet_ac1([[A, A], [A, A]])
    assert result.value is None
    assert result.reason == agreement.TOO_FEW_CATEGORIES


@pytest.mark.parametrize(
    "statistic",
    [
        agreement.percent_agreement,
        agreement.fleiss_kappa,
        agreement.gwet_ac1,
    ],
)
def test_one_reviewer_per_item_means_no_overlap(statistic):
    result = statistic([[A], [R], [A]])
    assert result.value is None
    assert result.items == 0
    assert result.reason == agreement.NOT_ENOUGH_OVERLAP


def test_no_pairs_gives_no_cohens_kappa():
    result = agreement.cohens_kappa([])
    assert (result.value, result.reason) == (None, agreement.NOT_ENOUGH_OVERLAP)


# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories.
# P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def _ratings(table: list[list[int]]) -> list[list[str]]:
    return [
        [str(category) for category, n in enumerate(row) for _ in range(n)]
        for row in table
    ]


def test_fleiss_kappa_matches_the_worked_example():
    result = agreement.fleiss_kappa(_ratings(FLEISS_TABLE))
    assert result.value == pytest.approx(0.20993, abs=5e-5)
    assert result.items == 10


# Three raters, four items:
#   item 1: a a a -> P = 1
#   item 2: a a r -> P = (2*1 + 1*0) / (3*2) = 1/3
#   item 3: a r r -> 1/3
#   item 4: r r r -> 1
# P-bar = (1 + 1/3 + 1/3 + 1) / 4 = 2/3; p_a = 6/12 = 0.5, Pe = 0.5
# Fleiss kappa = (2/3 - 1/2) / (1/2) = 1/3; AC1: pe = (0.25 + 0.25)/1 = 0.5 -> 1/3
THREE_RATERS = [[A, A, A], [A, A, R], [A, R, R], [R, R, R]]


def test_three_raters_fleiss_and_ac1_by_hand():
    assert agreement.fleiss_kappa(THREE_RATERS).value == pytest.approx(1 / 3)
    ac1 = agreement.gwet_ac1(THREE_RATERS, categories=(A, R))
    assert ac1.value == pytest.approx(1 / 3)
    assert agreement.percent_agreement(THREE_RATERS).value == pytest.approx(2 / 3)


# Varying raters per item:
#   item 1: a a   -> P = 1
#   item 2: a r   -> P = 0
#   item 3: a a r -> P = (2*1)/(3*2) = 1/3
# P-bar = 4/9. Pooled ratings: 5 a, 2 r of 7 -> Pe = 25/49 + 4/49 = 29/49
# Fleiss = (4/9 - 29/49) / (20/49) = -65/180
# AC1: pi_a = (1 + 1/2 + 2/3)/3 = 13/18, pi_r = 5/18
#      pe = 2 * 13/18 * 5/18 = 130/324; AC1 = (144/324 - 130/324)/(194/324) = 14/194
VARYING = [[A, A], [A, R], [A, A, R]]


def test_varying_number_of_raters_per_item():
    assert agreement.fleiss_kappa(VARYING).value == pytest.approx(-65 / 180)
    ac1 = agreement.gwet_ac1(VARYING, categories=(A, R))
    assert ac1.value == pytest.approx(14 / 194)
    assert ac1.items == 3


def test_unrated_categories_still_count_in_ac1_chance_term():
    # Q = 3 instead of 2 lowers chance agreement: pe = (0.5*0.5*2)/2 = 0.25,
    # AC1 = (2/3 - 1/4) / (3/4) = 5/9 for the three-rater table.
    ac1 = agreement.gwet_ac1(THREE_RATERS, categories=(A, R, F))
    assert ac1.value == pytest.approx(5 / 9)
