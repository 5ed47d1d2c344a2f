"""Students' self-checks: ``grade check`` in the sandbox, and ``grader.check()``
in the student's own kernel. Public checks only: no reference, no hidden inputs.
"""
