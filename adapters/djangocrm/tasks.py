"""Activities are DjangoCRM tasks (`tasks/task/`): a subject, a due date, a stage.

DjangoCRM's tasks stand alone: they link to no company, contact, deal or request, so an
activity's `account`, `contact`, `opportunity` and `case` are not mapped, and its only
kind is "task" (DjangoCRM logs no calls or meetings). A task needs someone responsible: a
sales manager is by default; a superuser picks themself in the form's chooser. Done tasks
leave the default list, so searches ask for all of them.
"""

from __future__ import annotations

from typing import Any

from crmproof.adapter import Refused, Unsupported
from crmproof.protocol import Operation

from .mapping import TASK_STAGE_DONE, TASK_STAGE_PLANNED, TASK_TEXT
from .ui import DjangoAdminUi

TASK = "tasks/task"


class TaskOps(DjangoAdminUi):
    """create/get/update/delete/find/advance for activity."""

    def create_activity(self, op: Operation) -> dict[str, Any]:
        kind = op.data.get("kind")
        if kind not in (None, "task"):
            raise Unsupported(f"DjangoCRM records tasks, not {kind}s")
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
        self.open_page(f"{TASK}/{op.id}/change/")
        return self._read_task(str(op.id))

    def update_activity(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{TASK}/{op.id}/change/")
        self._write_task(op.data)
        if op.data.get("stage"):
            self._set_task_stage(
                TASK_STAGE_DONE if op.data["stage"] == "done" else TASK_STAGE_PLANNED
            )
        self.submit()
        return self._read_task(str(op.id))

    def advance_activity(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{TASK}/{op.id}/change/")
        self._set_task_stage(TASK_STAGE_DONE if op.to == "done" else TASK_STAGE_PLANNED)
        self.submit()
        return self._read_task(str(op.id))

    def delete_activity(self, op: Operation) -> dict[str, Any]:
        return self._delete_record(TASK, str(op.id), op.cleanup)

    def find_activity(self, op: Operation) -> list[dict[str, Any]]:
        # Done tasks are hidden from the list unless asked for.
        return self._find_records(TASK, op.where, self._read_task, text=("subject",), active="all")

    def _write_task(self, data: dict[str, Any]) -> None:
        for canonical, field in TASK_TEXT.items():
            if canonical in data:
                self.put(field, data[canonical])

    def _ensure_responsible(self) -> None:
        """A task needs someone responsible; a superuser must pick one (themself)."""
        page = self.page
        if page.query_selector("#id_responsible_to option") is not None:
            return
        user = self.users[self.actor or str(self.default_actor)][0]
        if page.query_selector(f"#id_responsible_from option:text-is('{user}')") is None:
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
        record = {"id": id_, **{c: self.value(f) for c, f in TASK_TEXT.items()}}
        stage = self.page.eval_on_selector_all(
            "#id_stage input:checked",
            "els => els.map(e => e.closest('label').textContent.trim())",
        )
        record["kind"] = "task"
        record["stage"] = "done" if stage and stage[0] == TASK_STAGE_DONE else "planned"
        return record
