"""Piccolo configuration: the engine comes from DATABASE_URL (SQLite file under data/ by default).

The app rebinds its tables to the engine built from its own Settings (see app/models/db.py); this module is what
Piccolo's own tooling (`piccolo migrations ...`) and `sohbet migrate` read.
"""

import os
from pathlib import Path

from piccolo.conf.apps import AppRegistry

from app.models.db import make_engine
from app.settings import PROJECT_ROOT, read_dotenv

_url = os.environ.get("DATABASE_URL") or read_dotenv(Path.cwd() / ".env").get("DATABASE_URL", "")
if not _url:
    _data_dir = Path(os.environ.get("DATA_DIR") or PROJECT_ROOT / "data")
    _url = f"sqlite:///{_data_dir / 'sohbet.sqlite3'}"

DB = make_engine(_url)

APP_REGISTRY = AppRegistry(apps=["app.models.piccolo_app"])
