from __future__ import annotations

import pytest

from grader.observe.observation import ObservationError, decode


def test_tensor_bytes_must_match_their_shape():
    header = {"error": None, "return": {"k": "tensor", "dtype": "float32", "shape": [3], "b": 0}}
    with pytest.raises(ObservationError, match="do not match"):
        decode(header, [b"\x00" * 8])


@pytest.mark.parametrize(
    "header",
    [
        {"error": None},
        {"error": None, "return": "x"},
        {"error": None, "return": {"k": "tensor", "dtype": "float32", "shape": [-1], "b": 0}},
        {"error": None, "return": {"k": "tensor", "dtype": "float32", "shape": [1], "b": 9}},
        {"error": "boom"},
    ],
)
def test_malformed_observations_are_rejected(header):
    with pytest.raises(ObservationError):
        decode(header, [b"\x00" * 4])


def test_unknown_dtypes_keep_their_shape_but_no_values():
    header = {"error": None, "return": {"k": "tensor", "dtype": "bfloat16", "shape": [2], "b": 0}}
    fact = decode(header, [b"\x00" * 4]).facts["return"]
    assert fact.dtype == "bfloat16" and fact.values is None


def test_the_device_of_the_reference_is_relabelled():
    header = {"error": None, "return": {"k": "tensor", "dtype": "float32", "shape": [], "b": 0, "device": "cpu"}}
    assert decode(header, [b"\x00" * 4], device_as="cuda").facts["return"].device == "cuda"


def test_observations_nested_too_deeply_or_too_large_are_rejected():
    deep: dict = {"k": "none"}
    for _ in range(5000):
        deep = {"k": "list", "len": 1, "items": [deep]}
    with pytest.raises(ObservationError, match="nested too deeply"):
        decode({"error": None, "return": deep}, [])
    wide = {"k": "list", "len": 30_000, "items": [{"k": "none"}] * 30_000}
    with pytest.raises(ObservationError, match="more than 20000 values"):
        decode({"error": None, "return": wide}, [])
    # ... and through the arguments, which once went uncounted (a forged header of 600,000 facts).
    tensor = {"k": "tensor", "dtype": "float32", "shape": [1], "cls": "Tensor", "rg": False, "leaf": True}
    many = {f"x{i}": tensor for i in range(5_000)}
    with pytest.raises(ObservationError, match="more than 20000 values"):
        decode({"error": None, "return": {"k": "none"}, "args": many}, [])
