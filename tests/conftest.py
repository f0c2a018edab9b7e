"""Test-session plumbing: real services when present, clear skips (or failures) when not.

`CARBON254_REQUIRE_SERVICES=1` turns "PostgreSQL/Redis/Airflow environment not available"
skips into failures; `CARBON254_REQUIRE_SHARED=1` does the same for `../shared/data`.
CI sets both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from carbon254.store import PriceStore, open_store

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("CARBON254_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def missing(what: str, why: str, require_flag: str) -> None:
    """Skip with a reason, or fail when the environment says this must be present."""
    message = f"{what} not available ({why})"
    if _flag(require_flag):
        pytest.fail(f"{message}; {require_flag}=1 requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """URL of a reachable PostgreSQL maintenance database, or skip."""
    try:
        import psycopg
    except ImportError:
        missing("PostgreSQL", "psycopg is not installed", "CARBON254_REQUIRE_SERVICES")
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as con:
            con.execute("SELECT 1")
    except psycopg.Error as exc:
        missing(
            "PostgreSQL",
            f"{POSTGRES_URL}: {str(exc).splitlines()[0]}",
            "CARBON254_REQUIRE_SERVICES",
        )
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    import psycopg

    name = f"c254_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    yield urlsplit(postgres_server)._replace(path=f"/{name}").geturl()
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` (or `CARBON254_SHARED_DATA`), or skip with the reason."""
    root = Path(os.environ.get("CARBON254_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not root.is_dir():
        missing("shared data", f"{root} does not exist", "CARBON254_REQUIRE_SHARED")
    return root


@pytest.fixture(scope="session")
def airflow_python() -> Path:
    """The Airflow environment's python (`make airflow-venv`, or `CARBON254_AIRFLOW_PYTHON`)."""
    python = Path(os.environ.get("CARBON254_AIRFLOW_PYTHON", REPO / ".venv-airflow/bin/python"))
    if not os.access(python, os.X_OK):
        why = f"{python} does not exist; `make airflow-venv` builds it"
        missing("Airflow environment", why, "CARBON254_REQUIRE_SERVICES")
    return python


BACKENDS = ["duckdb", "postgres"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty store: a DuckDB file, or a fresh schema in the session database."""
    if request.param == "duckdb":
        yield f"duckdb://{tmp_path / 'store.duckdb'}"
        return
    import psycopg

    database = request.getfixturevalue("postgres_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    yield f"{database}?options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(database, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(store_url: str) -> Iterator[PriceStore]:
    with open_store(store_url) as opened:
        yield opened


REDIS_URL = os.environ.get("CARBON254_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a reachable Redis server, or skip. Tests use their own key namespace on it
    (never FLUSHDB: other runs share the server) and delete their keys afterwards."""
    try:
        import redis
    except ImportError:
        missing("Redis", "redis-py is not installed", "CARBON254_REQUIRE_SERVICES")
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2) as r:
            r.ping()
    except (redis.RedisError, OSError) as exc:
        missing("Redis", f"{REDIS_URL}: {exc}", "CARBON254_REQUIRE_SERVICES")
    return REDIS_URL
