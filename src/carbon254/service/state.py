"""Typed access to what `create_app` keeps on `app.state`, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..store.base import PriceStore
from .params import Limits

__all__ = ["LimitsDep", "StoreDep", "get_limits", "get_store"]


def get_store(request: Request) -> PriceStore:
    return request.app.state.store


def get_limits(request: Request) -> Limits:
    return request.app.state.limits


StoreDep = Annotated[PriceStore, Depends(get_store)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
