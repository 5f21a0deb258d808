"""Keypress → next item painted, in real Chromium, over consecutive decisions.

Seeds items in a throwaway test database, serves the app from a live server
thread, logs in as a reviewer and presses A (accept) N times. Each sample is
measured inside the page: from the keydown to the first animation frame after
the next item card has been swapped in (the `review:shown` event of
static/js/review.js). Prints p50/p95/max, how many cards came from the
prefetched card (decided ahead, saved behind) and how many decisions were saved.

    .venv/bin/python benchmarks/review_keypress.py --decisions 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medsyn_app.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="medsyn-bench-media-"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.testcases import LiveServerThread  # noqa: E402

from review.models import Review  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.fixtures.builders import (  # noqa: E402
    PASSWORD,
    make_batch,
    make_reviewable_item,
    make_user,
)

MEASURE = """
() => {
  window.__lat = [];
  window.__ahead = 0;
  const start = () => { window.__t0 = performance.now(); };
  document.addEventListener("keydown", start, true);
  document.addEventListener("review:shown", (event) => requestAnimationFrame(() =>
    setTimeout(() => {
      window.__lat.push(performance.now() - window.__t0);
      window.__ahead += event.detail.ahead ? 1 : 0;
    }, 0)));
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument(
        "--read-ms", type=int, default=150, help="pause before each decision"
    )
    args = parser.parse_args()
    settings.ALLOWED_HOSTS.append("127.0.0.1")
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    server = None
    try:
        make_user("bench-reviewer", role="reviewer")
        batch = make_batch("keypress")
        for _ in range(args.decisions + 2):
            make_reviewable_item(batch)
        connection.close()
        server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        url = f"http://127.0.0.1:{server.port}"
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/accounts/login/")
            page.fill("#id_username", "bench-reviewer")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/")
            page.goto(f"{url}/review/")
            page.wait_for_selector("#item-card[data-item-id]")
            page.evaluate(MEASURE)
            for n in range(args.decisions):
                page.wait_for_timeout(args.read_ms)  # a reviewer reads
                page.keyboard.press("a")
                page.wait_for_function(f"window.__lat.length >= {n + 1}")
            samples = sorted(page.evaluate("window.__lat"))
            ahead = page.evaluate("window.__ahead")
            # Every decision must be saved, including those saved behind the card.
            page.wait_for_function(
                "document.querySelector('#progress strong').textContent"
                f" === '{args.decisions}'"
            )
            browser.close()
        p95 = samples[int(0.95 * (len(samples) - 1))]
        print(
            f"{len(samples)} decisions, keypress -> next item painted: "
            f"p50 {statistics.median(samples):.1f} ms  p95 {p95:.1f} ms  "
            f"max {samples[-1]:.1f} ms  ({connection.vendor})"
        )
        saved = Review.objects.filter(reviewer__username="bench-reviewer").count()
        print(f"{ahead} of {len(samples)} shown from the prefetch; {saved} saved")
    finally:
        if server is not None:
            server.terminate()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
