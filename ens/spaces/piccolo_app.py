from pathlib import Path

from piccolo.conf.apps import AppConfig

from ens.spaces.tables import (
    AccessEvent,
    Account,
    CodeGuesses,
    Grant,
    NotificationPreference,
    Representative,
    Space,
    SpaceCode,
    SpaceErasure,
    SpaceNotice,
)

APP_CONFIG = AppConfig(
    app_name="spaces",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        Account,
        Space,
        Representative,
        Grant,
        AccessEvent,
        SpaceErasure,
        SpaceCode,
        CodeGuesses,
        SpaceNotice,
        NotificationPreference,
    ],
    migration_dependencies=["ens.core.piccolo_app"],
)
