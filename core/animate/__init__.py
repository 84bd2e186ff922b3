"""Face animation: a driving video (or a recorded motion) moves a source face; MP4 out, with the sound.

Used by the FOMM animator page and the command line (``python -m core.fomm animate ...`` or
``python -m core.animate ...``). One topic per module:

* :mod:`~core.animate.pipeline` -- :func:`animate`: source + driving -> MP4, engines, options, result;
* :mod:`~core.animate.source` -- the source face, found and aligned (largest face when several);
* :mod:`~core.animate.driving` -- the driving video's stable face crop and per-frame keypoints;
* :mod:`~core.animate.motion_transfer` + :mod:`~core.animate.warp` + :mod:`~core.animate.features` +
  :mod:`~core.animate.smoothing` -- the offline landmark engine (smooth fold-checked warp, eyes, mouth);
* :mod:`~core.animate.motions` -- motion files (bundled demo motions, recorded trajectories);
* :mod:`~core.animate.audio` -- the driving audio, fitted to the animation's length; a voice decoded;
* :mod:`~core.animate.voice` -- a face that says your line: a voice -> a driving motion (+ its sound);
* :mod:`~core.animate.preview` -- a motion shown on a neutral synthetic face; how much it moves;
* :mod:`~core.animate.job` -- an animation as a background job (:mod:`core.jobs` run folder);
* :mod:`~core.animate.progress`, :mod:`~core.animate.errors`, :mod:`~core.animate.cli`.

Video frames are read and written only through :mod:`core.video`; images through :mod:`core.image.decode`.
The neural engine (:mod:`core.fomm`) is imported only when it is chosen.
"""

from core.animate.audio import mux_audio
from core.animate.driving import (
    MAX_PENDING_FRAMES,
    driving_keypoints,
    find_driving_crop,
    iter_cropped,
    record_motion,
    tracked_frames,
)
from core.animate.errors import AnimationCancelled, AnimationError
from core.animate.framing import OUTPUT_SIZE, crop_square, face_crop_from_boxes
from core.animate.job import animation_result, start_animation_job, start_speech_job
from core.animate.motions import MOTIONS_DIR, Motion, bundled_motions, load_motion, save_motion
from core.animate.pipeline import ENGINES, AnimateOptions, AnimationResult, animate, compose, draw_keypoints
from core.animate.preview import motion_change, preview_face, preview_frames, preview_path
from core.animate.progress import Progress, ProgressFn
from core.animate.source import prepare_source, read_source_image, static_landmarker
from core.animate.voice import VoiceOptions, speak

__all__ = ["ENGINES", "MAX_PENDING_FRAMES", "MOTIONS_DIR", "OUTPUT_SIZE", "AnimateOptions",
           "AnimationCancelled", "AnimationError", "AnimationResult", "Motion", "Progress", "ProgressFn",
           "animate", "animation_result", "bundled_motions", "compose", "crop_square", "draw_keypoints",
           "driving_keypoints",
           "face_crop_from_boxes", "find_driving_crop", "iter_cropped", "load_motion", "motion_change",
           "mux_audio", "prepare_source", "preview_face", "preview_frames", "preview_path",
           "read_source_image", "record_motion", "save_motion", "speak", "start_animation_job",
           "start_speech_job", "static_landmarker", "tracked_frames", "VoiceOptions"]
