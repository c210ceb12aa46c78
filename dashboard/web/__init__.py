"""The dashboard's pages: login, overview, jobs, actions, audit log, users, digests, types."""

from __future__ import annotations

from flask import Flask

from . import (
    assets,
    audit,
    bulk_actions,
    digests,
    errors,
    job_actions,
    jobs,
    liveness,
    login,
    overview,
    schedules,
    search,
    security,
    templating,
    type_pauses,
    types,
    users,
)


def init_app(app: Flask) -> None:
    security.init_app(app)
    assets.init_app(app)
    templating.init_app(app)
    liveness.init_app(app)
    errors.init_app(app)
    for blueprint in (login.bp, users.bp, overview.bp, jobs.bp, bulk_actions.bp, job_actions.bp,
                      audit.bp, schedules.bp, digests.bp, search.bp, type_pauses.bp,
                      types.bp):
        app.register_blueprint(blueprint)
