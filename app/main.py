"""uvicorn entry point: `uvicorn --factory app.main:app_factory` builds the app from the environment."""

from litestar import Litestar

from app import create_app


def app_factory() -> Litestar:
    return create_app()
