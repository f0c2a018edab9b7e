"""Typed access to what `create_app` keeps on `app.state`, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..store.base import PriceStore

__all__ = ["StoreDep", "get_store"]


def get_store(request: Request) -> PriceStore:
    return request.app.state.store


StoreDep = Annotated[PriceStore, Depends(get_store)]
