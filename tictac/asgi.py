"""The ASGI entry point: HTTP to Django, WebSockets to the game's consumers.

Serve with ``daphne tictac.asgi:application`` (also what ``runserver``
uses) or ``uvicorn tictac.asgi:application``.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tictac.settings")

from tictac.servers.one_thread import get_asgi_application

# Set up Django (apps, settings) before anything imports models. Every page
# view's synchronous code runs on the process's one database thread (tictac.servers.one_thread).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from game.routing import websocket_urlpatterns  # noqa: E402

# Every patch and private read of a library, checked against the releases it was written for:
# another release stops the server here, naming the module (tictac.servers.written_for).
from game.storage import cached_games, compiled_reads, consumer_dispatch, layer_internals, session_store  # noqa: E402
from tictac.origin import AllowedHostsOnly  # noqa: E402
from tictac.served_by import ServedBy  # noqa: E402
from tictac.servers import daphne_compat, one_thread, uvicorn_http, uvicorn_websockets, written_for  # noqa: E402

written_for.check(
    compiled_reads,
    cached_games,
    session_store,
    layer_internals,
    consumer_dispatch,
    one_thread,
    daphne_compat,
    uvicorn_http,
    uvicorn_websockets,
)
daphne_compat.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # A socket reads its session from the cookie header once, when it
        # connects (game.web.socket_session). Channels' cookie, session
        # and auth middleware would keep the cookies, a session and a user
        # object, and wrap every send, for the socket's whole life.
        # A socket from another site's page is closed with 4403 (tictac.origin), which the page can read.
        "websocket": AllowedHostsOnly(URLRouter(websocket_urlpatterns)),
    }
)
if settings.SERVED_BY:
    # X-Served-By on every answer, to tell several workers apart (tictac.served_by; off by default).
    application = ServedBy(application)
