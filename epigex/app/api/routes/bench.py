"""The benchmark's floor: fixed bytes from memory through the same stack (enabled by EPIGEX_BENCH_ENDPOINTS)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from epigex.app.api.deps import Public

router = APIRouter(tags=["bench"], include_in_schema=False, dependencies=[Public])


@lru_cache(maxsize=16)
def _payload(size: int) -> bytes:
    return b"x" * size


@router.get("/bench/floor")
def floor(size: Annotated[int, Query(ge=0, le=50_000_000)] = 1000) -> Response:
    """``size`` bytes, built once and served from memory."""
    return Response(_payload(size), media_type="application/json")
