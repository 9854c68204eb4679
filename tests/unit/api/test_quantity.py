"""resource.Quantity parsing, integer views and canonical formatting."""

from __future__ import annotations

from fractions import Fraction

import pytest

from actors.api.quantity import (
    ERR_FORMAT_WRONG,
    ERR_SUFFIX,
    bytes_,
    canonical,
    compare,
    cpu_millis,
    format_quantity,
    normalize,
    parse_quantity,
    value,
)

PARSE = [
    pytest.param("100m", Fraction(1, 10), id="milli"),
    pytest.param("128Mi", 134217728, id="mebi"),
    pytest.param("1Ki", 1024, id="kibi"),
    pytest.param("1Gi", 1 << 30, id="gibi"),
    pytest.param("2Ei", 2 << 60, id="exbi"),
    pytest.param("1k", 1000, id="kilo"),
    pytest.param("1M", 10**6, id="mega"),
    pytest.param("3G", 3 * 10**9, id="giga"),
    pytest.param("1T", 10**12, id="tera"),
    pytest.param("1P", 10**15, id="peta"),
    pytest.param("1E", 10**18, id="exa"),
    pytest.param("5n", Fraction(5, 10**9), id="nano"),
    pytest.param("5u", Fraction(5, 10**6), id="micro"),
    pytest.param("1e3", 1000, id="exponent"),
    pytest.param("1E3", 1000, id="exponent-upper"),
    pytest.param("1.5e-3", Fraction(3, 2000), id="exponent-negative"),
    pytest.param("2", 2, id="plain"),
    pytest.param("0.5", Fraction(1, 2), id="decimal"),
    pytest.param(".5", Fraction(1, 2), id="leading-dot"),
    pytest.param("+5", 5, id="plus-sign"),
    pytest.param("-100m", Fraction(-1, 10), id="negative"),
    pytest.param("0.1n", Fraction(1, 10**9), id="rounded-up-to-nano"),
    pytest.param(3, 3, id="int"),
    pytest.param(0.25, Fraction(1, 4), id="float"),
    pytest.param("1.5Gi", 1610612736, id="fractional-binary"),
]


@pytest.mark.parametrize("s,want", PARSE)
def test_parse(s: str, want: Fraction) -> None:
    assert parse_quantity(s) == want


@pytest.mark.parametrize("s,err", [
    pytest.param("", ERR_FORMAT_WRONG, id="empty"),
    pytest.param("abc", ERR_FORMAT_WRONG, id="letters"),
    pytest.param("1 Gi", ERR_FORMAT_WRONG, id="space"),
    pytest.param("1Q", ERR_FORMAT_WRONG, id="unknown-suffix-char"),
    pytest.param("1ki", ERR_SUFFIX, id="lowercase-binary"),
    pytest.param("1mi", ERR_SUFFIX, id="bad-suffix"),
    pytest.param("--1", ERR_FORMAT_WRONG, id="double-sign"),
])
def test_parse_errors(s: str, err: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_quantity(s)
    assert str(e.value) == err


def test_format_wrong_message_is_upstreams() -> None:
    assert ERR_FORMAT_WRONG == ("quantities must match the regular expression "
                                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


@pytest.mark.parametrize("s,millis,val", [
    pytest.param("100m", 100, 1, id="100m"),
    pytest.param("2", 2000, 2, id="two"),
    pytest.param("1.5", 1500, 2, id="one-and-a-half"),
    pytest.param("0.0001", 1, 1, id="tiny-rounds-up"),
    pytest.param("1n", 1, 1, id="nano-rounds-up"),
    pytest.param("128Mi", 134217728000, 134217728, id="mebi"),
    pytest.param("-1.5", -1500, -2, id="negative-away-from-zero"),
])
def test_integer_views(s: str, millis: int, val: int) -> None:
    assert cpu_millis(s) == millis
    assert value(s) == val
    assert bytes_(s) == val


@pytest.mark.parametrize("s,want", [
    pytest.param("1000m", "1", id="milli-to-unit"),
    pytest.param("1500m", "1500m", id="keeps-milli"),
    pytest.param("0.5", "500m", id="decimal-to-milli"),
    pytest.param("1500", "1500", id="no-fraction-of-k"),
    pytest.param("2000", "2k", id="to-kilo"),
    pytest.param("128Mi", "128Mi", id="binary"),
    pytest.param("1.5Gi", "1536Mi", id="binary-smaller-unit"),
    pytest.param("1024Ki", "1Mi", id="binary-larger-unit"),
    pytest.param("0.5Ki", "512", id="binary-below-1Ki-is-decimal"),
    pytest.param("1.1Ki", "1126400m", id="binary-fraction-is-decimal"),
    pytest.param("1e3", "1e3", id="exponent-kept"),
    pytest.param("100e0", "100", id="exponent-zero"),
    pytest.param("0", "0", id="zero"),
    pytest.param("-100m", "-100m", id="negative"),
    pytest.param("12e6", "12e6", id="exponent-format-kept"),
    pytest.param("12000k", "12M", id="decimal-si-larger-unit"),
    pytest.param(3, "3", id="int"),
])
def test_canonical(s: str, want: str) -> None:
    assert canonical(s) == want


def test_format_quantity() -> None:
    assert format_quantity(Fraction(1, 4)) == "250m"
    assert format_quantity(1 << 30, "BinarySI") == "1Gi"
    assert format_quantity(10**21) == "1000E"


@pytest.mark.parametrize("s,want", [
    pytest.param("0.1m", "1m", id="round-up-to-milli"),
    pytest.param("1000m", "1", id="canonical"),
    pytest.param(0.5, "500m", id="float"),
    pytest.param(2, "2", id="int"),
])
def test_normalize(s: str, want: str) -> None:
    assert normalize(s) == want


def test_compare() -> None:
    assert compare("1", "1000m") == 0
    assert compare("1Gi", "1G") == 1
    assert compare("500m", 1) == -1
