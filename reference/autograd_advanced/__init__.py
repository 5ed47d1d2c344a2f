"""Reference package of the autograd-advanced assignment (trusted side only).

By the package convention, the grader finds CHECKS in checks.py, MISCONCEPTIONS
in misconceptions.py and the reference solution in solution.py (imported only
when an input has no stored answer yet: it needs torch).
"""
