"""Request and response schemas of the HTTP API (kept apart from the store's rows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from epigex.ingest.layout import CELL_NAME

CELL_NAME_PATTERN = CELL_NAME.pattern


def _utc(value: datetime) -> datetime:
    """The store keeps UTC without a zone; the API says so (RFC 3339, e.g. ``2026-11-30T01:02:03Z``)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]


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
    created_at: UtcTime | None
    finished_at: UtcTime | None
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
    created_at: UtcTime | None
    seconds: float | None
    project: str | None = Field(default=None, description="the project it belongs to (none: public to all)")
    public: bool = Field(default=True, description="readable by every user, not only its project's")


class CellLineDetail(CellLineOut):
    """A cell line with its tracks, QC and feature status."""

    qc: dict[str, Any]
    tracks: list[TrackOut]
    feature_sets: list[str]
    ready_for_active_model: bool
    predictions_for: list[str]


class TrainIn(BaseModel):
    """A training request."""

    cells: list[Annotated[str, StringConstraints(pattern=CELL_NAME_PATTERN)]] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        json_schema_extra={"uniqueItems": True},
        description="labelled cells, each once (default: every labelled cell)",
    )
    profile: Literal["quick", "full"] = "full"
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    for_cell: Annotated[str, StringConstraints(pattern=CELL_NAME_PATTERN)] | None = Field(
        default=None,
        description=(
            "train the model a cell line with some of the tracks needs (on every labelled cell, exactly its "
            "tracks, the quick profile; not made active) instead; cells, profile and seed are then not used"
        ),
    )


class ModelOut(BaseModel):
    """A registered model, briefly."""

    id: str
    created_at: UtcTime | None
    active: bool
    profile: str
    cells: list[str]
    features: int
    tracks: list[str] | None = Field(
        default=None, description="the tracks (assay:kind) it was trained on; null: every track of its cells"
    )
    mask_rule: str
    threshold: float
    stack_spearman_masked: dict[str, float]
    project: str | None = Field(default=None, description="the project that trained it (none: the admin)")
    shared: bool = Field(default=False, description="an admin shared it: usable by every user")


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
    p_expressed: float = Field(description="calibrated probability that the gene is expressed (gex > 0)")
    rank_predicted: float
    pct_lo: float | None = Field(description="90 % interval of the gene's expression percentile in its cell: low")
    pct_hi: float | None = Field(description="… and high (null for models trained before intervals existed)")
    references: str = Field(
        default="",
        description="the labelled reference cells whose measured expression informed this gene, comma-separated; "
        "empty when none did (the marks-only prediction)",
    )


class ReferencesSummary(BaseModel):
    """Which references informed a cell's predictions (reference-informed prediction)."""

    genes: int
    informed_genes: int = Field(description="genes some reference measured (the others: the marks-only stack)")
    cells: dict[str, int] = Field(description="per reference cell, how many genes it informed")


class PredictionsOut(BaseModel):
    """Predictions of a model for a cell line's genes."""

    cell_line: str
    model_id: str
    qc_verdict: Literal["pass", "warn", "fail"] | None = Field(
        description="the cell's track QC verdict (GET /cell-lines/{name}/qc says why); also the X-Epigex-QC header"
    )
    references: ReferencesSummary | None = Field(
        default=None, description="which labelled reference cells informed these predictions, on how many genes"
    )
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
    pct_lo: float | None
    pct_hi: float | None
    references: str = Field(
        default="", description="the reference cells that informed the prediction (the SHAP values explain the marks)"
    )
    marks_only: dict[str, float] | None = Field(
        default=None,
        description="for a gene references informed: the marks-only prediction the SHAP values explain",
    )
    stages: dict[Literal["classifier", "regressor"], StageOut]


class TrackQcOut(BaseModel):
    """One track's QC verdict."""

    assay: str
    kind: Literal["bigwig", "bed"]
    verdict: Literal["pass", "warn", "fail"]
    looks_like: str
    reasons: list[str]
    distance: float | None = None
    signal_vs_training: float | None = None


class QcOut(BaseModel):
    """A cell line's track QC and drift from the training cells."""

    cell_line: str
    verdict: Literal["pass", "warn", "fail"]
    references: list[str]
    tracks: list[TrackQcOut]
    drift: dict[str, Any] | None
    note: str | None = None


class SeedOut(BaseModel):
    """Where the first-start seed job stands (``/readyz`` while it has made no model yet)."""

    job_id: str
    status: str
    progress: float
    message: str
    error: str | None = None


class HealthOut(BaseModel):
    """Liveness / readiness."""

    status: str
    model_id: str | None = None
    detail: str | None = None
    seed: SeedOut | None = None


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses (each answers :class:`ErrorOut`)."""
    return {c: {"model": ErrorOut} for c in codes}


class AuditOut(BaseModel):
    """One line of the audit trail: who did what to which cell line, model or user, and when."""

    at: UtcTime
    actor: str
    project: str | None
    action: str
    target: str
    bytes: int
    detail: str


class OwnerOut(BaseModel):
    """Who owns a cell line or a model after a change of sharing."""

    kind: Literal["cell", "model"]
    name: str
    project: str | None
    public: bool
