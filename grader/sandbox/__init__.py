"""The untrusted side seen from the trusted side: launching the sandboxed child
(bubblewrap, cgroups, warm zygotes), the session that runs the notebook and
opens a worker per item, and the pipelined calls to a worker.
"""
