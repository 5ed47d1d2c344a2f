"""Observing calls the same way on both sides: the case (one call's inputs and
follow-ups), the decoded observation, the comparison of facts, and running the
reference in-process with the child's own probe.
"""
