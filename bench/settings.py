"""tictac's settings with channels-redis's stock ``RedisChannelLayer``.

The issue's baseline is "stock settings": the core layer with every option
at its default (capacity 100, expiry 60), not the capacity tictac chooses.
Servers started with ``DJANGO_SETTINGS_MODULE=bench.settings`` get exactly
that; everything else (database, presence, rate limits) is tictac's own.
"""

from tictac.settings import *  # noqa: F403
from tictac.settings import REDIS_URLS

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": REDIS_URLS},
    }
}
