"""``python -m safebench.report DIR... [--out DIR]``: many run directories -> tables and figures.

run_loading finds and reads runs, statistics holds the pure seeded estimators, tables and figures
turn the runs into summary.{csv,md,tex}, curves.csv and the Figure-1-style plots; build ties them.
Runs with several constraints add a ``constraint`` column and one cost series per constraint (see tables).
"""
