from django.core.management.base import BaseCommand

from game.actions import write
from game.models import Room


class Command(BaseCommand):
    help = "Create the demo room (code 'demo', 3×3) unless it exists."

    def handle(self, *args: object, **options: object) -> None:
        room = Room.objects.filter(code="demo").first()
        if room is None:
            room = Room.objects.create(code="demo", name="Demo room", size=3, win_length=3)
        write.current_game(room)
        self.stdout.write(f"Demo room: /rooms/{room.code}/")
