"""The game itself and small calculations: the standard library only, no Django, no I/O."""
