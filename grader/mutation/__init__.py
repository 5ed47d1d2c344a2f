"""``grade mutate``: mutants of an assignment's solution, graded to measure how
much of the solution's behaviour the rubric pins down.
"""
