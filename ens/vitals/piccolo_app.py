from pathlib import Path

from piccolo.conf.apps import AppConfig

from ens.vitals.tables import (
    VitalDeletedRecord,
    VitalDeletionFreeSpace,
    VitalFeedCounter,
    VitalHide,
    VitalMeasurement,
    VitalTombstone,
)

APP_CONFIG = AppConfig(
    app_name="vitals",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        VitalMeasurement,
        VitalTombstone,
        VitalFeedCounter,
        VitalDeletedRecord,
        VitalDeletionFreeSpace,
        VitalHide,
    ],
    migration_dependencies=["ens.spaces.piccolo_app"],
)
