"""Reports over plain HTTP: exports of executions, the original REST API, and BI feeds.

    GET    /api/v1/analytics/executions/{id}[.json|.csv|.pdf]   status, or the result as a file    exports.py
    GET    /api/v1/analytics/executions/{id}/download           the tenant's defaultExportFormat   exports.py
    POST   /api/v1/analytics/reports                            generate (202, the execution)      rest.py
    GET    /api/v1/analytics/reports[/{id}]                     saved reports; one, latest run     rest.py
    POST   /api/v1/analytics/reports/{id}/feeds                 issue a feed (the token, once)     feeds.py
    GET    /api/v1/analytics/reports/{id}/feeds                 a report's feeds                   feeds.py
    DELETE /api/v1/analytics/feeds/{feedId}                     revoke a feed                      feeds.py
    GET    /api/v1/feeds/{token}.csv | .json                    a feed: the latest result          feeds.py

Every endpoint but the feed takes the same bearer JWT as /graphql; tenant and visibility rules are in
visibility.py. Errors are GraphQL-shaped with a stable `extensions.code` (_common.py).
"""

from __future__ import annotations

from starlette.routing import Route

from gateway.reports.http import exports, feeds, rest
from gateway.reports.http.feeds import install_token_redaction


def routes() -> list[Route]:
    return [
        Route("/api/v1/analytics/reports", rest.reports, methods=["GET", "POST"]),
        Route("/api/v1/analytics/reports/{report}", rest.report, methods=["GET"]),
        Route("/api/v1/analytics/reports/{report}/feeds", feeds.feeds_of_report, methods=["GET", "POST"]),
        Route("/api/v1/analytics/feeds/{feed}", feeds.feed, methods=["DELETE"]),
        Route("/api/v1/analytics/executions/{execution}", exports.execution, methods=["GET"]),
        Route("/api/v1/analytics/executions/{execution}/download", exports.download, methods=["GET"]),
        Route("/api/v1/feeds/{feed}", feeds.serve, methods=["GET"]),
    ]


__all__ = ["install_token_redaction", "routes"]
