"""Every dataset by name, so jobs, the CLI and quality checks can look them up."""

from __future__ import annotations

from collections.abc import Iterable

from .dataset import Dataset

__all__ = ["all_datasets", "get_dataset", "register"]

_DATASETS: dict[str, Dataset] = {}


def register(dataset: type[Dataset]) -> type[Dataset]:
    """Class decorator: make `dataset` reachable by its name."""
    if dataset.name in _DATASETS:
        raise ValueError(f"dataset {dataset.name!r} registered twice")
    _DATASETS[dataset.name] = dataset()
    return dataset


def _load() -> None:
    # Importing the ISO packages registers their datasets.
    from . import ercot, pjm  # noqa: F401


def get_dataset(name: str) -> Dataset:
    _load()
    try:
        return _DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(_DATASETS))
        raise KeyError(f"unknown dataset {name!r}; known: {known}") from None


def all_datasets() -> Iterable[Dataset]:
    _load()
    return [_DATASETS[name] for name in sorted(_DATASETS)]
