"""Show mode: rehearse once, then present instantly at full resolution, and hand out a reel.

A show is a folder: ``show.json`` (an ordered list of typed scenes, with a schema version) and
``media/`` (content-addressed renders). One topic per module:

=================  =========================================================================================
``checks``         field checks with clear errors; media paths confined to the show folder
``schema``         scene kinds as dataclasses (title, face, morph, edit, mixing, animation, dataset,
                   timelapse, evidence), validation with clear errors, render keys
``store``          create / list / load / save shows atomically and under a lock, media files, render
                   manifests, what each scene can show now
``render/``        one renderer per scene kind (imported on use: the model families load only to render)
``prepare``        the prepare job: progress, ETA, cancel, resume, skip what is rendered
``view``           what each scene shows, from its media only (no model, no torch)
``player``         the in-browser scrub player (plain JavaScript), shared by the page and the reel
``export_html``    one self-contained HTML reel (every frame embedded, no network reference)
``export_mp4``     one MP4 reel with title cards (through ``core.video``)
``demo``           the bundled demo show (``shows/demo``) from the bundled models
``cli``            ``python -m core.show prepare|export|demo|list|status|new|add|prune``
=================  =========================================================================================

Importing this package (and presenting) never imports torch or a model family.
"""

from core.show.checks import check_media_path
from core.show.errors import ShowError
from core.show.prepare import (
    PrepareSummary,
    cancel_prepare,
    job_dir,
    plan,
    prepare_show,
    prepare_status,
    start_prepare_job,
)
from core.show.schema import (
    SCENE_KINDS,
    SCENE_TYPES,
    SCHEMA_VERSION,
    AnimationScene,
    DatasetScene,
    EditScene,
    EvidenceScene,
    FaceScene,
    MixingScene,
    MorphScene,
    Scene,
    Show,
    TimelapseScene,
    TitleScene,
    parse_show,
    render_key,
    scene_from_dict,
    show_from_dict,
)
from core.show.store import (
    READY,
    SceneMedia,
    ShowInfo,
    add_scene,
    create_show,
    edit_show,
    list_shows,
    load_show,
    media_file,
    prune_media,
    put_media,
    save_show,
    scene_media,
    show_path,
    shows_root,
    slugify,
)
from core.show.view import SceneView, scene_view, scene_views

__all__ = [
    "READY", "SCENE_KINDS", "SCENE_TYPES", "SCHEMA_VERSION", "AnimationScene", "DatasetScene", "EditScene",
    "EvidenceScene", "FaceScene", "MixingScene", "MorphScene", "PrepareSummary", "Scene", "SceneMedia",
    "SceneView", "Show", "ShowError", "ShowInfo", "TimelapseScene", "TitleScene", "add_scene",
    "cancel_prepare", "check_media_path", "create_show", "edit_show", "job_dir", "list_shows", "load_show",
    "media_file", "parse_show", "plan", "prepare_show", "prepare_status", "prune_media", "put_media",
    "render_key", "save_show", "scene_from_dict", "scene_media", "scene_view", "scene_views",
    "show_from_dict", "show_path", "shows_root", "slugify", "start_prepare_job",
]
