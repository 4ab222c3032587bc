from pathlib import Path

from piccolo.conf.apps import AppConfig

from ens.spaces.tables import (
    AccessEvent,
    AccessRequest,
    Account,
    CodeGuesses,
    EmergencyAccess,
    Grant,
    HiddenItemRemoved,
    HistoryCheckpoint,
    HistorySealState,
    NotificationPreference,
    Professional,
    Representative,
    Space,
    SpaceCode,
    SpaceErasure,
    SpaceNotice,
    SpaceProfessional,
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
        HistoryCheckpoint,
        HistorySealState,
        SpaceErasure,
        SpaceCode,
        CodeGuesses,
        SpaceNotice,
        HiddenItemRemoved,
        NotificationPreference,
        Professional,
        SpaceProfessional,
        EmergencyAccess,
        AccessRequest,
    ],
    migration_dependencies=["ens.core.piccolo_app"],
)
