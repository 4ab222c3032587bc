"""For piccolo's own CLI run from the repository root; the configuration lives in ``ens.core.piccolo_conf``."""

from ens.core.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
