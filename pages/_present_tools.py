"""The Present page's (collapsed) sidebar tools: prepare the show, export reels, presenter notes, and
edit, reorder or delete scenes. Prepare and export are background jobs (core.jobs) that survive reruns;
while one runs its part of the sidebar reruns alone every second."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import provenance as pv
from core import show as S
from core.jobs import JobBusyError, read_job, start_process_job
from core.show.licences import licence_warning
from core.show.view import SceneView
from pages._present_stage import start_prepare
from pages._provenance import export_flags, export_options

REEL_FORMATS = (("html", "HTML reel"), ("mp4", "MP4 reel"))


def job_progress(run_dir: Path, what: str) -> bool:
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


def prepare_panel(show_dir: Path, ready: int, total: int) -> None:
    st.subheader("Prepare")
    st.caption(f"{ready} of {total} scenes ready")
    job = S.prepare_status(show_dir)
    active = job is not None and job.is_active
    emphasis = "secondary" if ready == total else "primary"

    @st.fragment(run_every=1.0 if active else None)
    def prepare() -> None:
        running = job_progress(S.job_dir(show_dir), "Prepare")
        if active and not running:
            st.rerun()  # the new media is on disk: reload the stage
        if running:
            if st.button("Cancel prepare", key="present_cancel"):
                S.cancel_prepare(show_dir)
        elif st.button("Prepare show", key="present_prepare", type=emphasis,
                       help="Render every scene's media in the background (skips what is already rendered)"):
            start_prepare(show_dir)
            st.rerun()

    prepare()


def _reel_downloads(out: Path, fmt: str) -> None:
    st.download_button(f"Download {out.name} ({out.stat().st_size / 1e6:.1f} MB)",
                       data=lambda p=out: p.read_bytes(), file_name=out.name,
                       mime="text/html" if fmt == "html" else "video/mp4", key=f"present_dl_{fmt}")
    if (credentials := pv.sidecar_path(out)).is_file():  # HTML cannot embed a C2PA manifest
        st.download_button(f"Download its content credentials ({credentials.name})",
                           data=lambda p=credentials: p.read_bytes(), file_name=credentials.name,
                           mime="application/c2pa", key=f"present_dl_{fmt}_c2pa")


def export_panel(show_dir: Path, name: str, fmt: str, label: str) -> None:
    """Build and download one reel. While the build runs this part reruns alone every second, so its
    progress moves and the download appears by itself (it sat on "queued" until someone pressed Refresh)."""
    run_dir = S.job_dir(show_dir, f"export-{fmt}")
    job = read_job(run_dir)
    building = job is not None and job.is_active

    @st.fragment(run_every=1.0 if building else None)
    def panel() -> None:
        out = run_dir / f"{name}.{fmt}"
        running = job_progress(run_dir, f"{label} export")
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
            _reel_downloads(out, fmt)

    panel()


def notes_panel(views: list[SceneView]) -> None:
    notes = [(v.index, v.title, v.scene.notes) for v in views if v.scene.notes]
    if notes:
        with st.expander("Presenter notes"):
            for i, title, text in notes:
                st.markdown(f"**{i + 1} · {title}**  \n{text}")


def _edit(show_dir: Path, action: str, scene_id: str, title: str = "", notes: str = "") -> None:
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


def edit_panel(show_dir: Path, views: list[SceneView]) -> None:
    n = len(views)
    with st.expander("Edit scenes"):
        pick = st.selectbox("Scene", range(n), key="present_edit_pick",
                            format_func=lambda i: f"{i + 1} · {views[i].title}")
        scene = views[pick].scene
        if views[pick].about:  # the engineer's line (seeds, ψ, model file): here, never on stage
            st.caption(views[pick].about)
        new_title = st.text_input("Title", scene.title, key=f"present_title_{scene.id}")
        new_notes = st.text_area("Presenter notes", scene.notes, key=f"present_notes_{scene.id}")
        c1, c2, c3, c4 = st.columns(4)
        c1.button("Save", key="present_save", on_click=_edit,
                  args=(show_dir, "save", scene.id, new_title, new_notes))
        c2.button("⬆", key="present_up", disabled=pick == 0, help="Move earlier", on_click=_edit,
                  args=(show_dir, "up", scene.id))
        c3.button("⬇", key="present_down", disabled=pick == n - 1, help="Move later", on_click=_edit,
                  args=(show_dir, "down", scene.id))
        c4.button("🗑", key="present_delete", help="Delete this scene", on_click=_edit,
                  args=(show_dir, "delete", scene.id))
        if "present_edit_error" in st.session_state:
            st.error(st.session_state.pop("present_edit_error"))


def tools_panel(info: S.ShowInfo, show: S.Show, views: list[SceneView], missing: list[SceneView]) -> None:
    """The sidebar: prepare, the badge, exports, notes, scene editing."""
    with st.sidebar:
        prepare_panel(info.path, len(views) - len(missing), len(views))
        st.toggle("“AI-generated” badge on stage", value=True, key="present_badge",
                  help="A small label in a corner of every scene a model made (the HTML reel keeps it).")
        st.subheader("Export")
        export_options()
        if licence_note := licence_warning(show):
            st.warning(f"Warning: {licence_note}")
        for fmt, label in REEL_FORMATS:
            export_panel(info.path, info.name, fmt, label)
        notes_panel(views)
        edit_panel(info.path, views)
