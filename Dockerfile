# AsyncQueue Dashboard: the web dashboard (default) or any `flask --app dashboard` command.
#   docker build -t asyncqueue-dashboard .
#   docker run -e DATABASE_URL=... -e SECRET_KEY=... -p 8000:8000 asyncqueue-dashboard

# The wheel, built in a stage of its own: the image installs the package as pip would,
# templates, static files and migrations inside it, and none of the checkout.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

# /app on the path: your own request types' modules go there (see the README's "Deploy").
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    PORT=8000

WORKDIR /app

RUN groupadd --system --gid 10001 asyncqueue \
    && useradd --system --uid 10001 --gid asyncqueue --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin asyncqueue

# Dependencies first, the lock's exact versions with every extra, in a layer of their
# own: it is rebuilt only when the lock changes, not on every change to the code.
COPY requirements/image.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

# Then the package (its dependencies are all in the lock: --no-deps), owned by root, so
# the app's user can't change it.
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY deploy/entrypoint.sh /app/deploy/entrypoint.sh
# instance/ holds the SQLite database and the generated secret when no DATABASE_URL or
# SECRET_KEY is given (the working folder's instance/): the only place the app writes to.
RUN mkdir -p /app/instance && chown asyncqueue:asyncqueue /app/instance

# The asyncqueue user, by number: a name may not resolve on the host.
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
