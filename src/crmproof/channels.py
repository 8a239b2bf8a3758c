"""One product through several channels, and the give/get of two real UIs.

An evaluation may run one product through its API and through its web UI, as two vendor
entries (`tryton` and `tryton-web`). Two things follow from a scorecard of such a run:

- **Channel agreement.** The same product must get the same verdict through both
  channels. Where a requirement is met through one and not met through the other, either
  the product enforces a rule in one channel only (a product fact), or one adapter is
  wrong (a bug in the harness). Either way a person must look, so the report lists each
  one, and `crmproof run --fail-on disagreement` makes it a gate. Where one channel could
  not judge at all (unsupported, untested), the verdicts differ without contradicting
  each other: that is listed apart, as a gap in what the channel proved.
- **Give/get between UIs.** User effort means little on its own ("173 clicks"). Two
  browser vendors that ran the same scenario give a ratio: what one UI demands of its
  user for a task against what the other demands for the same task, beside whether each
  got it done.

Which entries are one product: the vendor entry's `product:` in crmproof.yaml, recorded in
the run event; without it, entries whose adapters share a family name (`tryton`,
`tryton-web`: the part before the first '-').
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crmproof.events import ResultEvent, RunStarted
from crmproof.scoring import Scorecard, VendorCard

JUDGED = ("met", "partly met", "not met")
EFFORT_KEYS = ("clicks", "keystrokes", "fields", "pages")

__all__ = [
    "ChannelReport",
    "Disagreement",
    "GiveGetRow",
    "analyse",
    "declared_products",
    "effort_scenarios",
    "products",
]


@dataclass
class Disagreement:
    """One requirement on which two channels of one product disagree."""

    product: str
    requirement: str
    title: str
    verdicts: dict[str, str]  # vendor entry -> verdict
    # Scenario statuses per vendor entry, for the scenarios covering the requirement.
    scenarios: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def contradicts(self) -> bool:
        """Both channels judged, and differently: a product fact or an adapter bug."""
        return all(v in JUDGED for v in self.verdicts.values())


@dataclass
class GiveGetRow:
    """One scenario that two browser vendors both ran: each one's effort and status."""

    scenario: str
    left: dict[str, int]
    right: dict[str, int]
    left_status: str
    right_status: str

    @staticmethod
    def work(effort: Mapping[str, int]) -> int:
        """What the user's hands did: clicks and keystrokes."""
        return int(effort.get("clicks", 0)) + int(effort.get("keystrokes", 0))

    @property
    def comparable(self) -> bool:
        """Both did the whole task: a failed or broken run counts only part of the work."""
        return self.left_status == "passed" and self.right_status == "passed"

    @property
    def ratio(self) -> float | None:
        """Left's work per unit of right's, for the same task done by both; else None."""
        right = self.work(self.right)
        return self.work(self.left) / right if right and self.comparable else None


@dataclass
class ChannelReport:
    products: dict[str, list[str]]  # product -> its vendor entries, when more than one
    disagreements: list[Disagreement]
    give_get: list[GiveGetRow]
    give_get_pair: tuple[str, str] | None

    @property
    def contradictions(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.contradicts]


def declared_products(events: Iterable[ResultEvent]) -> dict[str, str]:
    """The `product:` of each vendor entry, as the run event recorded it."""
    for event in events:
        if isinstance(event, RunStarted):
            return dict(event.products)
    return {}


def _family(adapter: str) -> str:
    return adapter.split("-", 1)[0].split()[0] if adapter else adapter


def products(card: Scorecard, declared: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Vendor entries grouped by product, in the card's order."""
    groups: dict[str, list[str]] = {}
    for vendor in card.vendors:
        product = (declared or {}).get(vendor.name) or _family(vendor.adapter) or vendor.name
        groups.setdefault(product, []).append(vendor.name)
    return groups


def _by_name(card: Scorecard) -> dict[str, VendorCard]:
    return {v.name: v for v in card.vendors}


def disagreements(card: Scorecard, groups: Mapping[str, list[str]]) -> list[Disagreement]:
    """Every requirement whose verdicts differ between channels of one product."""
    vendors = _by_name(card)
    titles = {
        r["id"]: " ".join(str(r.get("title") or r.get("text") or "").split())
        for r in card.requirements
    }
    found: list[Disagreement] = []
    for product, names in groups.items():
        members = [vendors[n] for n in names if vendors[n].status == "ready"]
        if len(members) < 2:
            continue
        for requirement in titles:
            verdicts = {
                v.name: v.requirements[requirement].verdict
                for v in members
                if requirement in v.requirements
            }
            if len(set(verdicts.values())) < 2:
                continue
            scenarios = {
                v.name: {
                    sid: v.scenarios[sid].status
                    for sid in v.requirements[requirement].scenarios
                    if sid in v.scenarios
                }
                for v in members
                if requirement in v.requirements
            }
            found.append(
                Disagreement(product, requirement, titles[requirement], verdicts, scenarios)
            )
    return found


def browser_pair(card: Scorecard, groups: Mapping[str, list[str]]) -> tuple[str, str] | None:
    """The two browser vendors to compare: the first two, of different products."""
    product_of = {name: product for product, names in groups.items() for name in names}
    browsers = [v.name for v in card.vendors if v.channel == "browser" and v.status == "ready"]
    for i, left in enumerate(browsers):
        for right in browsers[i + 1 :]:
            if product_of.get(left) != product_of.get(right):
                return left, right
    return None


def effort_scenarios(events: Iterable[ResultEvent]) -> list[str]:
    """The scenarios tagged `effort` in the run's suite: give/get lists each of them, even
    where a vendor could not do it (its status says why)."""
    for event in events:
        if isinstance(event, RunStarted):
            return [s.id for s in event.suite.scenarios if "effort" in s.tags]
    return []


def _counts(effort: Mapping[str, int] | None) -> dict[str, int]:
    return {k: int((effort or {}).get(k, 0)) for k in EFFORT_KEYS}


def give_get(
    card: Scorecard, left: str, right: str, tagged: Iterable[str] = ()
) -> list[GiveGetRow]:
    """The scenarios both vendors ran with effort counted, and every effort scenario
    either ran, in the plan's order."""
    vendors = _by_name(card)
    a, b = vendors[left], vendors[right]
    wanted = set(tagged)
    rows = []
    for sid in dict.fromkeys([*a.scenarios, *b.scenarios]):
        mine, other = a.scenarios.get(sid), b.scenarios.get(sid)
        counted = bool(mine and mine.effort) and bool(other and other.effort)
        if not counted and sid not in wanted:
            continue
        rows.append(
            GiveGetRow(
                scenario=sid,
                left=_counts(mine.effort if mine else None),
                right=_counts(other.effort if other else None),
                left_status=mine.status if mine else "not run",
                right_status=other.status if other else "not run",
            )
        )
    return rows


def analyse(
    card: Scorecard, declared: Mapping[str, str] | None = None, tagged: Iterable[str] = ()
) -> ChannelReport:
    """`declared`: each entry's product (`declared_products`); `tagged`: the effort
    scenarios (`effort_scenarios`)."""
    groups = products(card, declared)
    pair = browser_pair(card, groups)
    return ChannelReport(
        products={p: names for p, names in groups.items() if len(names) > 1},
        disagreements=disagreements(card, groups),
        give_get=give_get(card, *pair, tagged) if pair else [],
        give_get_pair=pair,
    )
