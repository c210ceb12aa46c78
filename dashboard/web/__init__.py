"""The dashboard's pages: overview, jobs, actions, audit log, digests."""

from __future__ import annotations

from flask import Flask

from . import actions, audit, bulk, digests, errors, jobs, overview, security, templating


def init_app(app: Flask) -> None:
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    for blueprint in (overview.bp, jobs.bp, bulk.bp, actions.bp, audit.bp, digests.bp):
        app.register_blueprint(blueprint)
