"""Piccolo's configuration for its own tooling run from a checkout (`piccolo migrations new sohbet --auto`).
The configuration itself is app/models/piccolo_conf.py, inside the package, where `sohbet migrate` finds it."""

from app.models.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
