from typing import Any

from django import forms

from . import rules


class RoomForm(forms.Form):
    """The lobby's "create a room" form; size and win length default to 3."""

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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "size" in data and data["size"] is None:
            data["size"] = 3
        if "win_length" in data and data["win_length"] is None:
            data["win_length"] = 3
        size, win_length = data.get("size"), data.get("win_length")
        if size is not None and win_length is not None and win_length > size:
            self.add_error("win_length", f"Must be from {rules.MIN_WIN_LENGTH} to the board size ({size}).")
        return data
