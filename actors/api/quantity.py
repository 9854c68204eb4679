"""``resource.Quantity``: parsing, integer values and canonical formatting (pure).

A quantity is ``<signed number><suffix>``: a decimal SI suffix (``n u m "" k M G T P E``), a
binary SI suffix (``Ki Mi Gi Ti Pi Ei``) or a decimal exponent (``e3``, ``E-2``; a bare ``E``
is exa).  Values are held exactly as ``fractions.Fraction`` and, as upstream, rounded up (away
from zero) to nano precision when parsed: ``0.1n`` is ``1n``.

Integer views follow upstream: ``value`` is ``Quantity.Value()`` (rounded up to an integer:
``1.5`` -> 2, ``100m`` -> 1), ``cpu_millis`` is ``MilliValue()`` (rounded up:
``0.0001`` -> 1).

``canonical`` is ``Quantity.String()``: the format is remembered from the suffix (binary,
decimal SI or exponent) and the number is printed with the largest suffix that keeps an
integer mantissa (``1000m`` -> ``1``, ``1536Mi`` stays, ``1.5Gi`` -> ``1536Mi``,
``0.5Ki`` -> ``512`` (binary values under 1Ki print as decimal), ``1e3`` stays ``1e3``,
``1500`` stays).

Invalid input raises ``ValueError`` with upstream's messages
(``quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'``,
``unable to parse quantity's suffix``, ``unable to parse numeric part of quantity``).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Union

QuantityLike = Union[str, int, float, Fraction]

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

ERR_FORMAT_WRONG = ("quantities must match the regular expression "
                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

_SPLIT = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")

_DEC_SUFFIXES: dict[str, int] = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9,
                                 "T": 12, "P": 15, "E": 18}
_BIN_SUFFIXES: dict[str, int] = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_BY_EXP: dict[int, str] = {v: k for k, v in _DEC_SUFFIXES.items()}
_BIN_BY_EXP: dict[int, str] = {v: k for k, v in _BIN_SUFFIXES.items()}
_NANO = Fraction(1, 10**9)


def _suffix(s: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix."""
    if s in _DEC_SUFFIXES:
        return 10, _DEC_SUFFIXES[s], DECIMAL_SI
    if s in _BIN_SUFFIXES:
        return 2, _BIN_SUFFIXES[s], BINARY_SI
    if len(s) > 1 and s[0] in "eE":
        try:
            return 10, int(s[1:]), DECIMAL_EXPONENT
        except ValueError:
            pass
    raise ValueError(ERR_SUFFIX)


def _round_up_nano(v: Fraction) -> Fraction:
    scaled = v / _NANO
    if scaled.denominator == 1:
        return v
    n = math.ceil(scaled) if v > 0 else math.floor(scaled)  # away from zero
    return n * _NANO


def _split(s: str) -> tuple[Fraction, str]:
    """(exact value, format) of a quantity string."""
    m = _SPLIT.match(s)
    if not m:
        raise ValueError(ERR_FORMAT_WRONG)
    num, suf = m.group(1), m.group(2)
    if not _NUMBER.match(num):
        raise ValueError(ERR_NUMERIC)
    base, exp, fmt = _suffix(suf)
    value = Fraction(num) * (Fraction(base) ** exp)
    return _round_up_nano(value), fmt


def _to_str(q: QuantityLike) -> str:
    if isinstance(q, bool):
        raise ValueError(ERR_FORMAT_WRONG)
    if isinstance(q, int):
        return str(q)
    if isinstance(q, float):
        if math.isnan(q) or math.isinf(q):
            raise ValueError(ERR_FORMAT_WRONG)
        r = repr(q)
        return r[:-2] if r.endswith(".0") else r
    if isinstance(q, str):
        return q
    raise ValueError(ERR_FORMAT_WRONG)


def parse_quantity(q: QuantityLike) -> Fraction:
    """The exact value of a quantity (``"100m"`` -> 1/10, ``"128Mi"`` -> 134217728)."""
    if isinstance(q, Fraction):
        return _round_up_nano(q)
    return _split(_to_str(q))[0]


