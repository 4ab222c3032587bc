from pathlib import Path

from piccolo.conf.apps import AppConfig

from ens.documents.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="documents",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=["ens.spaces.piccolo_app"],
)
