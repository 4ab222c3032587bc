"""No route has litestar resolve two of its dependencies side by side: those are resolved in a task
group, which cost ~7% of a page read's CPU and ~30 us of the change feed's; ens.app chains the
process-wide ones after the door's result instead (access, cursors, settings, blobs)."""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute


def test_every_route_resolves_its_dependencies_one_at_a_time(app: Litestar) -> None:
    side_by_side = [
        (method, route.path, sorted(dependency.key for dependency in batch))
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method, (_, kwargs_model) in route.route_handler_map.items()
        for batch in kwargs_model.dependency_batches
        if len(batch) > 1
    ]
    assert side_by_side == []
