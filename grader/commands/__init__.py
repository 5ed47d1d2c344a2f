"""The subcommands of ``grade``, one module each; ``grader.cli`` registers them."""
