"""The naive app's settings: the scenario's own, plus the baseline page (``bench.baseline``).

The scenario's settings module (``tictac.settings``, or ``bench.settings``
for the stock layer) comes from ``BENCH_BASE_SETTINGS``; everything in it
holds here too (database and its tuning, middleware, channel layer), except:

* ``ROOT_URLCONF`` adds the baseline page to tictac's URLs;
* ``SESSION_ENGINE`` is Django's own database backend, not tictac's leaner
  ``game.storage.session_store``: the baseline is Django as it ships;
* the template engine also looks in ``bench/templates``.
"""

import os
from importlib import import_module
from pathlib import Path
from typing import Any

_base = import_module(os.environ.get("BENCH_BASE_SETTINGS", "tictac.settings"))
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

ROOT_URLCONF = "bench.baseline"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
_engine: dict[str, Any] = _base.TEMPLATES[0]
TEMPLATES = [{**_engine, "DIRS": [*_engine["DIRS"], Path(__file__).resolve().parent / "templates"]}]
