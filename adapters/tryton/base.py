"""What every Tryton entity handler shares: the session per actor and record helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmproof.adapter import Adapter, Refused, Unsupported
from crmproof.protocol import Operation, Outcome

from .rpc import TrytonClient
from .values import record_id


class TrytonBase(Adapter):
    """Sessions and helpers; the entity mixins build on these."""

    name = "tryton"
    channel = "api"

    def __init__(self) -> None:
        super().__init__()
        self._settings: dict[str, Any] = {}
        self._actors: dict[str, tuple[str, str]] = {}
        self._clients: dict[str | None, TrytonClient] = {}
        self._actor: str | None = None

    # -- sessions --------------------------------------------------------------------

    def open(self, settings: Mapping[str, Any]) -> str | None:
        """Log in as the default user; other actors log in when first used."""
        missing = [k for k in ("url", "database", "user", "password") if not settings.get(k)]
        if missing:
            raise Refused(f"tryton settings lack {', '.join(missing)}")
        self._settings = dict(settings)
        for actor, creds in (settings.get("actors") or {}).items():
            if not (isinstance(creds, Mapping) and creds.get("user") and creds.get("password")):
                raise Refused(f"tryton actor '{actor}' needs settings {{user, password}}")
            self._actors[str(actor)] = (str(creds["user"]), str(creds["password"]))
        client = self._client_for(None)
        return f"{client.server_version()}{self._module_versions()}"

    def _module_versions(self) -> str:
        """The patch levels of the CRM modules, e.g. ' (sale 8.0.5, ...)'; the server
        itself tells only its series."""
        names = ["sale", "sale_opportunity", "account_invoice"]
        try:
            rows = self.search_read("ir.module", [["name", "in", names]], ["name", "version"])
        except Refused:
            return ""
        found = sorted(f"{r['name']} {r['version']}" for r in rows if r["version"])
        return f" ({', '.join(found)})" if found else ""

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def perform(self, op: Operation) -> Outcome:
        # The runner names the actor on every step (after `login` too). Cleanup acts as
        # the configured user, who may delete what a sales rep may not.
        self._actor = None if op.cleanup else op.actor
        return super().perform(op)

    def login(self, op: Operation) -> dict[str, Any]:
        """Check that the actor can log in; the runner then names it on each step."""
        actor = op.actor or op.to or op.id
        if actor not in self._actors:
            raise Unsupported(f"no Tryton user is configured for actor '{actor}'")
        self._client_for(actor)  # logs in now, so a wrong password shows on this step
        return {"id": actor}

    def _client_for(self, actor: str | None) -> TrytonClient:
        if actor not in self._clients:
            if actor is None:
                user, password = self._settings["user"], self._settings["password"]
            elif actor in self._actors:
                user, password = self._actors[actor]
            else:
                raise Unsupported(f"no Tryton user is configured for actor '{actor}'")
            client = TrytonClient(
                self._settings["url"],
                self._settings["database"],
                timeout=float(self._settings.get("timeout") or 30.0),
                client=self.http_client,
            )
            client.login(user, password)
            self._clients[actor] = client
        return self._clients[actor]

    @property
    def rpc(self) -> TrytonClient:
        return self._client_for(self._actor)

    # -- record helpers --------------------------------------------------------------

    def call(self, model: str, method: str, *args: Any, context: dict | None = None) -> Any:
        return self.rpc.model(model, method, *args, context=context)

    def _create_one(self, model: str, values: dict[str, Any]) -> int:
        (new_id,) = self.call(model, "create", [values])
        return int(new_id)

    def read_one(self, model: str, id_: int, fields: list[str], what: str) -> dict[str, Any]:
        rows = self.search_read(model, [("id", "=", id_)], fields, active_test=False)
        if not rows:
            raise Refused(f"no {what} with id {id_}", "not_found")
        return rows[0]

    def search_read(
        self,
        model: str,
        domain: list[Any],
        fields: list[str],
        limit: int | None = None,
        order: list[Any] | None = None,
        active_test: bool = True,
    ) -> list[dict[str, Any]]:
        context = None if active_test else {"active_test": False}
        return self.call(model, "search_read", domain, 0, limit, order, fields, context=context)

    def exists(self, model: str, id_: int) -> bool:
        found = self.call(
            model, "search", [("id", "=", id_)], 0, 1, None, context={"active_test": False}
        )
        return bool(found)

    def target_id(self, op: Operation, model: str, what: str) -> int | None:
        """The id of the record `op` is about; None when a cleanup finds it already gone.

        Any other missing record is refused, as the vendor would refuse it.
        """
        if op.id is None:
            raise Refused(f"{op.op} {what} needs an id")
        id_ = record_id(op.id, what)
        if self.exists(model, id_):
            return id_
        if op.cleanup:
            return None
        raise Refused(f"no {what} with id {op.id}", "not_found")

    def lookup_id(self, model: str, name: str, what: str, field: str = "name") -> int:
        """The id of the record whose `field` is exactly `name` (payment terms, say)."""
        rows = self.search_read(model, [(field, "=", name)], ["id"], limit=1)
        if not rows:
            raise Refused(f"no {what} named {name!r} in Tryton")
        return int(rows[0]["id"])

    @staticmethod
    def reject_unknown(data: Mapping[str, Any], known: set[str], entity: str) -> None:
        unknown = sorted(set(data) - known - {"id"})
        if unknown:
            raise Unsupported(f"the Tryton adapter does not map {entity} field(s) {unknown}")
