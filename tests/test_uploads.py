"""core.uploads: the one content-addressed upload store."""

from core.uploads import content_name, store_upload


def test_same_bytes_same_file_different_bytes_never_overwrite(tmp_path):
    a = store_upload(b"first", "Photo.JPG", tmp_path)
    again = store_upload(b"first", "other-name.jpg", tmp_path)
    b = store_upload(b"second", "Photo.JPG", tmp_path)
    assert a == again and a != b
    assert a.read_bytes() == b"first" and b.read_bytes() == b"second"
    assert a.suffix == ".jpg" and len(a.stem) == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.name, b.name])  # no temp files left


def test_hostile_names_keep_only_a_plain_suffix(tmp_path):
    assert content_name(b"x", "../../etc/passwd", ".bin").endswith(".bin")
    assert content_name(b"x", "a.p$l", ".pkl").endswith(".pkl")
    assert content_name(b"x", "a." + "z" * 50, ".pkl").endswith(".pkl")
    path = store_upload(b"x", "/abs/evil.PKL", tmp_path / "sub")
    assert path.parent == tmp_path / "sub" and path.suffix == ".pkl"


def test_a_truncated_earlier_copy_is_rewritten(tmp_path):
    path = store_upload(b"whole content", "v.mp4", tmp_path)
    path.write_bytes(b"whole")                      # e.g. a crash of an older version mid-write
    assert store_upload(b"whole content", "v.mp4", tmp_path).read_bytes() == b"whole content"
