"""The researchers' web app (`stp-tracker serve`): pages, JSON API, subscribe form, and what keeps them safe."""

from tracker.web.app import WebApp, create_app, serve

__all__ = ["WebApp", "create_app", "serve"]
