"""How tictac stores and reads fast: the speed-ups that lean on Django's and Channels' internals."""
