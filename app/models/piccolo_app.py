"""Piccolo app config: the tables and their migrations."""

import os

from piccolo.conf.apps import AppConfig

from app.models import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="sohbet",
    migrations_folder_path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
