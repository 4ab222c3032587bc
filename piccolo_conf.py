"""For piccolo's own CLI run from the repository root; the configuration lives in ``ens.piccolo_conf``."""

from ens.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
