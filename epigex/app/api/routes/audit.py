"""The audit trail: who uploaded, trained, activated, shared and deleted what, and when (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from epigex.app.api.deps import Admin, StoreDep
from epigex.app.api.schemas import AuditOut, error_responses
from epigex.store.access import audit_rows

router = APIRouter(tags=["audit"])


@router.get("/audit", dependencies=[Admin], response_model=list[AuditOut], responses=error_responses(401, 403, 422))
def audit(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="lines, newest first")] = 100,
    actor: Annotated[str | None, Query(max_length=64, description="only this user's lines")] = None,
) -> list[AuditOut]:
    """The newest lines of the audit trail (admins only)."""
    return [AuditOut(**row) for row in audit_rows(store, limit, actor)]
