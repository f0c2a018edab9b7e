"""service layer (see DESIGN.md): the FastAPI application.

Modules, one job each: `app` (create_app), `settings` (configuration from the
environment), `services` (seed services and their ports), `openapi` (the document),
`problems` (RFC 9457 errors), `params` (query parameter parsing), `negotiation` (Accept),
`formats` (JSON/Arrow/CSV/Parquet encoding), `cursor` and `paging` (cursor pagination),
`localtime` (tz columns), `spreads`, `curves` and `curve_uploads` (what their routes
compute), `state` (app.state dependencies), `routes/` (one router per resource),
`graphql/`, `cache/`, `auth/`, `metrics/`, `server` (uvicorn).
"""

from .app import create_app

__all__ = ["create_app"]
