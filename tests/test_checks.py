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
    assert shown(5) == "5" and shown(2 ** 63) == repr(2 ** 63) and shown(-(10 ** 400)) == "a 401-digit number"
    assert shown(10 ** 5000) == "a many-digit number" and shown(list(range(21))) == "a list of 21 items"
    assert len(shown([10 ** 5000])) < 40 and len(shown("y" * 100, limit=60)) == 60


def test_number_tests_refuse_bools_text_and_non_finite_values():
    from core.checks import finite_number, real_number, whole_number

    assert [finite_number(v) for v in (1, 2.5, np.float32(0.5), np.int64(3))] == [1.0, 2.5, 0.5, 3.0]
    assert all(finite_number(v) is None for v in (True, "1", None, [1], math.nan, math.inf, 10 ** 400))
    assert real_number(10 ** 400) and not real_number(np.bool_(True))
    assert real_number(np.int64(1)) and not real_number(np.int64(1), plain=True)
    assert whole_number(np.int64(4)) == 4 and whole_number(np.int64(4), plain=True) is None
    assert whole_number(4.0) is None and whole_number(4.0, whole_floats=True) == 4
    assert whole_number(np.float32(4.0), whole_floats=True, plain=True) is None


def test_bound_rows_open_ends_and_huge_ints():
    from core.checks import Bound, check_bounded

    dropout = Bound(0.0, 1.0, open_high=True)
    assert dropout.admits(0.0) and not dropout.admits(1.0) and not dropout.admits(math.nan)
    assert not Bound(0, 10).admits(10 ** 400) and Bound(0, 10 ** 500).admits(10 ** 400)
    lo, hi = Bound(1, 8)
    assert (lo, hi) == (1, 8) and Bound(0, 1, open_low=True).span() == "above 0 and at most 1"
    assert check_bounded(np.int64(3), "n", Bound(1, 8, whole=True)) == 3
    with pytest.raises(FamilyError, match=r"'n' = 9 is outside the supported range 1\.\.8"):
        check_bounded(9, "n", Bound(1, 8, whole=True), error=FamilyError)


def test_flag_types_name_the_flag_in_argparse_one_line(capsys):
    import argparse

    from core.checks import flag_type, int_flag

    def claim(text: str) -> float:
        if text != "0.5":
            raise FamilyError("claim must be between 0.001 and 0.999 (got 2).")
        return 0.5

    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--claim", type=flag_type(claim, FamilyError))
    parser.add_argument("--port", type=int_flag(1, 65535))
    assert parser.parse_args(["--claim", "0.5", "--port", "80"]).port == 80
    for argv, words in ((["--claim", "2"], "argument --claim: claim must be between 0.001 and 0.999 (got 2)"),
                        (["--port", "9" * 40], "argument --port: must be a whole number from 1 to 65,535")):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        assert words in capsys.readouterr().err


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "0.49", "60.01", "1e400", "eight", "9" * 50])
def test_a_float_flag_refuses_non_finite_and_out_of_range_values(capsys, text):
    import argparse

    from core.checks import float_flag

    parser = argparse.ArgumentParser(prog="x")
    parser.add_argument("--fps", type=float_flag(0.5, 60))
    assert parser.parse_args(["--fps", "0.5"]).fps == 0.5 and parser.parse_args(["--fps", "60"]).fps == 60
    with pytest.raises(SystemExit):
        parser.parse_args([f"--fps={text}"])
    assert "argument --fps: must be a number from 0.5 to 60" in capsys.readouterr().err


def test_a_fomm_config_with_a_400_digit_number_is_out_of_bounds_not_a_crash(tmp_path):
    from core.fomm.config import FommConfigError, load_config

    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(f"model_params:\n  common_params: {{num_kp: 1{'0' * 400}, num_channels: 3}}\n"
                       "  kp_detector_params: {num_blocks: 2}\n  generator_params: {num_down_blocks: 2}\n")
    with pytest.raises(FommConfigError, match="num_kp=a 401-digit number is out of bounds"):
        load_config(hostile)


def test_a_stylegan2_filter_tap_of_400_digits_is_refused_not_a_crash():
    from core.checkpoint import CheckpointError
    from core.stylegan2.config import validate_generator_kwargs

    config = {"z_dim": 8, "w_dim": 8, "img_resolution": 16,
              "synthesis_kwargs": {"channel_base": 64, "resample_filter": [1, 10 ** 400, 1]}}
    with pytest.raises(CheckpointError, match="resample_filter.*finite filter taps"):
        validate_generator_kwargs(config)
