"""The digest: claims due jobs and executes their requests in order, many jobs in flight on
a few shared connections (``job_digest``); each job's run (``running``), its steps written
by group commit, its calls watched and taken at their connector's limits, the heartbeat
that keeps its leases, the database's clock, its processes and run records, and the
long-lived ``--loop`` worker.

The top of the core: it imports every other part, and none imports it.
"""
