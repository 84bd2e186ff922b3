"""core.names.safe_name: the one safe-name function behind show slugs, run folders and crop stems."""

from core.faces.export import safe_stem
from core.names import safe_name
from core.show.store import slugify


def test_safe_name_keeps_one_plain_name():
    assert safe_name("../etc/passwd", max_chars=60, fallback="run") == "___etc_passwd"
    assert safe_name("  ", max_chars=60, fallback="run") == "run"
    assert safe_name("Ünïcode run", max_chars=60, fallback="run") == "Ünïcode_run"
    assert len(safe_name("x" * 500, max_chars=60, fallback="run")) == 60
    assert safe_name("A  b..c", max_chars=10, fallback="f", keep="A-Za-z0-9", replacement="-", collapse=True,
                     lower=True) == "a-b-c"


def test_the_three_callers_keep_their_spelling():
    assert slugify("  My Pitch: Day #2!  ") == "my-pitch-day-2" and slugify("***") == "show"
    assert len(slugify("a" * 100)) == 48
    assert safe_stem("a/b.jpg") == "a__b_jpg" and safe_stem("./x y/é.png") == "x_y__é_png"
    assert safe_stem("") == "image"