def parse_quantity_with_format(q: QuantityLike) -> tuple[Fraction, str]:
    """(value, format) where format is ``DecimalSI``, ``BinarySI`` or ``DecimalExponent``."""
    if isinstance(q, Fraction):
        return _round_up_nano(q), DECIMAL_SI
    return _split(_to_str(q))


def is_valid(q: object) -> bool:
    try:
        parse_quantity(q)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def _ceil(v: Fraction) -> int:
    """Round up (away from zero, as inf.RoundUp in Quantity.Value())."""
    return math.ceil(v) if v >= 0 else math.floor(v)


def value(q: QuantityLike) -> int:
    """``Quantity.Value()``: the integer value, rounded up (``1.5`` -> 2, ``100m`` -> 1)."""
    return _ceil(parse_quantity(q))


def bytes_(q: QuantityLike) -> int:
    """Bytes of a memory quantity (``Value()``)."""
    return value(q)


to_bytes = bytes_


def cpu_millis(q: QuantityLike) -> int:
    """``Quantity.MilliValue()`` (``"100m"`` -> 100, ``"2"`` -> 2000, ``"0.0001"`` -> 1)."""
    return _ceil(parse_quantity(q) * 1000)


milli_value = cpu_millis


def _decimal_parts(v: Fraction) -> tuple[int, int]:
    """(mantissa, exponent) with exponent a multiple of 3 and mantissa integral, the
    exponent as large as possible (upstream's ``AsCanonicalBytes``)."""
    if v == 0:
        return 0, 0
    exp = 0
    # bring to an integer mantissa (values are nano-rounded: at most 9 decimal places)
    while v.denominator != 1:
        v *= 10
        exp -= 1
    mant = int(v)
    while mant % 10 == 0:
        mant //= 10
        exp += 1
    r = exp % 3
    if r:
        mant *= 10 ** r
        exp -= r
    return mant, exp


def format_quantity(v: Fraction | int, fmt: str = DECIMAL_SI) -> str:
    """Canonical string of a value in a format (``Quantity.String()``)."""
    v = Fraction(v)
    if fmt == BINARY_SI:
        if -1024 < v < 1024 or v.denominator != 1:
            fmt = DECIMAL_SI
        else:
            n = int(v)
            exp = 0
            while exp < 60 and n % 1024 == 0 and n != 0:
                n //= 1024
                exp += 10
            return f"{n}{_BIN_BY_EXP.get(exp, '')}"
    mant, exp = _decimal_parts(v)
    if mant == 0:
        return "0"
    if fmt == DECIMAL_EXPONENT:
        return f"{mant}" if exp == 0 else f"{mant}e{exp}"
    if exp > 18:  # beyond exa: keep the mantissa integral with the largest suffix
        mant *= 10 ** (exp - 18)
        exp = 18
    if exp < -9:  # cannot happen after nano rounding
        exp = -9
    return f"{mant}{_DEC_BY_EXP[exp]}"


def canonical(q: QuantityLike) -> str:
    """``ParseQuantity(q).String()``: ``"1000m"`` -> ``"1"``, ``"0.5"`` -> ``"500m"``."""
    v, fmt = parse_quantity_with_format(q)
    return format_quantity(v, fmt)


def compare(a: QuantityLike, b: QuantityLike) -> int:
    """``a.Cmp(b)``: -1, 0 or 1."""
    x, y = parse_quantity(a), parse_quantity(b)
    return (x > y) - (x < y)


def round_up(v: Fraction, scale: int) -> Fraction:
    """``Quantity.RoundUp(scale)``: round away from zero to a multiple of ``10**scale``."""
    unit = Fraction(10) ** scale
    n = v / unit
    if n.denominator == 1:
        return v
    return (math.ceil(n) if v > 0 else math.floor(n)) * unit


def normalize(q: QuantityLike) -> str:
    """What a quantity in a ResourceList reads back as: rounded up to milli precision
    (``SetDefaults_ResourceList``) and printed canonically (``"1000m"`` -> ``"1"``,
    ``0.5`` -> ``"500m"``, ``"0.1m"`` -> ``"1m"``).  Raises ``ValueError`` when invalid."""
    v, fmt = parse_quantity_with_format(q)
    return format_quantity(round_up(v, -3), fmt)
