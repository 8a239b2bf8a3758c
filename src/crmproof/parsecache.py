"""The plain data of YAML files already parsed, so that loading a big workspace again is fast.

Parsing is most of `crmproof validate`: libyaml builds a node, with two marks, for every
value, and ten thousand scenarios are about 700,000 values. Files rarely change between
two runs, and a file's plain data depends only on its bytes and on how crmproof reads YAML.
So the data of each file that loaded without a problem is kept, keyed by a digest of its
bytes. A file whose bytes changed gets a new key and is parsed again; a file with a
problem is never kept, so its diagnostics always come from the parser.

The cache lives outside the workspace, in `$CRMPROOF_HOME/cache/parsed/`, one file per
workspace folder, written by this user only (mode 600): a workspace can be shared, and
data that no reviewer reads must never stand in for the YAML they read. The file holds
`marshal` data, as Python's own `__pycache__` does, for the same reasons: it is the
fastest to read back (about half the time of JSON for ten thousand scenarios), and it
keeps one object for each of the words that scenarios repeat, so it costs no more memory
than parsing. It starts with a digest of the code that wrote it (this module, the reader
that parsed the YAML, which `yamlsource.reader()` names, and Python's version); a file
from any other writer is ignored. Only the newest `KEEP` workspaces' files are kept.

Each file's documents are marshalled on their own, and unmarshalled only when that file is
loaded: the loader drops a scenario's data as soon as it has checked it, which it could not
if the cache held every file's data (27 MiB for ten thousand scenarios, against 8 MiB of
marshalled bytes).

Positions are not cached: `yamlsource.Document` finds them by parsing the file again, and
only when a diagnostic needs one.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from crmproof import secrets_store

__all__ = ["KEEP", "ParseCache", "cache_folder"]

KEEP = 32
"""Workspaces whose parses are kept; the oldest file beyond these is deleted on save."""

_FORMAT = 2

Entry = list[tuple[int, Any]]
"""A file's documents, each as (its index in the file, its plain data)."""


def cache_folder() -> Path:
    return secrets_store.crmproof_home() / "cache" / "parsed"


def _writer(reader: str) -> str:
    """What the cached data depends on besides the bytes: the code that read them."""
    digest = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16)
    digest.update(f"{_FORMAT} {sys.version} {reader}".encode())
    return digest.hexdigest()


def _key(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=16).digest()


class ParseCache:
    """One workspace's cached parses: read once when made, written once by `save`."""

    def __init__(self, root: Path, reader: str) -> None:
        """`reader` names the parser whose output is kept: a different one keeps nothing."""
        name = hashlib.blake2b(str(root.resolve()).encode(), digest_size=8).hexdigest()
        self.path = cache_folder() / f"{name}.marshal"
        self.writer = _writer(reader)
        self._kept: dict[bytes, bytes] = {}  # each file's entry, marshalled
        self._used: dict[bytes, bytes] = {}
        self.hits = 0
        self.misses = 0
        try:
            writer, kept = marshal.loads(self.path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):  # none yet, or torn: parse instead
            return
        if writer == self.writer and isinstance(kept, dict):
            self._kept = kept

    def get(self, raw: bytes) -> Entry | None:
        """The documents of the file with these bytes; None if they are not kept."""
        key = _key(raw)
        blob = self._kept.get(key)
        if blob is None:
            self.misses += 1
            return None
        self.hits += 1
        self._used[key] = blob
        entry: Entry = marshal.loads(blob)
        return entry

    def put(self, raw: bytes, documents: Entry) -> None:
        with contextlib.suppress(ValueError):  # data marshal cannot write: parsed again
            self._used[_key(raw)] = marshal.dumps(documents)

    def save(self) -> None:
        """Write the entries this load used, if they differ from the file's; never raises.

        The file is replaced whole (written beside it, then renamed), so a reader never sees
        half of it, and two processes loading the same workspace at once both leave a good
        file. Entries of files no longer in the workspace are dropped.
        """
        if self.misses == 0 and self._used.keys() == self._kept.keys():
            return
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".parsed-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(marshal.dumps((self.writer, self._used)))
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _prune(folder)
        except OSError:
            pass  # a cache that cannot be written costs the next load time, nothing else


def _prune(folder: Path) -> None:
    files = []
    for path in folder.glob("*.marshal"):
        try:
            files.append((path.stat().st_mtime, path))
        except OSError:
            continue
    for _, path in sorted(files, reverse=True)[KEEP:]:
        path.unlink(missing_ok=True)
