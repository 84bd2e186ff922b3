"""Training of the project's own StyleGAN2 (Karras et al. 2020) with ADA-style augmentation
(Karras et al., NeurIPS 2020), data-parallel under ``torchrun``.

``config`` (TrainConfig), ``dataset`` (images via core.images), ``augment`` (AugmentPipe), ``loss``,
``distributed`` (gloo helpers), ``trainer`` (Trainer: one step, state, snapshots), ``loop`` (train(): the
run folder), ``export`` (the EMA generator in the format load_generator opens). The command line is
``python -m core.stylegan2.train`` (:mod:`core.stylegan2.train`).
"""

from core.stylegan2.training.augment import AugmentPipe
from core.stylegan2.training.config import TrainConfig
from core.stylegan2.training.dataset import DatasetError, load_training_images
from core.stylegan2.training.export import export_generator, export_run
from core.stylegan2.training.loop import SNAPSHOT_SEEDS, TrainCallback, train
from core.stylegan2.training.trainer import StepStats, Trainer

__all__ = ["SNAPSHOT_SEEDS", "AugmentPipe", "DatasetError", "StepStats", "TrainCallback", "TrainConfig",
           "Trainer",
           "export_generator", "export_run", "load_training_images", "train"]
