"""The course's submission ZIP: ``Last_First_Project1.zip`` holding exactly ``gex_predicted.csv``."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import polars as pl

from epigex.store.errors import ConflictError, InputError

# The course's rule: Last_First_Project1.zip — two names of letters (any alphabet: Müller, Jürgen), apostrophes or
# hyphens inside a name, one underscore between them
NAME_RE = re.compile(r"^[^\W\d_](?:[^\W\d_]|['-])*_[^\W\d_](?:[^\W\d_]|['-])*$")
INNER_NAME = "gex_predicted.csv"


def zip_name(name: str) -> str:
    """``Last_First`` (or ``Last_First_Project1.zip``) → ``Last_First_Project1.zip``; a clear error for anything
    else, including a ``.zip`` without ``_Project1``."""
    stem = name.removesuffix(".zip")
    if name.endswith(".zip") and not stem.endswith("_Project1"):
        raise InputError(f"submission file {name!r} must be named Last_First_Project1.zip (the course's rule)")
    stem = stem.removesuffix("_Project1")
    if not NAME_RE.match(stem):
        raise InputError(f"submission name {stem!r} must look like Last_First (letters, one underscore)")
    return f"{stem}_Project1.zip"


def submission_csv(predictions: pl.DataFrame) -> str:
    """``,gene_name,gex_predicted`` with a leading 0-based index, for the test genes in their info-file order."""
    test = predictions.filter(pl.col("split") == "test")
    if test.height == 0:
        raise ConflictError("the cell line has no test info file (…_test_info.tsv): there are no genes to submit")
    values = test["gex_predicted"].to_numpy()
    if not np.isfinite(values).all():
        raise ConflictError("some predictions are not finite numbers; re-run the prediction")
    lines = [",gene_name,gex_predicted"]
    lines += [f"{i},{g},{v!r}" for i, (g, v) in enumerate(zip(test["gene_name"], values.tolist(), strict=True))]
    return "\n".join(lines) + "\n"


def submission_zip(predictions: pl.DataFrame) -> bytes:
    """The ZIP's bytes (deterministic: fixed timestamp in the archive)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(INNER_NAME, date_time=(2025, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, submission_csv(predictions))
    return buf.getvalue()
