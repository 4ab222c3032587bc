"""Piccolo's configuration: the engine named by ENS_DATABASE_URL and every app with tables."""

from piccolo.conf.apps import AppRegistry

from ens.core.db import engine_for_url
from ens.core.settings import Settings

DB = engine_for_url(Settings.database_url_from_env())

APP_REGISTRY = AppRegistry(
    apps=[
        "ens.core.piccolo_app",
        "ens.spaces.piccolo_app",
        "ens.vitals.piccolo_app",
        "ens.vaccination.piccolo_app",
        "ens.auth.piccolo_app",
        "ens.records.piccolo_app",
        "ens.documents.piccolo_app",
    ]
)
