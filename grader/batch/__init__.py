"""``grade batch``: a class graded in parallel into records, a gradebook and a
summary; local warm workers or a Dask cluster.
"""
