"""Judging one rubric item: the engine that draws, calls, compares and shrinks,
the example search (hypothesis), stored plans, and the feedback a student reads.
"""
