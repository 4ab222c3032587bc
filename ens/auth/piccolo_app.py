"""Piccolo app of the login and OAuth server tables."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from ens.auth.tables import AUTH_TABLES

APP_CONFIG = AppConfig(
    app_name="auth",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=list(AUTH_TABLES),
    migration_dependencies=["ens.spaces.piccolo_app"],
)
