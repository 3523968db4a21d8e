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


@pytest.mark.slow
def test_readme_store_example_reads_partial_cells(trained_copy: Path, demo_dir: Path, tmp_path: Path) -> None:
    """The README's store snippet, run as written on a store that holds a cell with some of the assays."""
    from epigex.ingest.pipeline import ingest_dataset
    from epigex.store.catalog import Store
    from tests.app.services.test_assaysets import partial_folder

    folder = partial_folder(demo_dir, tmp_path / "d", {"P1": "X3"}, {"DNase": ("bigwig", "bed")})
    ingest_dataset(Store(trained_copy), folder)
    block = re.search(r"<!-- example:store -->\n```python\n(.*?)```\n<!-- /example:store -->", README.read_text(), re.S)
    assert block, "the README lost its store example"
    code = block.group(1).replace('"epigex-demo/store"', repr(str(trained_copy)))
    scope: dict[str, object] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "README.md", "exec"), scope)
    features = scope["features"]
    assert isinstance(features, pl.DataFrame)
    counts = dict(features.group_by("cell_line").len().iter_rows())
    assert counts == {"X1": 16_284, "X2": 16_284, "X3": 1_984, "P1": 1_984}
    h3k27ac = next(c for c in features.columns if c.startswith("H3K27ac"))
    assert features.filter(pl.col("cell_line") == "P1")[h3k27ac].null_count() == 1_984  # not P1's assay
    alone = scope["x3"].select(h3k27ac).collect()  # type: ignore[attr-defined]
    assert features.filter(pl.col("cell_line") == "X3")[h3k27ac].to_list() == alone[h3k27ac].to_list()
