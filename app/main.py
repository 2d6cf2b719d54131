"""uvicorn entry point: `uvicorn --factory app.main:app_factory` builds the app from the environment.

Serving is where logging gets configured (JSON lines on stderr): every uvicorn worker process calls this."""

from litestar import Litestar

from app import create_app
from app.logs import configure_logging
from app.settings import Settings


def app_factory() -> Litestar:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)
