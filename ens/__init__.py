"""ENS: the backend of a patient health space."""

import os

# Piccolo finds its configuration by module name; ours ships inside the package so that `ens`
# works from any directory and an installed copy can never go stale.
os.environ.setdefault("PICCOLO_CONF", "ens.core.piccolo_conf")
