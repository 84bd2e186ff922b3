"""The show's shared position (core.show.position): the presenter's key presses, applied once each, in
order, from where the show is now; what a browser sends is checked before it moves anything."""

from __future__ import annotations

import threading

from core.show import position as P


def _presses(*moves, first_id: int = 1_000):
    return [{"id": first_id + i, "move": m} for i, m in enumerate(moves)]


def test_each_press_is_applied_once_in_order(tmp_path):
    talk = tmp_path / "talk"
    presses = _presses(1, 1, 1, -1, 1)
    pos, done = P.apply_presses(talk, presses, 0, 10, root=tmp_path)
    assert (pos.scene, pos.seq, done) == (3, 5, 1_004)
    # The browser sends the same list again (with or without a new press): only the new one counts.
    assert P.apply_presses(talk, presses, done, 10, root=tmp_path) == (None, done)
    pos, done = P.apply_presses(talk, [*presses, *_presses(1, first_id=2_000)], done, 10, root=tmp_path)
    assert (pos.scene, pos.seq, done) == (4, 6, 2_000)
    # Sent out of order (the list is sorted by id): 'first' before the two steps.
    pos, done = P.apply_presses(talk, [{"id": 3_002, "move": 1}, {"id": 3_001, "move": "first"},
                                       {"id": 3_003, "move": 1}], done, 10, root=tmp_path)
    assert (pos.scene, done) == (2, 3_003)
    pos, _ = P.apply_presses(talk, _presses("last", 1, first_id=4_000), done, 10, root=tmp_path)
    assert pos.scene == 9  # clamped at the end: the second press does not move it


def test_steps_count_from_where_the_show_is_now(tmp_path):
    talk = tmp_path / "talk"
    P.move_to(talk, 2, 10, root=tmp_path)
    P.move_to(talk, 6, 10, root=tmp_path)  # the audience's clicker, meanwhile
    pos, _ = P.apply_presses(talk, _presses(1), 0, 10, root=tmp_path)
    assert pos.scene == 7


def test_hostile_presses_move_nothing(tmp_path):
    talk = tmp_path / "talk"
    P.move_to(talk, 4, 10, root=tmp_path)
    before = P.read_position(talk, 10, root=tmp_path)
    for junk in (None, "1", {"id": 5, "move": 1}, [1, 2], [{"id": "9", "move": 1}], [{"id": True, "move": 1}],
                 [{"id": 9, "move": True}], [{"id": 9, "move": 2}], [{"id": 9, "move": "next"}],
                 [{"id": 9.5, "move": 1}], [{"id": 9}], [{"move": 1}], [{"id": 9, "move": [1]}]):
        assert P.apply_presses(talk, junk, 0, 10, root=tmp_path) == (None, 0), junk
    assert P.read_position(talk, 10, root=tmp_path) == before
    # A flood: only the last MAX_PRESSES are looked at.
    flood = _presses(*([1] * (P.MAX_PRESSES + 50)))
    pos, done = P.apply_presses(talk, flood, 0, 10_000, root=tmp_path)
    assert pos.scene == 4 + P.MAX_PRESSES and done == flood[-1]["id"]


def test_two_windows_stepping_at_once_both_count(tmp_path):
    talk = tmp_path / "talk"
    P.move_to(talk, 0, 1_000, root=tmp_path)
    threads = [threading.Thread(target=lambda: [P.step(talk, 1, 1_000, root=tmp_path) for _ in range(50)])
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert P.read_position(talk, 1_000, root=tmp_path).scene == 100


def test_a_move_names_the_audience_window_that_made_it(tmp_path):
    talk = tmp_path / "talk"
    assert P.move_to(talk, 2, 10, root=tmp_path, by="lq3x9a1b2c").by == "lq3x9a1b2c"
    assert P.read_position(talk, 10, root=tmp_path).by == "lq3x9a1b2c"
    assert P.step(talk, 1, 10, root=tmp_path).by == ""  # the presenter's
    for junk in (None, 7, ["a"], "x" * (P.MAX_WINDOW_ID + 1)):
        assert P.move_to(talk, P.read_position(talk, 10, root=tmp_path).scene + 1, 10, root=tmp_path,
                         by=junk).by == ""
    P.position_file(talk, tmp_path).write_text('{"scene": 1, "seq": 3, "moved_at": 1, "started_at": 1, '
                                               '"scene_started_at": 1, "by": {"x": 1}}')
    assert P.read_position(talk, 10, root=tmp_path) == P.Position(1, 3, 1.0, 1.0, 1.0, "")


def test_a_new_server_session_marks_the_resent_presses_done_without_moving(tmp_path):
    talk = tmp_path / "talk"
    P.move_to(talk, 3, 10, root=tmp_path)
    before = P.read_position(talk, 10, root=tmp_path)
    resent = _presses(1, 1, -1)  # what the page last sent to the server that restarted
    assert P.apply_presses(talk, resent, None, 10, root=tmp_path) == (None, resent[-1]["id"])
    assert P.apply_presses(talk, None, None, 10, root=tmp_path) == (None, 0)  # a fresh page: nothing yet
    assert P.read_position(talk, 10, root=tmp_path) == before
    pos, _ = P.apply_presses(talk, [*resent, *_presses(1, first_id=5_000)], resent[-1]["id"], 10,
                             root=tmp_path)
    assert pos.scene == 4
