"""What clients are told: the ``state`` message and the lobby, built from values."""
