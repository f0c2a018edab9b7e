"""Redis clients from one URL: a single server, a Sentinel-managed master, or a Cluster.

The change feed (ingest) and the response cache (service) both connect through here, so
one `CARBON254_REDIS_URL` configures both the same way:

- `redis://[[user]:password@]host[:port][/db]`, `rediss://...` (TLS): redis-py's own URL.
- `redis+sentinel://[[user]:password@]host:26379,host2:26379/mymaster[/db]`: ask the
  Sentinels for the master of service `mymaster` (failover is followed on reconnect).
  `rediss+sentinel://` uses TLS to the master; `?sentinel_password=...` if the
  Sentinels have their own password.
- `redis+cluster://[[user]:password@]host:7000,host2:7000`: Redis Cluster from these
  startup nodes (the rest are discovered); `rediss+cluster://` for TLS. Database 0 only.

Clients are made with short socket timeouts and at most one immediate retry: a cache
that is down must cost a request a connection refusal, not a back-off schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

__all__ = ["RedisTarget", "connect_async", "connect_sync", "parse_redis_url"]

_SCHEMES = {
    "redis": ("single", False),
    "rediss": ("single", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
_DEFAULT_PORT = {"single": 6379, "sentinel": 26379, "cluster": 6379}


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """Where a Redis URL points. `url` is kept for the single-server form only."""

    kind: str  # "single" | "sentinel" | "cluster"
    ssl: bool
    nodes: tuple[tuple[str, int], ...]  # the server, the Sentinels, or the startup nodes
    db: int = 0
    service: str | None = None  # Sentinel: the monitored master's name
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    url: str | None = field(default=None, repr=False)  # may hold a password

    def redacted(self) -> str:
        """For logs: the scheme and hosts, never a password."""
        scheme = "rediss" if self.ssl else "redis"
        if self.kind != "single":
            scheme += f"+{self.kind}"
        hosts = ",".join(f"{h}:{p}" for h, p in self.nodes)
        service = f"/{self.service}" if self.service else ""
        return f"{scheme}://{hosts}{service}/{self.db}"


def _split_host(text: str, default_port: int, url: str) -> tuple[str, int]:
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        raise ValueError(f"redis URL {_scrub(url)!r}: empty host in {text!r}")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ValueError(f"redis URL {_scrub(url)!r}: bad port in {text!r}") from None
    return host, port


def _scrub(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def parse_redis_url(url: str) -> RedisTarget:
    """Check `url` and say where it points (no connection is made). ValueError if bad."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _SCHEMES:
        known = ", ".join(f"{s}://" for s in _SCHEMES)
        raise ValueError(f"redis URL {_scrub(url)!r}: scheme must be one of {known}")
    kind, ssl = _SCHEMES[scheme.lower()]
    rest, _, query_text = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = tuple(_split_host(h, _DEFAULT_PORT[kind], url) for h in hosts.split(",") if h)
    if not nodes:
        raise ValueError(f"redis URL {_scrub(url)!r}: no host")
    query = parse_qs(query_text)
    segments = [s for s in path.split("/") if s]
    if kind == "single":
        if len(nodes) != 1:
            raise ValueError(f"redis URL {_scrub(url)!r}: one host only (use redis+cluster://)")
        db = _db(segments[0] if segments else "0", url)
        return RedisTarget(kind, ssl, nodes, db, None, username, password, None, url)
    if kind == "sentinel":
        if not segments:
            raise ValueError(f"redis URL {_scrub(url)!r}: name the master, e.g. /mymaster/0")
        unknown = set(query) - {"sentinel_password"}
        db = _db(segments[1] if len(segments) > 1 else "0", url)
        sentinel_password = query.get("sentinel_password", [None])[0]
    else:
        unknown = set(query)
        db = _db(segments[0] if segments else "0", url)
        if db != 0:
            raise ValueError(f"redis URL {_scrub(url)!r}: Redis Cluster has database 0 only")
        sentinel_password = None
    if unknown:
        raise ValueError(f"redis URL {_scrub(url)!r}: unknown option(s) {sorted(unknown)}")
    service = segments[0] if kind == "sentinel" else None
    return RedisTarget(kind, ssl, nodes, db, service, username, password, sentinel_password)


def _db(text: str, url: str) -> int:
    try:
        db = int(text)
    except ValueError:
        db = -1
    if db < 0:
        raise ValueError(f"redis URL {_scrub(url)!r}: database {text!r} is not a number >= 0")
    return db


def _options(target: RedisTarget, socket_timeout: float, connect_timeout: float) -> dict[str, Any]:
    options: dict[str, Any] = {
        "decode_responses": False,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
    }
    if target.kind != "single":
        options |= {"username": target.username, "password": target.password}
        if target.ssl:
            options["ssl"] = True
    return options


def connect_async(
    target: RedisTarget, *, socket_timeout: float = 1.0, connect_timeout: float = 0.5
) -> Any:
    """A `redis.asyncio` client (`Redis` or `RedisCluster`); it connects on first use."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    options = _options(target, socket_timeout, connect_timeout) | {"retry": Retry(NoBackoff(), 1)}
    if target.kind == "single":
        return Redis.from_url(target.url, **options)
    if target.kind == "sentinel":
        from redis.asyncio.sentinel import Sentinel

        sentinel = Sentinel(
            list(target.nodes), sentinel_kwargs=_sentinel_kwargs(target, options), **options
        )
        return sentinel.master_for(target.service, db=target.db)
    from redis.asyncio.cluster import ClusterNode, RedisCluster

    nodes = [ClusterNode(host, port) for host, port in target.nodes]
    return RedisCluster(startup_nodes=nodes, **options)


def connect_sync(
    target: RedisTarget, *, socket_timeout: float = 1.0, connect_timeout: float = 0.5
) -> Any:
    """A blocking `redis` client, for ingestion threads. A cluster client connects at
    construction, so call this when the client is first needed."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    options = _options(target, socket_timeout, connect_timeout) | {"retry": Retry(NoBackoff(), 1)}
    if target.kind == "single":
        return Redis.from_url(target.url, **options)
    if target.kind == "sentinel":
        from redis.sentinel import Sentinel

        sentinel = Sentinel(
            list(target.nodes), sentinel_kwargs=_sentinel_kwargs(target, options), **options
        )
        return sentinel.master_for(target.service, db=target.db)
    from redis.cluster import ClusterNode, RedisCluster

    nodes = [ClusterNode(host, port) for host, port in target.nodes]
    return RedisCluster(startup_nodes=nodes, **options)


def _sentinel_kwargs(target: RedisTarget, options: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: v for k, v in options.items() if k.startswith("socket_")}
    if target.sentinel_password:
        kwargs["password"] = target.sentinel_password
    return kwargs
