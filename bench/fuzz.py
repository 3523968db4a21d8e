"""Reader fuzzing: outcomes of epigex's readers and pyBigWig on the same seeded mutants, side by side.

Run: ``python -m bench.fuzz [--per-seed 400] [--seed 12]``. Mutants and workers come from
``tests/ingest/fuzzing.py`` (each read in a worker process with an address-space limit and a time limit).
Classes: clean error, accepted-identical, accepted-different, other (another exception, a broken invariant, a
hang or a crash). pyBigWig reads only the bigWig mutants; its refusals (``None``, ``RuntimeError``) count as
clean errors.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.ingest.fuzzing import make_jobs, run_jobs

CLASSES = ("error", "identical", "different", "other")


def _cls(outcome: str) -> str:
    return "other" if outcome.startswith("other") else outcome


def main() -> None:
    """Make the mutants, read them with both readers, print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--per-seed", type=int, default=400)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = make_jobs(Path(tmp), args.per_seed, seed=args.seed)
        t0 = time.perf_counter()
        mine = run_jobs(jobs, "epigex")
        t_mine = time.perf_counter() - t0
        bw_jobs = [j for j in jobs if j.kind == "bigwig"]
        t0 = time.perf_counter()
        theirs = run_jobs(bw_jobs, "pybigwig", timeout=10)
        t_theirs = time.perf_counter() - t0
    print(f"{len(jobs):,} files ({len(bw_jobs):,} bigWig); epigex {t_mine:.0f} s, pyBigWig {t_theirs:.0f} s\n")
    print("| reader | files | clean error | accepted-identical | accepted-different | other |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind in ("bigwig", "bed", "info"):
        c = Counter(_cls(o) for j, o in zip(jobs, mine, strict=True) if j.kind == kind)
        print(f"| epigex, {kind} | {sum(c.values()):,} | " + " | ".join(f"{c[k]:,}" for k in CLASSES) + " |")
    c = Counter(_cls(o) for o in theirs)
    print(f"| pyBigWig, bigwig | {sum(c.values()):,} | " + " | ".join(f"{c[k]:,}" for k in CLASSES) + " |")
    detail = Counter(o for o in theirs if o.startswith("other"))
    if detail:
        print(
            "\npyBigWig's other outcomes: " + ", ".join(f"{v} × {k.removeprefix('other:')}" for k, v in detail.items())
        )
    bad = Counter(o for o in mine if o.startswith("other"))
    if bad:
        print("\nepigex's other outcomes: " + ", ".join(f"{v} × {k}" for k, v in bad.items()))


if __name__ == "__main__":
    main()
