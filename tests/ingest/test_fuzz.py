"""Mutation fuzzing of the readers: every outcome is data passing the invariants or a project error."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.ingest.fuzzing import make_jobs, run_jobs


def classify(tmp_path: Path, n_per_seed: int, seed: int) -> tuple[Counter[str], dict[str, str]]:
    jobs = make_jobs(tmp_path, n_per_seed, seed=seed)
    outcomes = run_jobs(jobs)
    by_label = {j.label: o for j, o in zip(jobs, outcomes, strict=True)}
    return Counter(outcomes), by_label


def test_a_few_hundred_mutants(tmp_path: Path) -> None:
    counts, by_label = classify(tmp_path, 40, seed=11)
    others = {label: o for label, o in by_label.items() if o.startswith("other")}
    assert others == {}
    assert sum(counts.values()) > 400
    assert counts["error"] > 100
    assert counts["identical"] > 10
    originals = {label: o for label, o in by_label.items() if label.endswith(":original")}
    assert set(originals.values()) == {"identical"}
    assert by_label["zlib-bomb"] == "error"
    assert by_label["gzip-bomb"] == "error"


@pytest.mark.slow
def test_thousands_of_mutants(tmp_path: Path) -> None:
    counts, by_label = classify(tmp_path, 400, seed=12)
    others = {label: o for label, o in by_label.items() if o.startswith("other")}
    assert others == {}
    assert sum(counts.values()) > 4000
