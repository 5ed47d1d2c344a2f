"""Short, readable renderings of arrays and values for feedback."""

from __future__ import annotations

import numpy as np

SHOW_ELEMENTS = 12


def format_array(values: np.ndarray, dtype: str | None = None) -> str:
    dtype = dtype or str(values.dtype)
    if values.ndim == 0:
        body = _number(values.item())
    elif values.size <= SHOW_ELEMENTS * 2:
        body = np.array2string(
            values,
            precision=4,
            separator=", ",
            suppress_small=False,
            max_line_width=10_000,
            formatter={"float_kind": _number},
        ).replace("\n", "")
    else:
        flat = values.reshape(-1)
        finite = flat[np.isfinite(flat)] if flat.dtype.kind in "fc" else flat
        span = ""
        if finite.size:
            span = f", values in [{_number(finite.min())}, {_number(finite.max())}]"
        head = ", ".join(_number(v) for v in flat[:6])
        return f"tensor of shape {tuple(values.shape)} ({dtype}{span}; first: {head}, …)"
    return f"tensor({body}, dtype={dtype})"


def _number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.6g}"
    if "e" not in text and "." not in text:
        text += "."
    return text


def format_number(value: float) -> str:
    """A Python number the way Python shows it (1.0, 0.25, 1e-05)."""
    text = _number(value)
    return text + "0" if text.endswith(".") else text
