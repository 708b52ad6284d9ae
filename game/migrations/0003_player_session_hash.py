"""Players are known by a keyed hash of their session key, no longer by the key itself."""

from django.db import migrations, models
from django.utils.crypto import salted_hmac


def hash_session_keys(apps, schema_editor):
    Player = apps.get_model("game", "Player")
    for player in Player.objects.all().only("id", "session_key"):
        player.session_hash = salted_hmac("tictac.player-session", player.session_key, algorithm="sha256").hexdigest()
        player.save(update_fields=["session_hash"])


class Migration(migrations.Migration):
    dependencies = [("game", "0002_lifecycle")]

    operations = [
        migrations.AddField(
            model_name="player", name="session_hash", field=models.CharField(max_length=64, null=True)
        ),
        migrations.RunPython(hash_session_keys, migrations.RunPython.noop),
        migrations.RemoveField(model_name="player", name="session_key"),
        migrations.AlterField(
            model_name="player", name="session_hash", field=models.CharField(max_length=64, unique=True)
        ),
    ]
