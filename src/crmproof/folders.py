"""Where the command line finds a workspace and a run folder, for every command alike."""

from __future__ import annotations

from pathlib import Path

from crmproof.errors import ResultsError

__all__ = ["run_folder", "workspace_path"]


def workspace_path(path: str | None) -> Path:
    return Path(path or ".").resolve()


def run_folder(ws: Path, run: str | None, reports: str | None) -> Path:
    """RUN as a folder, a run id under reports/, or `latest`; it must hold results.jsonl."""
    base = Path(reports) if reports else ws / "reports"
    folder = Path(run) if run and Path(run).is_dir() else base / (run or "latest")
    if not (folder / "results.jsonl").exists():
        raise ResultsError(f"no results.jsonl in {folder}")
    return folder.resolve()
