"""The child puts back what a notebook changed in the grader's own modules, around every call."""

from __future__ import annotations

import types

from grader.child import main


def test_names_class_attributes_and_tables_come_back_and_only_identity_decides():
    module = types.ModuleType("grader_test_pristine")

    class Wire:
        def send(self):
            return "sent"

    Wire.__module__ = module.__name__
    module.Wire, module.run_call, module.CATALOGUE = Wire, len, {"sin": 1}
    main._keep_pristine(module)

    class SaysEqual(dict):  # a table a notebook swapped in whose == claims nothing changed
        def __eq__(self, other):
            return True

    module.run_call = print
    module.extra = "added"
    Wire.send = lambda self: "forged"
    Wire.extra = 1
    module.CATALOGUE["sin"] = SaysEqual()
    main._restore_pristine()
    assert module.run_call is len and not hasattr(module, "extra")
    assert Wire().send() == "sent" and not hasattr(Wire, "extra")
    assert module.CATALOGUE == {"sin": 1} and type(module.CATALOGUE["sin"]) is int
