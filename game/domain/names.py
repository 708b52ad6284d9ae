"""When two names are the same name to a reader: NFKC, letter case and Unicode's confusables (UTS #39).

Pure, like ``game/domain/rules.py``: the table is Python data (``game.domain.confusables``,
generated from Unicode's confusables.txt), read at import with no I/O.

>>> name_key("аlice") == name_key("alice")  # a Cyrillic а
True
>>> name_key("ALICE") == name_key("Ａｌｉｃｅ") == name_key("a1ice") == name_key("al\\u200bice")
True
>>> name_key("alice") == name_key("alicia")
False
"""

from __future__ import annotations

import unicodedata

from game.domain.confusables import PROTOTYPES


def skeleton(text: str) -> str:
    """UTS #39's skeleton: NFD, each character replaced by its prototype, NFD again."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(PROTOTYPES.get(char, char) for char in decomposed))


def name_key(name: str) -> str:
    """What two names share exactly when a reader could take one for the other.

    Invisible format characters (a zero-width space) go, runs of spaces are
    one space, NFKC folds width and compatibility forms, then letter case;
    the skeleton maps look-alikes (Cyrillic а, the digit 1 for l) to one
    prototype, whose case is folded again (0's prototype is O).
    """
    visible = "".join(char for char in name if unicodedata.category(char) != "Cf")
    folded = " ".join(_fold(visible).split())
    return _fold(skeleton(folded))


def same_name(first: str, second: str) -> bool:
    """Whether ``first`` and ``second`` read as the same name (see :func:`name_key`)."""
    return name_key(first) == name_key(second)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()
