"""What runs inside the sandboxed child: the cell runner, the probe, the wire.

Only the standard library and torch are imported here, with relative imports,
because the child imports this package on its own, not as ``grader.child``.
"""
