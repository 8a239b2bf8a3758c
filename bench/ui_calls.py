"""What a browser adapter's ways of reading a page cost: element handles against one query.

A browser adapter reads a form hundreds of times a scenario: whether a field is there,
what it holds. Playwright offers two ways:

- **handle**: `page.query_selector(sel)` makes an element handle (an object Playwright's
  driver and Chromium both keep), then `handle.input_value()` asks through it; an
  existence check is `query_selector(sel) is None`;
- **query**: one `page.evaluate` that finds the field and returns its value (DjangoCRM's
  `ui.FIELD`), and `page.locator(sel).count()` for existence (`BrowserAdapter.exists`).

Both read the same form, a Django admin change form of 30 fields set with
`page.set_content` (no server: what is measured is Playwright and Chromium alone). Each
round reads every field both ways, in turn, the order alternating; the CPU time is that
of this process and its children (Playwright's driver, Chromium) from /proc, and the
figures are per field read. It prints min and median of each and the ratio query/handle.

    .venv/bin/python bench/ui_calls.py [--rounds 15] [--fields 30]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from measured import print_ways, tree_cpu
from playwright.sync_api import Page, sync_playwright

from crmproof.browser import CHROMIUM_FLAGS, find_chromium

# The DjangoCRM adapter's reader, as it runs in the page (adapters/djangocrm/ui.py).
READ = """([name]) => {
  const input = document.querySelector(`#id_${name}`);
  return input ? {value: input.value} : {readonly: null};
}"""


def form(fields: int) -> str:
    rows = "".join(
        f'<div class="form-row field-f{i}"><label for="id_f{i}">F{i}</label>'
        f'<input type="text" name="f{i}" id="id_f{i}" value="value {i}"></div>'
        for i in range(fields)
    )
    return f"<html><body><form id='deal_form'><fieldset>{rows}</fieldset></form></body></html>"


def by_handle(page: Page, names: list[str]) -> list[str | None]:
    values = []
    for name in names:
        handle = page.query_selector(f"#id_{name}")
        values.append(handle.input_value() if handle is not None else None)
        page.query_selector(f"#id_{name}") is None  # noqa: B015 - the existence check
    return values


def by_query(page: Page, names: list[str]) -> list[str | None]:
    values = []
    for name in names:
        values.append(page.evaluate(READ, [name]).get("value"))
        page.locator(f"#id_{name}").count()  # the existence check
    return values


def measure(
    way: Callable[[Page, list[str]], list[str | None]], page: Page, names: list[str]
) -> tuple[float, float, list[str | None]]:
    wall, cpu = time.perf_counter(), tree_cpu()
    values = way(page, names)
    return time.perf_counter() - wall, tree_cpu() - cpu, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--fields", type=int, default=30)
    args = parser.parse_args()
    names = [f"f{i}" for i in range(args.fields)]
    ways = {"handle": by_handle, "query": by_query}
    cpu: dict[str, list[float]] = {w: [] for w in ways}
    wall: dict[str, list[float]] = {w: [] for w in ways}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.set_content(form(args.fields))
        assert by_handle(page, names) == by_query(page, names)  # the same answers
        for round_ in range(args.rounds):
            order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
            for way in order:
                page.set_content(form(args.fields))  # no handles left from the last round
                seconds, spent, _ = measure(ways[way], page, names)
                wall[way].append(seconds / args.fields * 1000)
                cpu[way].append(spent / args.fields * 1000)
        browser.close()
    print(f"{args.fields} fields, {args.rounds} rounds; per field: one value read + one check")
    print_ways(cpu, wall, "query", "handle", "ms")


if __name__ == "__main__":
    main()
