"""Request and response schemas of the HTTP API (kept apart from the store's rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """Every error: what is wrong and how to fix it."""

    detail: str


class Accepted(BaseModel):
    """A background job was queued (or finished at once when there was nothing to do)."""

    job_id: str
    status_url: str


class CellAccepted(Accepted):
    """An upload was accepted; its ingest runs as a job."""

    cell_line: str


class JobOut(BaseModel):
    """A background job's state."""

    id: str
    kind: Literal["ingest", "train", "seed"] | str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float = Field(ge=0, le=1)
    message: str
    error: str | None
    created_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None


class TrackOut(BaseModel):
    """One input track of a cell line."""

    assay: str
    kind: str
    original_name: str
    sha256: str
    bytes: int
    naming: str | None
    build: str | None
    log1p_mean: float | None
    log1p_std: float | None
    genes_without_signal: int | None
    kept_in_store: bool


class CellLineOut(BaseModel):
    """A cell line in the store."""

    name: str
    labelled: bool
    genes: int
    source: str
    created_at: datetime | None
    seconds: float | None


class CellLineDetail(CellLineOut):
    """A cell line with its tracks, QC and feature status."""

    qc: dict[str, Any]
    tracks: list[TrackOut]
    feature_sets: list[str]
    ready_for_active_model: bool
    predictions_for: list[str]


class TrainIn(BaseModel):
    """A training request."""

    cells: list[str] | None = Field(default=None, description="labelled cells (default: every one)")
    profile: Literal["quick", "full"] = "full"
    seed: int = 0


class ModelOut(BaseModel):
    """A registered model, briefly."""

    id: str
    created_at: datetime | None
    active: bool
    profile: str
    cells: list[str]
    features: int
    mask_rule: str
    threshold: float
    stack_spearman_masked: dict[str, float]


class ModelDetail(ModelOut):
    """A registered model with its parameters, lineage and validation metrics."""

    feature_set: str
    seed: int
    setups: list[str]
    selected_features: list[str]
    params: dict[str, Any]
    lineage: dict[str, Any]
    metrics: dict[str, Any]
    timings: dict[str, float]
    n_boosters: int


class PredictionRow(BaseModel):
    """One gene's prediction."""

    gene_name: str
    gex_predicted: float
    p_expressed: float
    rank_predicted: float


class PredictionsOut(BaseModel):
    """Predictions of a model for a cell line's genes."""

    cell_line: str
    model_id: str
    predictions: list[PredictionRow]


class ContributionOut(BaseModel):
    """One feature's SHAP contribution."""

    feature: str
    value: float | None
    shap: float


class StageOut(BaseModel):
    """One stage's explanation, in the booster's raw-score units."""

    base_value: float
    contributions: list[ContributionOut]


class ExplanationOut(BaseModel):
    """SHAP contributions of both stages for one gene, averaged over the stacked setups."""

    gene: str
    cell_line: str
    model_id: str
    gex_predicted: float
    p_expressed: float
    rank_predicted: float
    stages: dict[Literal["classifier", "regressor"], StageOut]


class HealthOut(BaseModel):
    """Liveness / readiness."""

    status: str
    model_id: str | None = None
    detail: str | None = None
