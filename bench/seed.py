"""Create benchmark rooms in the database at DATABASE_URL and print their codes as JSON.

``python -m bench.seed 600``. Rooms are made with tictac's own service
(``rooms.create_room``, as the lobby form does) straight through the
ORM: a POST per room would need a CSRF token and would only time the
lobby, which is not what the benchmark measures.
"""

from __future__ import annotations

import json
import os
import sys


def main(count: int) -> list[str]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tictac.settings")
    django.setup()
    from django.db import transaction

    from game.actions import rooms

    with transaction.atomic():
        return [rooms.create_room(name=f"bench {number}").code for number in range(count)]


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
