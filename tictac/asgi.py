"""The ASGI entry point: HTTP to Django, WebSockets to the game's consumers.

Serve with ``daphne tictac.asgi:application`` (also what ``runserver``
uses) or ``uvicorn tictac.asgi:application``.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tictac.settings")

from tictac.one_thread import get_asgi_application

# Set up Django (apps, settings) before anything imports models. Every page
# view's synchronous code runs on the process's one database thread (tictac.one_thread).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from game.routing import websocket_urlpatterns  # noqa: E402
from tictac import daphne_compat  # noqa: E402

daphne_compat.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # A socket reads its session from the cookie header once, when it
        # connects (consumers.session_from_headers). Channels' cookie, session
        # and auth middleware would keep the cookies, a session and a user
        # object, and wrap every send, for the socket's whole life.
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
