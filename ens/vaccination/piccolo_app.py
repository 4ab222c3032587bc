from pathlib import Path

from piccolo.conf.apps import AppConfig

from ens.vaccination.tables import Vaccination, VaccinationBooklet, Vaccine

APP_CONFIG = AppConfig(
    app_name="vaccination",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Vaccine, Vaccination, VaccinationBooklet],
    migration_dependencies=["ens.spaces.piccolo_app"],
)
