"""Present: play a prepared show. The stage is the in-browser show player (core.show.player): every scene
comes from its pre-rendered media, scene changes and the morph scrub happen in the browser (no model, no
torch, no server round trip). Preparing, exporting and editing live in the (collapsed) sidebar."""

from __future__ import annotations

import html

import streamlit as st

from core import provenance as pv
from core import show as S
from core.jobs import JobBusyError, read_job, start_process_job
from core.show.licences import licence_warning, show_licences
from core.show.player import scene_data, show_document
from pages._presenter import audience_follower, presenter_view
from pages._provenance import export_flags, export_options, export_settings
from pages._show import frame_urls
from pages._stage_check import stage_check_button, stage_check_results

st.set_page_config(layout="wide", initial_sidebar_state="collapsed")

SHOW_KEY = "present_show"
FRAME_HEIGHT = 540   # px of a scrubbed picture: big, with the controls still on a laptop screen
MEDIA_HEIGHT = 580   # px of a still picture, a chart or a video
STAGE_HEIGHT = 760   # px of the whole player (bar, title, picture, controls)
# The page keeps ?show=…&scene=… in the address (a reload or a shared link opens the same scene), takes
# the arrow keys without a click into the stage first, and sizes the stage to the window (the heights
# above are the starting sizes).
PAGE_OPTIONS = """{
  parentKeys: true,
  fitParent: true,
  start: function () {
    try { var n = parseInt(new URLSearchParams(window.parent.location.search).get('scene') || '1', 10);
          return isNaN(n) ? 0 : n - 1; } catch (e) { return 0; }
  },
  onScene: function (i) {
    var u = new URL(window.parent.location.href); u.searchParams.set('scene', i + 1);
    window.parent.history.replaceState(window.parent.history.state, '', u);
    window.parent.dispatchEvent(new CustomEvent('cc-scene', {detail: i}));  // the presenter's screen follows
  }
}"""

shows = S.list_shows()
if not shows:
    st.title("Present")
    st.info(f"No shows yet in `{S.shows_root()}`. Build the demo with `python -m core.show demo --out "
            "shows/demo`, or use **🎬 Add to show** on any page.")
    st.stop()
names = [s.name for s in shows]
if st.session_state.get(SHOW_KEY) not in names:
    wanted = st.query_params.get("show")
    st.session_state[SHOW_KEY] = wanted if wanted in names else ("demo" if "demo" in names else names[0])


def _show_changed() -> None:
    st.query_params["scene"] = "1"


with st.sidebar:
    name = st.selectbox("Show", names, key=SHOW_KEY, on_change=_show_changed,
                        format_func=lambda n: f"{n} · {next(s.title for s in shows if s.name == n)}")
st.query_params["show"] = name
info = next(s for s in shows if s.name == name)
show_dir = info.path
if info.error:
    st.error(f"This show cannot be played: {info.error}")
    st.stop()
show = S.load_show(show_dir)
if not show.scenes:
    st.title(show.title)
    st.info("This show has no scenes yet: use **🎬 Add to show** on the other pages.")
    st.stop()
views = S.scene_views(show_dir, show)
n = len(views)


def _start_prepare(only: list[str] | None = None) -> None:
    try:
        S.start_prepare_job(show_dir, only=only)
        st.toast("Preparing in the background; progress is in the sidebar (») .")
    except JobBusyError:
        st.toast("A prepare of this show is already running.")


if st.query_params.get("view") == "presenter":  # the presenter's own window: no stage, no tools
    presenter_view(show_dir, show.title, views)
    st.stop()

# ------------------------------------------------------------------------------------- the stage
with st.sidebar:
    st.link_button("Open the presenter's screen", f"?show={name}&view=presenter", width="stretch",
                   help="A second window with notes, timers and the next scene; this window follows it.")
    stage_check_button(show_dir)
stage_check_results(show_dir)
missing = [v for v in views if not v.ready]
if missing:
    listed = ", ".join(f"{v.index + 1} ({html.escape(v.title)})" for v in missing[:6])
    warn, button = st.columns([5, 1], vertical_alignment="center")
    warn.warning(f"**{len(missing)} of {n} scenes are not ready to show:** scene {listed}"
                 f"{' …' if len(missing) > 6 else ''}. They say so on stage; prepare them to render "
                 "their media.")
    if button.button("Prepare now", key="present_prepare_missing", type="primary"):
        _start_prepare()


def _url(path) -> str:
    return frame_urls([path], f"show.{name}.{path.name}")[0]  # media names are content hashes: unique


scenes = [scene_data(v, _url) for v in views]
badge = export_settings().label_text if st.session_state.get("present_badge", True) else ""
st.iframe(show_document(show.title, scenes, f"{FRAME_HEIGHT}px", f"{MEDIA_HEIGHT}px", PAGE_OPTIONS,
                        badge=badge), height=STAGE_HEIGHT)
st.caption("Models: " + "; ".join(f"{lic.name} — {lic.licence}" for lic in show_licences(show))
           if show_licences(show) else "No model in this show.")
audience_follower(show_dir, n)  # moves made in the presenter's window (or another machine) within ~0.1 s


# --------------------------------------------------------------------------------- sidebar: tools
def _job_panel(run_dir, what: str) -> bool:
    """Progress of a background job; True while it runs."""
    job = read_job(run_dir)
    if job is None:
        return False
    if job.is_active:
        st.progress(job.fraction or 0.0, text=job.describe())
        return True
    if job.state == "failed":
        st.error(f"{what} failed: {job.error}")
    elif job.state == "cancelled":
        st.warning(f"{what} was cancelled; start it again to resume.")
    return False


