"""What the `carbon254` command's modules share: the bad-input error, dates, the store.

Kept apart from `cli.py` so that `python -m carbon254.cli` (where `cli` runs as
`__main__`) and the subcommand modules raise and catch the very same `UsageError`.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import PriceStore

__all__ = ["UsageError", "open_store_arg", "parse_date"]


class UsageError(Exception):
    """Bad input from the user: exit code 2."""


def parse_date(text: str) -> date:
    """An argparse type: YYYY-MM-DD (a bad one exits 2 with a usage line)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def open_store_arg(args: argparse.Namespace) -> PriceStore:
    """Open the store lazily: `carbon254 --help` must work with the SDK install alone."""
    try:
        from .store import open_store
    except ImportError as exc:
        raise UsageError(
            f"the store needs the server extras: pip install 'carbon254[server]' ({exc})"
        ) from None
    return open_store(args.store)
