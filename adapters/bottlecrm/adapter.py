from crmproof.adapter import Adapter
from crmproof.protocol import Capabilities


class BottleCRMAdapter(Adapter):
    name = "bottlecrm"

    def capabilities(self) -> Capabilities:
        return Capabilities()
