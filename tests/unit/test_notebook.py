from __future__ import annotations

import json

import nbformat
import pytest

from grader.errors import NotebookError
from grader.notebook import read_notebook, to_python


def notebook_file(tmp_path, cells, **metadata):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(metadata)
    path = tmp_path / "submit.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_reads_code_cells_with_their_positions_and_ignores_outputs(tmp_path):
    code = nbformat.v4.new_code_cell("x = 1")
    code.outputs = [nbformat.v4.new_output("stream", text="100/100 all tests passed")]
    code.execution_count = 7
    path = notebook_file(
        tmp_path,
        [nbformat.v4.new_markdown_cell("intro"), code, nbformat.v4.new_code_cell(["y = ", "2"])],
        grader={"assignment": "autograd-basics"},
    )
    nb = read_notebook(path)
    assert [(c.index, c.source) for c in nb.cells] == [(2, "x = 1"), (3, "y = 2")]
    assert nb.assignment == "autograd-basics"
    assert nb.nbformat.startswith("4.")
    assert len(nb.sha256) == 64
    assert nb.warnings == ()


def test_magics_and_shell_escapes_are_found(tmp_path):
    path = notebook_file(
        tmp_path,
        [
            nbformat.v4.new_code_cell("!pip install -q torchviz\n%matplotlib inline\nx = 5 % 3\nfiles = !ls"),
            nbformat.v4.new_code_cell("%%bash\necho hi"),
        ],
    )
    magics = [(m.cell, m.line, m.kind, m.text) for m in read_notebook(path).magics]
    assert magics == [
        (1, 1, "shell", "!pip install -q torchviz"),
        (1, 2, "line_magic", "%matplotlib inline"),
        (1, 4, "shell", "!ls"),
        (2, 1, "cell_magic", "%%bash"),
    ]


def test_conversion_turns_ipython_syntax_into_calls_on_the_shell():
    from grader.notebook import CodeCell

    converted = dict(to_python((CodeCell(1, "!pip install x\ny = 1"), CodeCell(2, "%%time\nz = 2\n"))))
    assert converted[1] == "get_ipython().system('pip install x')\ny = 1\n"
    assert converted[2] == "get_ipython().run_cell_magic('time', '', 'z = 2\\n')\n"


def test_schema_problems_are_warnings_not_failures(tmp_path):
    path = tmp_path / "odd.ipynb"
    doc = json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])))
    doc["cells"][0]["metadata"] = "not a mapping"
    path.write_text(json.dumps(doc))
    nb = read_notebook(path)
    assert len(nb.cells) == 1
    assert nb.warnings and "graded anyway" in nb.warnings[0][0]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "not a notebook: the file is empty"),
        ('{"nbformat": 4', "not a notebook: malformed JSON at line 1, column 15 (Expecting ',' delimiter)"),
        ("[]", "not a Jupyter notebook: no 'nbformat' field at the top level"),
        ('{"nbformat": "4"}', "not a Jupyter notebook: 'nbformat' is not an integer"),
        ('{"nbformat": 4, "cells": {}}', "not a Jupyter notebook: 'cells' is not a list of cells"),
        (
            '{"nbformat": 4, "cells": [{"cell_type": "code", "source": 5}]}',
            "not a Jupyter notebook: cell 1 has a source that is not text",
        ),
        ('{"nbformat": 5, "cells": []}', "notebook format 5 is newer than this grader reads (4)"),
    ],
)
def test_bad_files_get_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookError) as info:
        read_notebook(path)
    assert str(info.value) == f"{path}: {message}"


def test_binary_garbage(tmp_path):
    path = tmp_path / "image.ipynb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(NotebookError, match="not UTF-8"):
        read_notebook(path)


def test_size_cap_is_checked_before_parsing(tmp_path):
    path = tmp_path / "huge.ipynb"
    path.write_text('{"nbformat": 4, "cells": [], "pad": "' + "x" * 3000 + '"}')
    with pytest.raises(NotebookError, match="larger than"):
        read_notebook(path, max_bytes=1024)


def test_a_symlink_is_read_through_once(tmp_path):
    real = notebook_file(tmp_path, [nbformat.v4.new_code_cell("x = 1")])
    link = tmp_path / "link.ipynb"
    link.symlink_to(real)
    assert read_notebook(link).sha256 == read_notebook(real).sha256
