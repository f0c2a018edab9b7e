"""service layer (see DESIGN.md): the FastAPI application.

Modules, one job each: `app` (create_app), `problems` (RFC 9457 errors), `params`
(query parameter parsing), `negotiation` (Accept), `formats` (JSON/Arrow encoding),
`state` (app.state dependencies), `routes/` (one router per resource), `server` (uvicorn).
"""

from .app import create_app

__all__ = ["create_app"]
