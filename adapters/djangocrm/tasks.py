"""Activities are DjangoCRM tasks (`tasks/task/`): a subject, a due date, a stage.

DjangoCRM's tasks stand alone: they link to no company, contact, deal or request
(`tasks/models/task.py` Task), so the adapter claims an activity's `account`, `contact`,
`opportunity` and `case` for e-mails only and declares them not offered for a task. An
activity of kind "email" is one of DjangoCRM's e-mails in the CRM, which do link to those
records (emails.py). DjangoCRM has no model for calls or meetings. A task
needs someone responsible: a sales manager is by default; a superuser picks themself in
the form's chooser. Done tasks leave the default list, so searches ask for all of them.
"""

from __future__ import annotations

from typing import Any

from crmproof.adapter import Refused, Unsupported
from crmproof.protocol import Operation

from .emails import RELATIONS, EmailOps, is_email_id
from .mapping import TASK_STAGE_DONE, TASK_STAGE_PLANNED, TASK_TEXT
from .ui import DjangoAdminUi

TASK = "tasks/task"


class TaskOps(EmailOps, DjangoAdminUi):
    """create/get/update/delete/find/advance for activity: tasks, and e-mails (emails.py)."""

    def create_activity(self, op: Operation) -> dict[str, Any]:
        kind = op.data.get("kind")
        if kind == "email":
            return self._create_email(op)
        if kind not in (None, "task"):
            raise Unsupported(
                f"DjangoCRM records tasks and e-mails, not {kind}s (no model for them in "
                "crm/models/ or tasks/models/)"
            )
        _no_task_links(op.data)
        self.open_page(f"{TASK}/add/")
        self._write_task(op.data)
        self._ensure_responsible()
        self.submit()
        task_id = self.id_from_url(TASK)
        if op.data.get("stage") == "done":
            self._set_task_stage(TASK_STAGE_DONE)
            self.submit()
        return self._read_task(task_id)

    def get_activity(self, op: Operation) -> dict[str, Any]:
        if is_email_id(op.id):
            return self._get_email(op)
        with self.reading(op, f"{TASK}/{op.id}/change/"):
            return self._read_task(str(op.id))

    def update_activity(self, op: Operation) -> dict[str, Any]:
        if is_email_id(op.id):
            return self._update_email(op)
        _no_task_links(op.data)
        self.open_page(f"{TASK}/{op.id}/change/")
        self._write_task(op.data)
        if op.data.get("stage"):
            self._set_task_stage(
                TASK_STAGE_DONE if op.data["stage"] == "done" else TASK_STAGE_PLANNED
            )
        self.submit()
        return self._read_task(str(op.id))

    def advance_activity(self, op: Operation) -> dict[str, Any]:
        if is_email_id(op.id):
            return self._update_email(op.model_copy(update={"data": {"stage": op.to}}))
        self.open_page(f"{TASK}/{op.id}/change/")
        self._set_task_stage(TASK_STAGE_DONE if op.to == "done" else TASK_STAGE_PLANNED)
        self.submit()
        return self._read_task(str(op.id))

    def delete_activity(self, op: Operation) -> dict[str, Any]:
        if is_email_id(op.id):
            return self._delete_email(op)
        return self._delete_record(TASK, str(op.id), op.cleanup)

    def find_activity(self, op: Operation) -> list[dict[str, Any]]:
        """Tasks and e-mails; a task links to no record, so a search by one finds none."""
        kind = op.where.get("kind")
        found: list[dict[str, Any]] = []
        if kind in (None, "task") and not any(op.where.get(k) for k in RELATIONS):
            # Done tasks are hidden from the list unless asked for.
            found += self._find_records(
                TASK, op.where, self._read_task, text=("subject",), active="all"
            )
        if kind in (None, "email"):
            found += self._find_emails(op.where)
        return found

    def _write_task(self, data: dict[str, Any]) -> None:
        for canonical, field in TASK_TEXT.items():
            if canonical in data:
                self.put(field, data[canonical])

    def _ensure_responsible(self) -> None:
        """A task needs someone responsible; a superuser must pick one (themself)."""
        if self.exists("#id_responsible_to option"):
            return
        user = self.users[self.actor or str(self.default_actor)][0]
        if not self.exists(f"#id_responsible_from option:text-is('{user}')"):
            return  # no picker offered: let the form say what it needs
        self.select("#id_responsible_from", label=user)
        self.click("#id_responsible_add")

    def _set_task_stage(self, label: str) -> None:
        radio = self.page.query_selector(
            f"xpath=//*[@id='id_stage']//label[normalize-space()='{label}']/input"
        )
        if radio is None:
            raise Refused(f"the task form offers no stage {label!r}")
        if not radio.is_checked():
            self.click_element(radio)
            self.step.add_effort(fields=1)

    def _read_task(self, id_: str) -> dict[str, Any]:
        with self.one_look():
            record = {"id": id_, **{c: self.value(f) for c, f in TASK_TEXT.items()}}
            stage = self.page.eval_on_selector_all(
                "#id_stage input:checked",
                "els => els.map(e => e.closest('label').textContent.trim())",
            )
            record["kind"] = "task"
            record["stage"] = "done" if stage and stage[0] == TASK_STAGE_DONE else "planned"
            return record


def _no_task_links(data: dict[str, Any]) -> None:
    """A task cannot be filed on a record: say so rather than drop the link."""
    links = sorted(k for k in RELATIONS if data.get(k))
    if links:
        raise Unsupported(
            f"a DjangoCRM task links to no {', '.join(links)} (tasks/models/taskbase.py:12, "
            "class TaskBase, has no such field); only an e-mail does"
        )
