"""Training of the project's own StyleGAN2 (Karras et al. 2020) with ADA-style augmentation
(Karras et al., NeurIPS 2020), data-parallel under ``torchrun``.

``config`` (TrainConfig), ``dataset`` (images via core.image.decode), ``augment`` (AugmentPipe), ``loss``,
``distributed`` (gloo helpers), ``trainer`` (Trainer: one step, state, snapshots), ``loop`` (train(): the
run folder), ``export`` (the EMA generator in the format load_generator opens). The teacher-stream recipe
(fresh samples of a teacher generator, warm-start regression then GAN): ``core.teacher`` (load_teacher,
TeacherStream, multiscale_l1; shared with the DCGAN), ``distill`` (Distiller: one step, state),
``distill_run`` (train_distill(): the run folder; convert_checkpoint, write_resume_file). The command line is
``python -m core.stylegan2.training`` (:mod:`core.stylegan2.training`).
"""

from core.stylegan2.training.augment import AugmentPipe
from core.stylegan2.training.config import DistillConfig, TrainConfig
from core.stylegan2.training.dataset import DatasetError, load_training_images
from core.stylegan2.training.distill import Distiller
from core.stylegan2.training.distill_run import convert_checkpoint, train_distill, write_resume_file
from core.stylegan2.training.export import export_generator, export_run
from core.stylegan2.training.loop import SNAPSHOT_SEEDS, TrainCallback, train
from core.stylegan2.training.trainer import StepStats, Trainer
from core.teacher import TeacherStream, load_teacher, multiscale_l1

__all__ = ["SNAPSHOT_SEEDS", "AugmentPipe", "DatasetError", "DistillConfig", "Distiller", "StepStats",
           "TeacherStream", "TrainCallback", "TrainConfig", "Trainer", "convert_checkpoint",
           "export_generator", "export_run", "load_teacher", "load_training_images", "multiscale_l1", "train",
           "train_distill", "write_resume_file"]
