"""The IPython magics whose Python the child runs, though it runs no magic itself.

Kept here, apart from ``cells`` (which needs torch), so that the trusted side
can tell, from the notebook's source alone, which magics were not run.
"""

# Cell magics whose body is ordinary Python that the notebook relies on
# (a %%time cell often defines the functions being graded).
BODY_RUNS = frozenset({"time", "timeit", "capture", "prun"})
# Line magics whose statement runs: `%time model = fit(X)`.
LINE_RUNS = frozenset({"time", "timeit", "prun"})
