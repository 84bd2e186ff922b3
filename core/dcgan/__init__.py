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
``data``                  training images (through core.images), the .npz export, the epoch sampler
``quality``               sliced Wasserstein distance (SWD)
``rng``                   RNG state as plain tensors for exact resume
``sampling``              seeded sampling and latent walks (uint8 N x H x W x 3)
``loading``               opening checkpoints safely (kind, config bounds, weight shapes), export
``run_dir``               the run folder: lock, control, status, metrics, snapshots
``trainer``               the training loop (DDP under torchrun)
``background``            training as a background job for the page (through core.jobs)
``commands``/``__main__``  ``python -m core.dcgan train|sample|export``
========================  ===========================================================================

Command line::

    python -m core.dcgan train --data DIR --arch study --size 64 --steps 2000 --out RUN_DIR \
        [--resume | --overwrite]
    python -m core.dcgan sample --checkpoint RUN_DIR/checkpoint.pt --n 16 --out grid.png
    python -m core.dcgan export --checkpoint RUN_DIR/checkpoint.pt --out generator.pt
"""

from __future__ import annotations

from collections.abc import Sequence

from core.cli import run_cli
from core.dcgan import commands
from core.dcgan.augment import AUGMENTS, augment_policy, diff_augment
from core.dcgan.background import run_state, start_training
from core.dcgan.config import (
    MODEL_BOUNDS,
    PRESETS,
    STUDY_SIZES,
    TRAIN_BOUNDS,
    TUTORIAL_SIZES,
    ConfigError,
    ModelConfig,
    TrainConfig,
    model_config_from_dict,
    preset_config,
    resolve_device,
)
from core.dcgan.data import (
    DatasetError,
    EpochSampler,
    ImageSet,
    fit_batch_size,
    load_dataset,
    load_npz_images,
)
from core.dcgan.loading import CHECKPOINT_VERSION, export_generator, load_generator, read_checkpoint
from core.dcgan.models import (
    StudyDiscriminator,
    StudyGenerator,
    TutorialDiscriminator,
    TutorialGenerator,
    build_generator,
    build_models,
)
from core.dcgan.quality import SWDEvaluator, laplacian_pyramid, sliced_wasserstein
from core.dcgan.rng import capture_rng_state, restore_rng_state
from core.dcgan.run_dir import (
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
    read_json,
    read_metrics,
    remove_partial_writes,
    run_is_busy,
    set_control,
    snapshot_paths,
    write_json_atomic,
)
from core.dcgan.sampling import generate, latent_noise, latent_walk, sample
from core.dcgan.trainer import Trainer


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command exactly as ``python -m core.dcgan`` does and return its exit code (errors: one line)."""
    return run_cli(commands.main, argv, prog=commands.PROG)


__all__ = [
    "AUGMENTS", "CHECKPOINT_NAME", "CHECKPOINT_VERSION", "CONFIG_NAME", "CONTROL_NAME", "ConfigError",
    "DatasetError", "EpochSampler", "ImageSet", "LATEST_GRID_NAME", "LOCK_NAME", "METRICS_NAME",
    "MODEL_BOUNDS", "ModelConfig", "PRESETS", "RunBusyError", "RunExistsError", "RunLock",
    "SNAPSHOT_DIR", "STATUS_NAME", "STUDY_SIZES", "SWDEvaluator", "StudyDiscriminator", "StudyGenerator",
    "TRAIN_BOUNDS", "TUTORIAL_SIZES", "TrainConfig", "Trainer", "TutorialDiscriminator",
    "TutorialGenerator", "augment_policy", "build_generator", "build_models", "capture_rng_state",
    "diff_augment", "export_generator", "fit_batch_size", "generate", "laplacian_pyramid",
    "latent_noise", "latent_walk", "load_dataset", "load_generator", "load_npz_images", "main",
    "model_config_from_dict", "preset_config", "read_checkpoint", "read_json", "read_metrics",
    "remove_partial_writes", "resolve_device", "restore_rng_state", "run_is_busy", "run_state", "sample",
    "set_control", "sliced_wasserstein", "snapshot_paths", "start_training", "write_json_atomic",
]
