"""The queue core works end to end with a plain SQLAlchemy session, Flask never loaded."""

from __future__ import annotations

import json
import subprocess
import sys

from dashboard.app.extensions import db
from dashboard.queue import Job, JobState

#: A worker of the user's own: enqueues a job and digests it, with no app at all.
PLAIN_WORKER = """
import json, sys
import sqlalchemy as sa
from sqlalchemy.orm import Session
from dashboard.queue import JobBuilder, JobDigest, JobRepository, RequestType
from dashboard.queue.database.engine_setup import engine_options, prepare_engine

class Double(RequestType):
    type_code = "test_plain_double"
    def execute(self, payload, context):
        return {"twice": payload["n"] * 2}

url = sys.argv[1]
engine = sa.create_engine(url, **engine_options(url))
prepare_engine(engine)
with Session(engine) as session:
    job = JobBuilder().set_relation_id("plain-1").create()
    job.request_builder().set_type_code("test_plain_double").set_payload({"n": 21}).create()
    job_id = JobRepository(session).save(job).id
    result = JobDigest(session).execute()
print(json.dumps({"job": job_id, "succeeded": result.succeeded,
                  "flask": sorted(m for m in sys.modules if m.split(".")[0] == "flask")}))
"""


def test_a_worker_without_flask_enqueues_and_digests_a_job(app):
    url = db.engine.url.render_as_string(hide_password=False)
    db.session.commit()  # no open read: SQLite would keep the worker from writing
    done = subprocess.run([sys.executable, "-c", PLAIN_WORKER, url], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["flask"] == []
    assert report["succeeded"] == 1
    job = db.session.get(Job, report["job"])
    assert job.state is JobState.COMPLETED
    assert json.loads(job.requests[0].result) == {"twice": 42}
