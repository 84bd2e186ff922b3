"""Video files: the one writer (MP4, GIF), the one reader and the probes, all on imageio-ffmpeg's ffmpeg.

Used by the trainer time-lapse, the StyleGAN2 morphs and the animation pipeline. Frames are uint8
HxWx3 RGB arrays.
"""

from core.video.probe import (
           VideoInfo,
           audio_codec,
           count_frames,
           has_audio_stream,
           probe_video,
           stream_listing,
)
from core.video.read import VIDEO_SUFFIXES, VideoError, iter_frames, require_video_file
from core.video.write import Mp4Writer, ffmpeg_exe, ffmpeg_failure, video_bytes, write_gif, write_mp4

__all__ = ["VIDEO_SUFFIXES", "Mp4Writer", "VideoError", "VideoInfo", "audio_codec", "count_frames",
           "ffmpeg_exe", "ffmpeg_failure", "has_audio_stream", "iter_frames", "probe_video",
           "require_video_file", "stream_listing", "video_bytes", "write_gif", "write_mp4"]
