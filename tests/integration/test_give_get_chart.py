"""The give/get chart as a reader sees it: the scorecard page in headless Chromium.

The chart is CSS bars without a script; what is checked is what the browser lays out:
one bar per vendor per scenario, their drawn lengths in proportion to clicks plus
keystrokes on one scale, the numbers on them, and the legend naming both vendors.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from crmproof import render
from crmproof.browser import find_chromium
from tests.unit.test_channels import RUN, _events


def test_the_give_get_chart_draws_in_chromium(tmp_path: Path) -> None:
    events = _events(RUN, products={"tryton": "tryton", "tryton-web": "tryton"})
    (tmp_path / "results.jsonl").write_text(
        "".join(e.model_dump_json(exclude_none=True) + "\n" for e in events)
    )
    render.write_all(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto((tmp_path / "index.html").as_uri())
            section = page.locator("#give-get")
            assert section.is_visible()
            assert "tryton-web" in section.locator(".gg-key").inner_text()
            rows = section.locator("tr:has(th[scope=row])")
            assert rows.count() == 2  # A and B: both vendors counted effort
            widths: dict[tuple[str, str], float] = {}
            for i in range(rows.count()):
                row = rows.nth(i)
                name = row.locator("th").inner_text()
                for css in ("gg-left", "gg-right"):
                    bar = row.locator(f".{css}")
                    assert bar.is_visible()
                    box = bar.bounding_box()
                    assert box is not None and box["height"] > 0
                    widths[(name, css)] = box["width"]
                    work = int(bar.inner_text())
                    assert work > 0
            # A: tryton-web 4+10=14, djangocrm 7+21=28 (the longest bar); B: 2 against 4.
            longest = widths[("A", "gg-right")]
            assert abs(widths[("A", "gg-left")] / longest - 14 / 28) < 0.02
            assert abs(widths[("B", "gg-right")] / longest - 4 / 28) < 0.02
            assert rows.nth(1).locator("td").last.inner_text() == "0.50x"
            assert page.locator("#channels strong").first.inner_text() == "disagreement"
        finally:
            browser.close()
