"""core.checks: the one set of input checks, as every family's bounds tables use it."""

import math

import numpy as np
import pytest

from core.checks import check_bool, check_choice, check_float, check_int, check_text, shown


class FamilyError(ValueError):
    pass


def test_int_accepts_numpy_and_bounds():
    assert check_int(np.int64(7), "n", 1, 10) == 7
    with pytest.raises(ValueError, match=r"'n' = 11 is outside the supported range 1\.\.10"):
        check_int(11, "n", 1, 10)
    with pytest.raises(FamilyError, match="must be a whole number"):
        check_int(True, "n", 0, 1, error=FamilyError)
    assert check_int(3.0, "n", 1, 10, whole_floats=True) == 3
    with pytest.raises(ValueError, match="whole number"):
        check_int(3.5, "n", 1, 10, whole_floats=True)


def test_huge_and_non_finite_numbers_are_out_of_range_not_a_crash():
    for value in (10 ** 400, math.inf, -math.inf, math.nan, float("1e308") * 10):
        with pytest.raises(ValueError, match="'psi'") as e:
            check_float(value, "psi", -2.0, 2.0, where="scene 3 (morph)")
        assert str(e.value).startswith("scene 3 (morph): ")
        assert len(str(e.value)) < 120      # the 400 digits are not quoted
    with pytest.raises(ValueError, match="outside"):
        check_int(10 ** 400, "poll", 1, 10 ** 6)


def test_open_low_float_and_choice_bool_text():
    with pytest.raises(ValueError, match="above 0"):
        check_float(0.0, "lr", 0.0, 1.0, open_low=True)
    assert check_float(np.float32(0.5), "lr", 0.0, 1.0, open_low=True) == 0.5
    assert check_choice("a", "kind", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"not one of \['a', 'b'\]"):
        check_choice(1, "kind", ("a", "b"))
    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(ValueError, match="true or false"):
        check_bool(1, "flag")
    with pytest.raises(ValueError, match="longer than 5"):
        check_text("abcdef", "title", limit=5)
    with pytest.raises(ValueError, match="is required"):
        check_text("  ", "title", required=True)


def test_shown_cuts_long_values():
    assert shown("x" * 100).endswith("...") and len(shown("x" * 100)) == 40
    assert shown(5) == "5"
