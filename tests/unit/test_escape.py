from grader.escape import clean


def test_control_and_bidi_characters_become_visible():
    assert clean("ok\x1b[2J\x1b]52;c;ZXZpbA==\x07done") == "ok\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07done"
    assert clean("a\u202eb\u2066c") == "a\\u202eb\\u2066c"
    assert clean("line 1\n\tline 2") == "line 1\n\tline 2"
    assert clean("ąę ∂f/∂t") == "ąę ∂f/∂t"
