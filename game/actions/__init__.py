"""The writes: every change to a room's games, one module per family of actions."""
