"""DCGAN training on face crops: networks, data, a resumable training loop, SWD, sampling and a CLI.

Papers: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks" (ICLR 2016); differentiable augmentation from Zhao et al.,
"Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS 2020); the sliced
Wasserstein distance over a Laplacian pyramid from Karras et al., "Progressive Growing of GANs for
Improved Quality, Stability, and Variation" (ICLR 2018).

One topic per module:

========================  ===========================================================================
``config``                typed TrainConfig / ModelConfig, presets, bounds on every field
``models``                the ``study`` and ``tutorial`` generators and discriminators
``augment``               DiffAugment
``data``                  training images (through core.image.decode), the .npz export, the epoch sampler
``quality``               sliced Wasserstein distance (SWD)
``rng``                   RNG state as plain tensors for exact resume
``sampling``              seeded sampling and latent walks (uint8 N x H x W x 3)
``loading``               opening checkpoints safely (kind, config bounds, weight shapes), export
``run_dir``               the run folder: lock, pause control, status, metrics, snapshots
``trainer``               the training loop (DDP under torchrun; progress and cancel via core.jobs)
``background``            training as a ``core.jobs`` process job for the page: start, stop, state
``timelapse``             a run's snapshots as a labelled video
``figures``               the monitor's plotly charts (losses, verdicts, SWD) from a run's logged rows
``cli``/``__main__``      ``python -m core.dcgan train|sample|export|timelapse``
========================  ===========================================================================

Command line::

    python -m core.dcgan train --data DIR --arch study --size 64 --steps 2000 --out RUN_DIR \
        [--resume | --overwrite]
    python -m core.dcgan sample --checkpoint RUN_DIR/checkpoint.pt --n 16 --out grid.png
    python -m core.dcgan export --checkpoint RUN_DIR/checkpoint.pt --out generator.pt
    python -m core.dcgan timelapse --run RUN_DIR --out timelapse.mp4

Names are imported from their modules on first use (module ``__getattr__``), so ``import core.dcgan``
and light helpers such as ``snapshot_paths`` do not load torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.cli import run_cli

# public name -> the module of this package that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("AUGMENTS", "augment_policy", "diff_augment"), "augment"),
    **dict.fromkeys(("JOB_KIND", "run_state", "start_training", "stop_training", "training_data"),
                    "background"),
    **dict.fromkeys(("EARLY_SNAPSHOTS", "MODEL_BOUNDS", "PRESETS", "STUDY_SIZES", "TRAIN_BOUNDS",
                     "TUTORIAL_SIZES", "ConfigError", "ModelConfig", "TrainConfig", "model_config_from_dict",
                     "preset_config", "resolve_device", "bf16_is_fast"), "config"),
    **dict.fromkeys(("DatasetError", "EpochSampler", "ImageSet", "fit_batch_size", "load_dataset",
                     "load_npz_images"), "data"),
    **dict.fromkeys(("CHECKPOINT_VERSION", "export_generator", "load_generator", "read_checkpoint"),
                    "loading"),
    **dict.fromkeys(("StudyDiscriminator", "StudyGenerator", "TutorialDiscriminator", "TutorialGenerator",
                     "build_generator", "build_models"), "models"),
    **dict.fromkeys(("SWDEvaluator", "laplacian_pyramid", "sliced_wasserstein"), "quality"),
    **dict.fromkeys(("capture_rng_state", "restore_rng_state"), "rng"),
    **dict.fromkeys(("CHECKPOINT_NAME", "CONFIG_NAME", "CONTROL_NAME", "LATEST_GRID_NAME", "LOCK_NAME",
                     "METRICS_NAME", "SNAPSHOT_DIR", "STATUS_NAME", "RunBusyError", "RunExistsError",
                     "RunLock", "latest_snapshot", "read_json", "read_metrics", "remove_partial_writes",
                     "run_is_busy", "set_control", "snapshot_paths", "snapshot_step", "write_json_atomic"),
                    "run_dir"),
    **dict.fromkeys(("generate", "latent_noise", "latent_walk", "sample"), "sampling"),
    **dict.fromkeys(("TimelapseInfo", "read_timelapse_info", "timelapse_frames", "write_timelapse"),
                    "timelapse"),
    **dict.fromkeys(("losses_figure", "swd_figure", "training_curves", "verdicts_figure"), "figures"),
    "Trainer": "trainer",
}
_SUBMODULES = ("augment", "background", "cli", "config", "data", "figures", "loading", "models",
               "quality", "rng", "run_dir", "sampling", "timelapse", "trainer")


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command exactly as ``python -m core.dcgan`` does and return its exit code (errors: one line)."""
    from core.dcgan import cli

    return run_cli(cli.main, argv, prog=cli.PROG)


__all__ = sorted([*_EXPORTS, "main"])

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from core.dcgan.augment import AUGMENTS, augment_policy, diff_augment  # noqa: F401
    from core.dcgan.background import (  # noqa: F401
        JOB_KIND,
        run_state,
        start_training,
        stop_training,
        training_data,
    )
    from core.dcgan.config import (  # noqa: F401
        EARLY_SNAPSHOTS,
        MODEL_BOUNDS,
        PRESETS,
        STUDY_SIZES,
        TRAIN_BOUNDS,
        TUTORIAL_SIZES,
        ConfigError,
        ModelConfig,
        TrainConfig,
        bf16_is_fast,
        model_config_from_dict,
        preset_config,
        resolve_device,
    )
    from core.dcgan.data import (  # noqa: F401
        DatasetError,
        EpochSampler,
        ImageSet,
        fit_batch_size,
        load_dataset,
        load_npz_images,
    )
    from core.dcgan.figures import losses_figure, swd_figure, training_curves, verdicts_figure  # noqa: F401
    from core.dcgan.loading import (  # noqa: F401
        CHECKPOINT_VERSION,
        export_generator,
        load_generator,
        read_checkpoint,
    )
    from core.dcgan.models import (  # noqa: F401
        StudyDiscriminator,
        StudyGenerator,
        TutorialDiscriminator,
        TutorialGenerator,
        build_generator,
        build_models,
    )
    from core.dcgan.quality import SWDEvaluator, laplacian_pyramid, sliced_wasserstein  # noqa: F401
    from core.dcgan.rng import capture_rng_state, restore_rng_state  # noqa: F401
    from core.dcgan.run_dir import (  # noqa: F401
        CHECKPOINT_NAME,
        CONFIG_NAME,
        CONTROL_NAME,
        LATEST_GRID_NAME,
        LOCK_NAME,
        METRICS_NAME,
        SNAPSHOT_DIR,
        STATUS_NAME,
        RunBusyError,
        RunExistsError,
        RunLock,
        latest_snapshot,
        read_json,
        read_metrics,
        remove_partial_writes,
        run_is_busy,
        set_control,
        snapshot_paths,
        snapshot_step,
        write_json_atomic,
    )
    from core.dcgan.sampling import generate, latent_noise, latent_walk, sample  # noqa: F401
    from core.dcgan.timelapse import (  # noqa: F401
        TimelapseInfo,
        read_timelapse_info,
        timelapse_frames,
        write_timelapse,
    )
    from core.dcgan.trainer import Trainer  # noqa: F401
