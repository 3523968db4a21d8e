"""The Python API, used only through ``import epigex``, and the README's example run as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import polars as pl
import pytest

import epigex
from epigex.store.errors import EpigexError

README = Path(__file__).resolve().parents[1] / "README.md"


def test_public_api_returns_frames(trained_copy: Path) -> None:
    models = epigex.list_models(store=trained_copy)
    assert models.height == 1
    assert models["active"].to_list() == [True]
    model = epigex.train(store=trained_copy, profile="quick")  # nothing changed: the same model, reused
    assert model == models["id"][0]
    val = epigex.validation(model, store=trained_copy)
    assert {"setup", "cell", "spearman_masked"} <= set(val.columns)
    x3 = epigex.predict("X3", store=trained_copy)
    assert x3.columns == [
        "gene_name",
        "gex_predicted",
        "p_expressed",
        "rank_predicted",
        "pct_lo",
        "pct_hi",
        "references",
    ]
    refs = epigex.reference_validation(model, store=trained_copy)
    assert refs["cell"].to_list() == ["X1", "X2"]  # each predicted from the other
    assert (refs["learned"] > refs["marks only"]).all()
    checked = epigex.qc("X3", store=trained_copy)
    assert checked.height == 14
    assert set(checked["verdict"]) <= {"pass", "warn", "fail"}
    assert x3.height == 1984
    why = epigex.explain("CAPN9", "X3", store=trained_copy, top=3)
    assert why.columns == ["stage", "feature", "value", "shap", "base_value"]
    assert why.group_by("stage").len().sort("stage")["len"].to_list() == [3, 3]
    assert isinstance(x3.to_pandas().iloc[0]["gene_name"], str)
    with pytest.raises(EpigexError, match="unknown cell line 'NOPE'"):
        epigex.predict("NOPE", store=trained_copy)


@pytest.mark.slow
def test_readme_python_example(trained_copy: Path) -> None:
    block = re.search(
        r"<!-- example:python -->\n```python\n(.*?)```\n<!-- /example:python -->", README.read_text(), re.S
    )
    assert block, "the README lost its Python example"
    code = block.group(1).replace('"epigex-demo/store"', repr(str(trained_copy)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    printed = out.getvalue()
    assert "CAPN9" not in printed or "classifier" in printed
    assert "spearman_masked" in printed
    assert isinstance(epigex.predict("X3", store=trained_copy), pl.DataFrame)