def export_panel(show_dir, name: str, fmt: str, label: str) -> None:
    """Build and download one reel. While the build runs this part reruns alone every second, so its
    progress moves and the download appears by itself (it sat on "queued" until someone pressed Refresh)."""
    run_dir = S.job_dir(show_dir, f"export-{fmt}")
    job = read_job(run_dir)
    building = job is not None and job.is_active

    @st.fragment(run_every=1.0 if building else None)
    def panel() -> None:
        out = run_dir / f"{name}.{fmt}"
        running = _job_panel(run_dir, f"{label} export")
        if building and not running:
            st.rerun()  # finished: show the download and stop polling
        done = read_job(run_dir)
        if not running and st.button(f"Build {label}", key=f"present_build_{fmt}"):
            try:
                start_process_job(run_dir, ["-m", "core.show", "export", str(show_dir.resolve()), f"--{fmt}",
                                            str(out), *export_flags()], kind=f"show-export-{fmt}")
                st.rerun()
            except JobBusyError:
                st.toast(f"The {label} is already being built.")
        elif not running and done is not None and done.state == "done" and out.is_file():
            st.download_button(f"Download {out.name} ({out.stat().st_size / 1e6:.1f} MB)",
                               data=lambda p=out: p.read_bytes(), file_name=out.name,
                               mime="text/html" if fmt == "html" else "video/mp4", key=f"present_dl_{fmt}")
            if (credentials := pv.sidecar_path(out)).is_file():  # HTML cannot embed a C2PA manifest
                st.download_button(f"Download its content credentials ({credentials.name})",
                                   data=lambda p=credentials: p.read_bytes(), file_name=credentials.name,
                                   mime="application/c2pa", key=f"present_dl_{fmt}_c2pa")

    panel()


with st.sidebar:
    st.subheader("Prepare")
    st.caption(f"{n - len(missing)} of {n} scenes ready")
    job = S.prepare_status(show_dir)
    active = job is not None and job.is_active

    @st.fragment(run_every=1.0 if active else None)
    def prepare_panel() -> None:
        running = _job_panel(S.job_dir(show_dir), "Prepare")
        if active and not running:
            st.rerun()  # the new media is on disk: reload the stage
        if running:
            if st.button("Cancel prepare", key="present_cancel"):
                S.cancel_prepare(show_dir)
        elif st.button("Prepare show", key="present_prepare", type="primary" if missing else "secondary",
                       help="Render every scene's media in the background (skips what is already rendered)"):
            _start_prepare()
            st.rerun()

    prepare_panel()

    st.toggle("“AI-generated” badge on stage", value=True, key="present_badge",
              help="A small label in a corner of every scene a model made (the HTML reel keeps it).")
    st.subheader("Export")
    export_options()
    if licence_note := licence_warning(show):
        st.warning(f"Warning: {licence_note}")
    for fmt, label in (("html", "HTML reel"), ("mp4", "MP4 reel")):
        export_panel(show_dir, name, fmt, label)

    notes = [(v.index, v.title, v.scene.notes) for v in views if v.scene.notes]
    if notes:
        with st.expander("Presenter notes"):
            for i, title, text in notes:
                st.markdown(f"**{i + 1} · {title}**  \n{text}")

    with st.expander("Edit scenes"):
        pick = st.selectbox("Scene", range(n), key="present_edit_pick",
                            format_func=lambda i: f"{i + 1} · {views[i].title}")
        scene = views[pick].scene
        new_title = st.text_input("Title", scene.title, key=f"present_title_{scene.id}")
        new_notes = st.text_area("Presenter notes", scene.notes, key=f"present_notes_{scene.id}")

        def _edit(action: str, scene_id: str, title: str = "", notes: str = "") -> None:
            """Button callback (runs before the rerun, so the scene picker can follow the moved scene)."""
            def change(s: S.Show) -> None:
                i = next(k for k, sc in enumerate(s.scenes) if sc.id == scene_id)
                if action == "save":
                    s.scenes[i].title = st.session_state.get(f"present_title_{scene_id}", title)
                    s.scenes[i].notes = st.session_state.get(f"present_notes_{scene_id}", notes)
                elif action in ("up", "down"):
                    j = min(max(i + (1 if action == "down" else -1), 0), len(s.scenes) - 1)
                    s.scenes[i], s.scenes[j] = s.scenes[j], s.scenes[i]
                    st.session_state["present_edit_pick"] = j
                elif action == "delete":
                    s.scenes.pop(i)
                    st.session_state["present_edit_pick"] = max(min(i, len(s.scenes) - 1), 0)
            try:
                S.edit_show(show_dir, change)
            except S.ShowError as e:
                st.session_state["present_edit_error"] = str(e)

        c1, c2, c3, c4 = st.columns(4)
        c1.button("Save", key="present_save", on_click=_edit, args=("save", scene.id, new_title, new_notes))
        c2.button("⬆", key="present_up", disabled=pick == 0, help="Move earlier", on_click=_edit,
                  args=("up", scene.id))
        c3.button("⬇", key="present_down", disabled=pick == n - 1, help="Move later", on_click=_edit,
                  args=("down", scene.id))
        c4.button("🗑", key="present_delete", help="Delete this scene", on_click=_edit,
                  args=("delete", scene.id))
        if "present_edit_error" in st.session_state:
            st.error(st.session_state.pop("present_edit_error"))
