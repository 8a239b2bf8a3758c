"""DjangoCRM through its web UI only: every operation is what a user would click and type.

No ORM, no HTTP shortcuts: the adapter logs in on the CRM's login page and works the
Django admin forms of the CRM site (`/en/123/`). What no user does (the runner's read-back
of a write, the adapter's own look-ups and cleanup) asks the same pages in the same
session without drawing them (ui.DjangoAdminUi.quietly). Settings:

    url:       the sandbox or server, e.g. http://127.0.0.1:8000
    user / password:             the default actor, `admin` (a superuser)
    actors:    {rep_a: {user, password}, rep_b: {user, password}}   sales managers
    country:   the country chosen when a deal's request needs one (default United States)
    trace / timeout / browser:   see crmproof.browser

An actor acts in the scenario's one browser context: switching logs the previous user
out (clears the session cookie) and logs the next one in, which counts as that step's
effort (a session of this run is restored instead after the first log-in: see
crmproof.browser; it counts the same). Records another department owns are invisible to
a sales manager: DjangoCRM redirects with "doesn't exist", which the adapter reports as a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from crmproof.adapter import Refused, VendorError
from crmproof.protocol import Capabilities, EntitySupport, RecordRef

from .emails import EMAIL, PREFIX, RELATIONS
from .people import COMPANY, CONTACT, LEAD, PeopleOps
from .sales import DEAL, REQUEST, SalesOps
from .sandbox import installed_version
from .tasks import TASK, TaskOps
from .ui import LOGIN_PATH

CRUD = ["create", "get", "update", "delete", "find"]

# Where leftovers are searched, newest dependants first (so deleting them in this order
# never trips over a cascade).
LEFTOVER_LISTS = [
    ("activity", EMAIL, {}),
    ("activity", TASK, {"active": "all"}),
    ("opportunity", DEAL, {"active": "all"}),
    ("case", REQUEST, {}),
    ("lead", LEAD, {}),
    ("contact", CONTACT, {}),
    ("account", COMPANY, {}),
]


_NO_ORDERS = (
    "DjangoCRM has no order or invoice model (crm/models/: company, contact, lead, "
    "request, deal, output, payment, product, crmemail, ...); a deal's products are "
    "outputs and its money payments (crm/models/payment.py:90)"
)
_NO_CALLS = (
    "DjangoCRM records tasks (tasks/models/task.py:13) and e-mails "
    "(crm/models/crmemail.py:9), and no calls or meetings: there is no such model in "
    "crm/models/ or tasks/models/"
)

_TASK_LINKS = (
    "a task links to no company, contact, deal or request: tasks/models/task.py:13 "
    "(class Task: task, project, stage) and tasks/models/taskbase.py:12 (class TaskBase: "
    "people, dates, tags); only an e-mail in the CRM does (crm/models/crmemail.py:41-64)"
)


class DjangoCrmAdapter(PeopleOps, SalesOps, TaskOps):
    name: ClassVar[str] = "djangocrm"
    version: ClassVar[str] = "0.1.0"
    default_actor: ClassVar[str | None] = "admin"

    # What the product lacks, with where django-crm-admin 3.1's source shows it.
    not_offered: ClassVar[dict[str, str]] = {
        **{f"{op} {entity}": _NO_ORDERS for entity in ("order", "invoice") for op in CRUD},
        "advance order to confirmed": _NO_ORDERS,
        "invoice order": _NO_ORDERS,
        "convert opportunity": _NO_ORDERS,
        "activity.kind=call": _NO_CALLS,
        "activity.kind=meeting": _NO_CALLS,
        **{f"activity.{link} when kind=task": _TASK_LINKS for link in RELATIONS},
        "account.parent": ("crm/models/company.py:11 (class Company) has no parent company field"),
        "account.payment_term": "crm/models/company.py:11 (class Company) has no payment term",
        "case.priority": "a case is a request (crm/models/request.py:29) with no priority",
        "advance case to pending": (
            "a request is open or closed; its `pending` box (crm/models/request.py:167-171) "
            "means 'waiting for validation of fields filling', not on hold"
        ),
        "lead.amount": "crm/models/lead.py:10 (class Lead) has no amount",
        "advance lead to contacted": (
            "a lead is new or disqualified (crm/models/lead.py:15), nothing in between"
        ),
        "advance lead to qualified": (
            "a lead is new or disqualified (crm/models/lead.py:15); qualifying it is "
            "converting it (crm/site/leadadmin.py, the Convert button)"
        ),
        "opportunity.probability": (
            "Deal.probability exists (crm/models/deal.py:92) but the deal form does not "
            "show it (crm/site/dealadmin.py:283-355, get_fieldsets)"
        ),
        "opportunity.close_date": (
            "a deal has no expected close date: `closing_date` is set when it closes and is "
            "read-only (crm/site/dealadmin.py:399)"
        ),
    }
    channel_limits: ClassVar[dict[str, str]] = {}
    # Scenarios at once, each with its own browser, records and sessions (DjangoCRM keeps
    # its messages in the session: two workers on one session would read each other's).
    # The Django server answers requests in threads; the sandbox's SQLite (WAL, writes
    # waiting for the write lock, sandbox.py) takes one write at a time and lets reads go
    # on. Two, for two cores.
    max_workers: ClassVar[int] = 2

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, tuple[str, str]] = {}

    def open(self, settings: Mapping[str, Any]) -> str | None:
        missing = [k for k in ("url", "user", "password") if not settings.get(k)]
        if missing:
            raise VendorError(f"djangocrm settings lack {', '.join(missing)}")
        self.base_url = str(settings["url"]).rstrip("/")
        self.users = {self.default_actor: (str(settings["user"]), str(settings["password"]))}
        for actor, creds in (settings.get("actors") or {}).items():
            self.users[str(actor)] = (str(creds["user"]), str(creds["password"]))
        super().open(settings)
        return settings.get("version") or installed_version(self.base_url)

    def capabilities(self) -> Capabilities:
        return Capabilities(
            entities={
                "account": EntitySupport(
                    operations=CRUD, fields=["name", "email", "phone", "website", "country"]
                ),
                "contact": EntitySupport(
                    operations=CRUD,
                    fields=[
                        "first_name",
                        "last_name",
                        "name",
                        "email",
                        "phone",
                        "title",
                        "account",
                    ],
                ),
                "lead": EntitySupport(
                    operations=[*CRUD, "convert", "advance"],
                    fields=[
                        "name",
                        "first_name",
                        "last_name",
                        "company",
                        "email",
                        "phone",
                        "account",
                        "source",
                        "stage",
                    ],
                    stages=["new", "lost"],
                ),
                "opportunity": EntitySupport(
                    operations=[*CRUD, "advance"],
                    fields=[
                        "name",
                        "account",
                        "contact",
                        "amount",
                        "description",
                        "lost_reason",
                        "stage",
                    ],
                    stages=[
                        "prospecting",
                        "qualification",
                        "proposal",
                        "negotiation",
                        "won",
                        "lost",
                    ],
                ),
                "case": EntitySupport(
                    operations=[*CRUD, "advance"],
                    fields=["subject", "description", "account", "contact", "stage"],
                    stages=["open", "closed"],
                ),
                "activity": EntitySupport(
                    operations=[*CRUD, "advance"],
                    fields=["subject", "kind", "description", "due_date", "stage", *RELATIONS],
                    # An e-mail links to them (emails.py), a task to none.
                    only_when={link: {"kind": ["email"]} for link in RELATIONS},
                    stages=["planned", "done"],
                ),
            },
            operations=["login", "offline", "online"],
            actors=sorted(self.users) or ["admin", "rep_a", "rep_b"],
        )

    # -- actors --------------------------------------------------------------------------

    def switch_actor(self, actor: str) -> None:
        """Log out whoever is in, then log `actor` in on the CRM's login page."""
        if actor not in self.users:
            raise Refused(f"no credentials for actor {actor!r} (settings: actors)")
        username, password = self.users[actor]
        self.context.clear_cookies()
        self.actor = None
        self.goto(f"{self.base_url}{LOGIN_PATH}")
        self.fill("input[name=username]", username)
        self.fill("input[name=password]", password)
        self.click("#login-form input[type=submit], form input[type=submit]", navigates=True)
        if self.exists("input[name=password]"):
            said = self.page.eval_on_selector_all(
                ".errornote", "els => els.map(e => e.textContent.trim()).join(' ')"
            )
            raise VendorError(f"DjangoCRM refused the login of {actor}: {said or 'no reason'}")
        self.actor = actor

    # -- what a scenario left behind ------------------------------------------------------

    def leftovers(self, marker: str) -> list[RecordRef]:
        """Records, as the admin sees them, that the lists' search finds by `marker`.

        A request that is not a case (a deal's) is listed as a case all the same: it is
        the only canonical entity a DjangoCRM request maps to, and deleting it as one
        removes it.
        """
        own_context = self.context is None
        if own_context:
            self.begin("leftovers")
        try:
            if self.actor != self.default_actor:
                self.become(self.default_actor)
            found: list[RecordRef] = []
            with self.quietly():  # the harness's check: no user looks
                for entity, model_path, query in LEFTOVER_LISTS:
                    # The search looks in names, e-mails and descriptions alike (a lead's
                    # title is in its description), so every hit carries the marker.
                    # Every department's: a superuser's session may have chosen one.
                    for row in self.list_rows(model_path, q=marker, department="all", **query):
                        id_ = PREFIX + row["id"] if model_path == EMAIL else row["id"]
                        found.append(RecordRef(entity=entity, id=id_))
            return found
        finally:
            if own_context:
                self.end("leftovers", "passed")
