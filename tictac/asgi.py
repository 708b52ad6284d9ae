"""The ASGI entry point: HTTP to Django, WebSockets to the game's consumers.

Serve with ``daphne tictac.asgi:application`` (also what ``runserver``
uses) or ``uvicorn tictac.asgi:application``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tictac.settings")
# Set up Django (apps, settings) before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from game.routing import websocket_urlpatterns  # noqa: E402
from tictac import daphne_compat  # noqa: E402

daphne_compat.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Sessions only: a socket's identity comes from its session (services.identify),
        # and Channels' auth middleware would only add a lazy user object to every scope.
        "websocket": AllowedHostsOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
