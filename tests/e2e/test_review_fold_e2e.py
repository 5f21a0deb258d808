"""At 1280x720 the question, options, decision buttons and the verifier's failed
or penalized criteria are all on screen without scrolling."""

from __future__ import annotations

import pytest

from tests.e2e.artifacts import screenshot
from tests.fixtures.builders import (
    PASSWORD,
    make_batch,
    make_document,
    make_figure,
    make_item,
    make_user,
    make_verification,
    rubric_criteria,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG_CAPTION = (
    "Contrast-enhanced axial CT of the chest at the level of the carina shows a "
    "dense consolidation of the right lower lobe with air bronchograms, a small "
    "ipsilateral pleural effusion and no mediastinal lymphadenopathy. " * 3
)


def test_question_options_buttons_and_failed_criteria_fit_1280x720(
    browser, live_server
):
    make_user("bob", role="reviewer")
    document = make_document(source_id="PMC424242")
    panels = [
        make_figure(
            document,
            color=(30, 60 + 40 * i, 90),
            label="Figure 3",
            subfigure=letter,
            caption=LONG_CAPTION,
            mentions=["Figure 3 shows the consolidation. " * 4] * 3,
        )
        for i, letter in enumerate("ab")
    ]
    item = make_item(make_batch(name="Fold"), panels)
    criteria = rubric_criteria(failed_gates=("Diagnosis Leak",), penalty=2)
    make_verification(
        item, score=0.6, failed_gates=("Diagnosis Leak",), criteria=criteria
    )
    item.status = "kept"
    item.save(update_fields=["status"])

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "bob")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/review/")
        page.wait_for_selector(f'#item-card[data-item-id="{item.pk}"]')
        assert page.evaluate("window.scrollY") == 0
        concerns = page.inner_text("#verifier-concerns")
        assert "Diagnosis Leak" in concerns and "Multiple Keys" in concerns
        for selector in (
            "#question",
            "#options",
            "#decide-form button[value=accept]",
            "#decide-form [data-key=f]",
            "#verifier-concerns",
        ):
            box = page.locator(selector).first.bounding_box()
            assert box is not None, selector
            assert box["y"] >= 0 and box["y"] + box["height"] <= 720, (selector, box)
        # The two panels share one caption, shown once.
        assert page.locator("figcaption .caption").count() == 1
        screenshot(page, "review-page-1280x720", full_page=False)
    finally:
        context.close()
