from __future__ import annotations

import numpy as np

from grader.child.wire import pack
from grader.observe.case import Backward, Case, ForwardBackward, LinearArg, TensorArg


def test_requests_round_trip_and_keep_zero_dim_tensors():
    case = Case(
        args=(
            ("x", TensorArg(np.float64(1.5).reshape(()), requires_grad=True, grad=np.float64(2.0).reshape(()))),
            ("params", [TensorArg(np.float32([1, 2]))]),
            ("linear", LinearArg(np.float32([[1, 2]]), None, weight_grad=np.float32([[0, 1]]))),
            ("lr", 0.5),
            ("epochs", 3),
        ),
        grad_mode="no_grad",
        then=(Backward(index=0), ForwardBackward("linear", np.float32([[1, 1]]))),
    )
    header, blobs = case.request("f", seed=9)
    assert header["args"][0]["shape"] == []
    again = Case.from_request(header, blobs)
    assert pack(*again.request("f", seed=9)) == pack(header, blobs)
    assert again.describe() == case.describe()


def test_descriptions_read_like_torch():
    case = Case(args=(("t", TensorArg(np.float32([0, 1]), requires_grad=True)), ("lr", 1.0)), grad_mode="no_grad")
    assert case.describe() == (
        "t = tensor([0., 1.], dtype=float32, requires_grad=True), lr = 1.0, called inside torch.no_grad()"
    )
    big = Case(args=(("X", TensorArg(np.zeros((1000, 16), np.float32))),))
    assert big.describe().startswith("X = tensor of shape (1000, 16) (float32, values in [0., 0.]")


def test_the_case_dtype_is_the_widest_float():
    assert Case(args=(("a", TensorArg(np.float32([1]))), ("b", TensorArg(np.float64([1]))))).dtype == "float64"
    assert Case(args=(("a", TensorArg(np.float32([1]))),)).dtype == "float32"
