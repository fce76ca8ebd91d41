"""The llmspell-sessions benchmark harness: every figure measured next to its ceiling, in one run.

Run it with ``python -m bench.run [--quick] [--only NAME...] [--out DIR]`` (or ``make bench-quick``
/ ``make bench``). The pieces: ``framework`` (samples, summaries, figures, interleaving),
``scenarios/`` (one small module per workload, discovered automatically), ``ceilings`` (raw
rocksdict and fsync references), ``processes`` and ``echo_server`` (servers in subprocesses),
``machine`` and ``report`` (the JSON file and the table) and ``profile`` (cProfile of hot paths).
"""
