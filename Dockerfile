# AsyncQueue Dashboard: the web dashboard (default) or any `flask --app dashboard` command.
#   docker build -t asyncqueue-dashboard .
#   docker run -e DATABASE_URL=... -e SECRET_KEY=... -p 8000:8000 asyncqueue-dashboard
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    PORT=8000

WORKDIR /app

RUN groupadd --system --gid 10001 asyncqueue \
    && useradd --system --uid 10001 --gid asyncqueue --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin asyncqueue

# Dependencies first, in a layer of their own: it is rebuilt only when pyproject.toml
# changes, not on every change to the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the code (.dockerignore keeps tests, virtualenvs and local data out). It runs from
# /app, where its templates, static files and migrations live beside it; owned by root,
# so the app's user can't change it.
COPY . .
# instance/ holds the SQLite database and the generated secret when no DATABASE_URL or
# SECRET_KEY is given: the only place the app writes to.
RUN mkdir -p /app/instance && chown asyncqueue:asyncqueue /app/instance

# The asyncqueue user, by number: a name may not resolve on the host.
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
