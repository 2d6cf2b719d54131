"""Piccolo configuration: the engine comes from DATABASE_URL (SQLite file under data/ by default).

The app rebinds its tables to the engine built from its own Settings (see app/models/db.py); this module is what
Piccolo's own tooling (`piccolo migrations ...`, through the top-level piccolo_conf.py) and `sohbet migrate` read.
It lives inside the package so that an installed (non-editable) Sohbet migrates too.
"""

import os
from pathlib import Path

from piccolo.conf.apps import AppRegistry

from app.models.engine import make_engine
from app.settings import DEFAULT_DATA_DIR, read_dotenv

_url = os.environ.get("DATABASE_URL") or read_dotenv(Path.cwd() / ".env").get("DATABASE_URL", "")
if not _url:
    _data_dir = Path(os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR)
    _url = f"sqlite:///{_data_dir / 'sohbet.sqlite3'}"

DB = make_engine(_url, pooled=False)

APP_REGISTRY = AppRegistry(apps=["app.models.piccolo_app"])
