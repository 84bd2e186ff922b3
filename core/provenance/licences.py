"""The licence ledger: every model Custom Cast can load, under which licence, and what it may be used for.

One place, read by the downloads (which print the licence and ask for ``--accept-licence``), the pages (one
line under the model), show prepare (records what each scene used) and the exports (a warning, never a
refusal, when a non-commercial model is in a reel). The official weights' keys match
:data:`core.download.OFFICIAL_WEIGHTS` (a test holds the two lists together).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelLicence:
    key: str
    name: str          # what the model is, in the room's words
    licence: str       # the licence of the weights
    data: str          # what it was trained on, and that data's licence
    use: str           # what the licence allows, in one phrase
    commercial: bool | None  # True: commercial use allowed; False: not; None: unknown (check the source)
    source: str        # where the licence text is

    def line(self) -> str:
        """One line for a page: the licence and what it allows."""
        return f"Model licence: {self.licence} — {self.use}."

    def as_dict(self) -> dict:
        return asdict(self)


_NVIDIA_NC = "NVIDIA Source Code License-NC"
_NVIDIA_USE = "research and non-commercial use only"
_NVIDIA_SRC = "https://nvlabs.github.io/stylegan2-ada-pytorch/license.html"
_FFHQ = "FFHQ (Flickr photos of real people; dataset CC BY-NC-SA 4.0 by NVIDIA)"

LEDGER: dict[str, ModelLicence] = {m.key: m for m in [
    ModelLicence("stylegan2-bundled", "Custom Cast StyleGAN2 (bundled, 64 px)", "MIT (own work)",
                 "samples of gan-face-generate's DCGAN (MIT), itself trained on Microsoft DigiFace-1M "
                 "synthetic renders (no real people)", "any use, including commercial, under MIT", True,
                 "checkpoints/README.md"),
    ModelLicence("dcgan-bundled", "Custom Cast DCGAN (bundled, 64 px)", "MIT (own work)",
                 "samples of gan-face-generate's DCGAN (MIT; DigiFace-1M synthetic renders, no real people)",
                 "any use, including commercial, under MIT", True, "checkpoints/README.md"),
    ModelLicence("landmarks", "Offline landmark motion transfer", "MIT (own work) + MediaPipe (Apache-2.0)",
                 "no trained weights of its own; MediaPipe's face mesh tracks the landmarks",
                 "any use, including commercial", True, "https://github.com/google-ai-edge/mediapipe"),
    ModelLicence("ffhq-1024", "NVIDIA StyleGAN2 FFHQ 1024 px", _NVIDIA_NC, _FFHQ, _NVIDIA_USE, False,
                 _NVIDIA_SRC),
    ModelLicence("ffhq-512", "NVIDIA StyleGAN2 FFHQ 512 px", _NVIDIA_NC, _FFHQ, _NVIDIA_USE, False,
                 _NVIDIA_SRC),
    ModelLicence("ffhq-256", "NVIDIA StyleGAN2 FFHQ 256 px", _NVIDIA_NC, _FFHQ, _NVIDIA_USE, False,
                 _NVIDIA_SRC),
    ModelLicence("ffhq-1024-ada", "NVIDIA StyleGAN2-ADA FFHQ 1024 px", _NVIDIA_NC, _FFHQ, _NVIDIA_USE, False,
                 _NVIDIA_SRC),
    ModelLicence("metfaces", "NVIDIA StyleGAN2-ADA MetFaces 1024 px", _NVIDIA_NC,
                 "MetFaces (museum portraits; dataset CC BY-NC 2.0) on top of FFHQ", _NVIDIA_USE, False,
                 _NVIDIA_SRC),
    ModelLicence("metfaces-ada", "NVIDIA StyleGAN2-ADA MetFaces 1024 px", _NVIDIA_NC,
                 "MetFaces (museum portraits; dataset CC BY-NC 2.0) on top of FFHQ", _NVIDIA_USE, False,
                 _NVIDIA_SRC),
    ModelLicence("vox-256", "First Order Motion Model, VoxCeleb 256 px (official vox-cpk)",
                 "CC BY-NC 4.0 (first-order-model repository licence)",
                 "VoxCeleb (YouTube interviews of real people; research use)",
                 "non-commercial use only, with attribution to Siarohin et al.", False,
                 "https://github.com/AliaksandrSiarohin/first-order-model/blob/master/LICENSE.md"),
    ModelLicence("untrained", "Untrained generator (random weights)", "MIT (own work)",
                 "nothing: random weights", "any use, including commercial", True, "the project's licence"),
    ModelLicence("unknown", "A model file from elsewhere", "unknown",
                 "unknown", "check the licence where the file came from before any public or commercial use",
                 None, ""),
]}

# Official files by their names on disk (core.download.OFFICIAL_WEIGHTS filenames).
OFFICIAL_FILES: dict[str, str] = {
    "stylegan2-ffhq-1024x1024.pkl": "ffhq-1024", "stylegan2-ffhq-512x512.pkl": "ffhq-512",
    "stylegan2-ffhq-256x256.pkl": "ffhq-256", "stylegan2-metfaces-1024x1024.pkl": "metfaces",
    "stylegan2-ada-ffhq.pkl": "ffhq-1024-ada", "stylegan2-ada-metfaces.pkl": "metfaces-ada",
    "vox-cpk.pth.tar": "vox-256",
}
BUNDLED_FILES: dict[str, str] = {"stylegan2_demo.pt": "stylegan2-bundled", "dcgan_demo.pt": "dcgan-bundled"}


def licence_for(model: str | os.PathLike | None) -> ModelLicence:
    """The ledger entry for a weights key ("ffhq-1024"), an engine ("landmarks"), or a model file path.

    A file is known by its name: the bundled checkpoints and the official downloads; a ``vox*.pth.tar`` is
    taken as the official FOMM release; anything else is "unknown" (its licence is the user's to check).
    """
    if model is None or str(model) == "":
        return LEDGER["unknown"]
    text = str(model)
    if text in LEDGER:
        return LEDGER[text]
    name = Path(text).name
    if name in BUNDLED_FILES:
        return LEDGER[BUNDLED_FILES[name]]
    if name in OFFICIAL_FILES:
        return LEDGER[OFFICIAL_FILES[name]]
    if name.startswith("vox") and name.endswith(".pth.tar"):
        return LEDGER["vox-256"]
    return LEDGER["unknown"]


def non_commercial(licences: list[ModelLicence]) -> list[ModelLicence]:
    """Those whose licence forbids commercial use, each once (for the export warning)."""
    seen: dict[str, ModelLicence] = {}
    for lic in licences:
        if lic.commercial is False:
            seen.setdefault(lic.key, lic)
    return list(seen.values())


def download_notice(key: str) -> str:
    """What a download prints before asking for acceptance."""
    lic = licence_for(key)
    return (f"{lic.name}: licensed under the {lic.licence} — {lic.use}. Trained on {lic.data}. "
            f"Licence: {lic.source}")
