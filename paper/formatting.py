"""Numbers and text as LaTeX (numbers also as plain text): a value with its error bar, a posterior median with its
credible interval, text with LaTeX's special characters escaped, and macro names (keys) cleaned of them."""

from __future__ import annotations

import math

import numpy as np


def finite(x) -> bool:
    """Whether x reads as a finite float (False for None, text and NaN)."""
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _plain(x: float, digits: int) -> str:
    return f"{x:.{max(digits, 0)}f}"


def _number_parts(value, error, plus_minus: str) -> tuple[str, int]:
    """(body, power of ten) of a finite value: 'v ± e' with e to 2 significant digits and v to the same place, or v
    to 4 digits; a power of ten when the scale is outside [1e-3, 1e4]."""
    v = float(value)
    e = float(error) if finite(error) and float(error) > 0 else None
    scale = max(abs(v), e or 0.0)
    exp = 0
    if scale >= 1e4 or (0 < scale < 1e-3):
        exp = int(math.floor(math.log10(scale)))
        v, e = v / 10**exp, (e / 10**exp if e is not None else None)
    if e is not None:
        digits = 1 - int(math.floor(math.log10(e)))
        body = f"{_plain(v, digits)}{plus_minus}{_plain(e, digits)}"
        if exp:
            body = f"({body})"
    elif float(value) == int(float(value)) and abs(float(value)) < 1e6 and not exp:
        body = str(int(float(value)))
    else:
        digits = 3 - int(math.floor(math.log10(abs(v)))) if v != 0 else 0
        body = _plain(v, digits)
    return body, exp


def format_number(value, error=None) -> str:
    """LaTeX math (no $): 'v \\pm e' with e to 2 significant digits and v to the same place, or v to 4 digits;
    powers of ten outside [1e-3, 1e4]."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if not finite(value):
        return r"\mathrm{n/a}"
    body, exp = _number_parts(value, error, r" \pm ")
    return body + (f" \\times 10^{{{exp}}}" if exp else "")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_plain(value, error=None) -> str:
    """The numbers of format_number as plain text for Markdown and logs: '0.001001 ± 0.000031',
    '(2.50 ± 0.30)×10⁻⁵', '—' for a missing or non-finite value."""
    if not finite(value):
        return "—"
    body, exp = _number_parts(value, error, " ± ")
    return body + (f"×10{str(exp).translate(_SUPERSCRIPT)}" if exp else "")


def format_interval(value, lo, hi) -> str:
    """A posterior median with its credible interval [lo, hi]: 'v^{+(hi-v)}_{-(v-lo)}' at the precision of the
    smaller side (2 significant digits)."""
    if not (finite(value) and finite(lo) and finite(hi)):
        return format_number(value)
    v, up, down = float(value), float(hi) - float(value), float(value) - float(lo)
    width = min(w for w in (up, down) if w > 0) if max(up, down) > 0 else 0
    if width <= 0:
        return format_number(v)
    digits = max(1 - int(math.floor(math.log10(width))), 0)
    return f"{_plain(v, digits)}^{{+{_plain(up, digits)}}}_{{-{_plain(down, digits)}}}"


def format_value(value, err) -> str:
    """format_interval when err is a (lo, hi) interval, else format_number."""
    if isinstance(err, tuple):
        return format_interval(value, *err)
    return format_number(value, err)


def key_safe(text: str) -> str:
    """text without the characters that cannot stand in a macro name read by \\csname."""
    return "".join(c for c in text if c not in "{}\\%#~^$&")


def tex_text(text) -> str:
    """str(text) with LaTeX's special characters escaped, for text mode."""
    out = str(text)
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                 ("$", r"\$"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")):
        out = out.replace(a, b)
    return out
