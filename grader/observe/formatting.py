"""Short, readable renderings of arrays and values for feedback."""

from __future__ import annotations

import numpy as np

from ..i18n import _

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
        shape, head = tuple(values.shape), ", ".join(_number(v) for v in flat[:6])
        if finite.size:
            return _("tensor of shape {shape} ({dtype}, values in [{low}, {high}]; first: {head}, …)").format(
                shape=shape, dtype=dtype, low=_number(finite.min()), high=_number(finite.max()), head=head
            )
        return _("tensor of shape {shape} ({dtype}; first: {head}, …)").format(shape=shape, dtype=dtype, head=head)
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
