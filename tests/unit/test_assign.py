from __future__ import annotations

import pytest

from grader.course.template import AuthoringError, make_template, strip_solutions


def test_regions_in_functions_become_stubs_at_their_indentation():
    source = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    # BEGIN SOLUTION\n"
        "    y = x * 2\n"
        "    return y\n"
        "    # END SOLUTION\n"
        "\n"
        "# BEGIN SOLUTION\n"
        "helper = 3\n"
        "# END SOLUTION\n"
        "z = 1"
    )
    assert strip_solutions(source, stub="Do it", where="cell 1") == (
        'def f(x):\n    """Doc."""\n    raise NotImplementedError("Do it")\n\nz = 1'
    )


@pytest.mark.parametrize(
    "source, message",
    [
        ("# BEGIN SOLUTION\nx = 1\n", "cell 3, line 1: # BEGIN SOLUTION has no # END SOLUTION"),
        ("x = 1\n# END SOLUTION\n", "cell 3, line 2: # END SOLUTION without # BEGIN SOLUTION"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n", "cell 3, line 2: # BEGIN SOLUTION inside another solution region"),
    ],
)
def test_broken_markers_are_named(source, message):
    with pytest.raises(AuthoringError) as info:
        strip_solutions(source, stub="x", where="cell 3")
    assert str(info.value) == message


def _cell(source, **metadata):
    return {
        "cell_type": "code",
        "source": source,
        "metadata": metadata,
        "outputs": [{"text": "old"}],
        "execution_count": 4,
    }


def test_hidden_cells_go_outputs_clear_and_metadata_names_the_assignment():
    solution = {
        "metadata": {"grader": {"assignment": "a1", "stub_message": "Uzupełnij"}, "kernelspec": {"name": "python3"}},
        "cells": [
            _cell("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"),
            _cell("assert f() == 1", tags=["hidden"]),
            {"cell_type": "markdown", "source": "text", "metadata": {}},
        ],
    }
    template = make_template(solution)
    assert template["metadata"] == {"grader": {"assignment": "a1"}, "kernelspec": {"name": "python3"}}
    assert [c["cell_type"] for c in template["cells"]] == ["code", "markdown"]
    assert template["cells"][0]["source"] == 'def f():\n    raise NotImplementedError("Uzupełnij")\n'
    assert template["cells"][0]["outputs"] == [] and template["cells"][0]["execution_count"] is None
    assert solution["cells"][0]["outputs"]  # the solution itself is left alone


def test_a_solution_without_regions_or_assignment_is_refused():
    with pytest.raises(AuthoringError, match="no # BEGIN SOLUTION"):
        make_template({"metadata": {"grader": {"assignment": "a1"}}, "cells": [_cell("x = 1")]})
    with pytest.raises(AuthoringError, match="no grader.assignment naming its assignment"):
        make_template({"metadata": {}, "cells": []})
