"""The benchmark harness of issue 7: ``bench/run.sh`` (see docs/benchmarks.md).

Modules named ``peer_*`` and ``plot`` run in the peers' virtualenv (bench/.venv-peers) and
import nothing from the project; the others run in the project's virtualenv.
"""
