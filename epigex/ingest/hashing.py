"""Content hashes of input files (lineage and the no-op check of a re-ingest)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, streamed by :func:`hashlib.file_digest` (it releases the GIL: threads hash in parallel)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
