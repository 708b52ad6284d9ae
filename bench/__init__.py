"""tictac's benchmark: real players on real server processes, against a naive baseline.

Run it with ``python -m bench`` (``--help`` lists the options); see
``bench/README.md`` for what it measures and ``docs/performance.md`` for
the numbers this machine gave.
"""
