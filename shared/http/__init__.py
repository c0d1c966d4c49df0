"""HTTP for every function: FC 3.0 and SCF events <-> one Request/Response model, routing, error rendering.

Stdlib only: this package is imported on every cold start.
"""

from __future__ import annotations

from shared.http.app import Router, error_response, serve
from shared.http.request import Headers, Request, Response

__all__ = ["Headers", "Request", "Response", "Router", "error_response", "serve"]
