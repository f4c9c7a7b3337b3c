"""Finding a configured endpoint's route by dictionary lookup instead of a linear scan.

Starlette matches routes one by one, so with 1,000 endpoints the last one paid for 999 regex
matches. The table is one route in the app's router: exact paths are a dict lookup, templated
paths are grouped by their static prefix (`/orchestrator/iris/predict/` for
`.../predict/{flower_id}`), so only a handful of regexes run per request.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

try:  # Starlette's own notion of the path a router matches (mounts strip their prefix)
    from starlette._utils import get_route_path
except ImportError:  # pragma: no cover - older Starlette

    def get_route_path(scope: Scope) -> str:
        return str(scope["path"])


_ROUTE_KEY = "orkestra.route"


class EndpointTable(BaseRoute):
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.exact: dict[str, list[Route]] = {}
        self.by_prefix: dict[str, list[Route]] = {}
        for route in routes:
            brace = route.path.find("{")
            if brace < 0:
                self.exact.setdefault(route.path, []).append(route)
            else:
                self.by_prefix.setdefault(route.path[:brace], []).append(route)

    def candidates(self, path: str) -> list[Route]:
        found = list(self.exact.get(path, ()))
        if self.by_prefix:
            end = path.rfind("/")
            while end >= 0:  # longest static prefix first
                found.extend(self.by_prefix.get(path[: end + 1], ()))
                end = path.rfind("/", 0, end)
        return found

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        partial: tuple[Route, Scope] | None = None
        for route in self.candidates(get_route_path(scope)):
            match, child = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child, _ROUTE_KEY: route}
            if match is Match.PARTIAL and partial is None:
                partial = (route, child)
        if partial is not None:  # the path exists, the method does not: 405
            return Match.PARTIAL, {**partial[1], _ROUTE_KEY: partial[0]}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: Route = scope[_ROUTE_KEY]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)
