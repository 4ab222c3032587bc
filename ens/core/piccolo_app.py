"""Piccolo app for the core tables shared by every capability (idempotency keys)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from ens.core.tables import IdempotencyKey, RateCounter

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[IdempotencyKey, RateCounter],
)
