from crmproof.adapter import Adapter
from crmproof.protocol import Capabilities


class TrytonAdapter(Adapter):
    name = "tryton"

    def capabilities(self) -> Capabilities:
        return Capabilities()
