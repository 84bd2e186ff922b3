"""Present: play a prepared show.

The page is a ``main()`` over panels: the show picker and the stage (the in-browser show player, every
scene from its pre-rendered media: ``pages/_present_stage.py``), the presenter's own window and the
audience window that follows it (``pages/_presenter.py``), and the sidebar's prepare, export and edit
tools (``pages/_present_tools.py``), which stay collapsed in front of the room.
"""

from __future__ import annotations

import streamlit as st

from core import show as S
from pages._present_stage import missing_panel, show_picker, stage_panel
from pages._present_tools import tools_panel
from pages._presenter import audience_follower, presenter_view
from pages._stage_check import stage_check_button, stage_check_results


def main() -> None:
    st.set_page_config(layout="wide", initial_sidebar_state="collapsed")
    info, show = show_picker()
    views = S.scene_views(info.path, show)
    if st.query_params.get("view") == "presenter":  # the presenter's own window: no stage, no tools
        presenter_view(info.path, show.title, views)
        return
    with st.sidebar:
        st.link_button("Open the presenter's screen", f"?show={info.name}&view=presenter", width="stretch",
                       help="A second window with notes, timers and the next scene; this window follows it.")
        stage_check_button(info.path)
    stage_check_results(info.path)
    missing = missing_panel(info.path, views)
    stage_panel(info.name, show, views)
    audience_follower(info.path, len(views))  # moves made in the presenter's window (or another machine)
    tools_panel(info, show, views, missing)


main()
