import secrets
from typing import Any

from django import forms

from game.domain import clocks, rules
from game.domain.protocol import NAME_MAX_LENGTH, ProtocolError, clean_name
from game.models import MAX_ABSENCE_SECONDS, MIN_ABSENCE_SECONDS

TIME_CONTROL_LABELS = {
    "none": "No clock",
    "move:15": "15 s per move",
    "move:30": "30 s per move",
    "move:60": "1 min per move",
    "budget:60+2": "1 min + 2 s",
    "budget:180+2": "3 min + 2 s",
    "budget:300+0": "5 min",
    "budget:300+3": "5 min + 3 s",
}
assert set(TIME_CONTROL_LABELS) == set(clocks.PRESETS)

SIDE_LABELS = {"x": "X (moves first)", "o": "O", "random": "Random"}


class RoomForm(forms.Form):
    """The lobby's "create a room" form; size and win length default to 3, and the creator takes seat X."""

    name = forms.CharField(max_length=64, required=False, strip=True)
    size = forms.IntegerField(
        label="Board size", min_value=rules.MIN_SIZE, max_value=rules.MAX_SIZE, required=False, initial=3
    )
    win_length = forms.IntegerField(
        label="Marks in a row to win",
        min_value=rules.MIN_WIN_LENGTH,
        max_value=rules.MAX_SIZE,
        required=False,
        initial=3,
    )
    player_name = forms.CharField(label="Your name", max_length=NAME_MAX_LENGTH, required=False, strip=True)
    time_control = forms.ChoiceField(
        label="Time control", choices=list(TIME_CONTROL_LABELS.items()), required=False, initial="none"
    )
    absence_seconds = forms.IntegerField(
        label="Away limit (seconds)",
        min_value=MIN_ABSENCE_SECONDS,
        max_value=MAX_ABSENCE_SECONDS,
        required=False,
        initial=30,
    )
    side = forms.ChoiceField(label="Your side", choices=list(SIDE_LABELS.items()), required=False, initial="x")
    rated = forms.BooleanField(
        label="Rated",
        required=False,
        help_text="Games between two signed-in players here change their ratings.",
    )

    @property
    def chosen_side(self) -> rules.Mark:
        """The seat the creator asked for (call after is_valid): X, O, or one of them at random."""
        side = self.cleaned_data.get("side") or "x"
        if side == "random":
            return secrets.choice(rules.MARKS)
        return rules.X if side == "x" else rules.O

    def clean_player_name(self) -> str:
        name: str = self.cleaned_data.get("player_name") or ""
        if not name:
            return ""
        try:
            return clean_name(name)
        except ProtocolError as error:
            raise forms.ValidationError(error.message) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        defaults = (("size", 3), ("win_length", 3), ("time_control", "none"), ("absence_seconds", 30), ("side", "x"))
        for field, default in defaults:
            if field in data and data[field] in (None, ""):
                data[field] = default
        size, win_length = data.get("size"), data.get("win_length")
        if size is not None and win_length is not None and win_length > size:
            self.add_error("win_length", f"Must be from {rules.MIN_WIN_LENGTH} to the board size ({size}).")
        return data
