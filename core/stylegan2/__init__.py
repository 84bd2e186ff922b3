"""StyleGAN2(-ADA): generator, safe loading of official and project weights, latent tools, SeFa, training.

Layout (in the manner of NVIDIA's stylegan3 repository):

=====================  ==========================================================================
``ops``                FIR filters (upfirdn2d), bias + activation, resampling and modulated convs
``layers``             equalised fully connected and conv layers (shared by G and D)
``networks``           mapping network, synthesis layers/blocks, :class:`Generator`
``discriminator``      the residual discriminator used by training
``config``             :class:`GeneratorConfig` and its validation against sane bounds
``legacy``             restricted unpickler for official network pickles (never runs their code)
``loading``            :func:`load_generator` (.pkl / .pt), :func:`save_generator_checkpoint`
``latents``            seed -> z (official rule), truncation, lerp/slerp paths, style mixing
``sampling``           latents -> uint8 images, frames, style-mixing grid, preview resolution
``fast``               the fast batch-1 inference renderer for large generators (CPU, fp32/bf16)
``sefa``               closed-form semantic directions (SeFa)
``training/``          config, dataset, augmentation, losses, trainer, run loop, export and ``cli``
``cli``                ``python -m core.stylegan2 …`` (training: ``python -m core.stylegan2.training …``)
=====================  ==========================================================================

This module re-exports the names the pages, tests and benchmarks use (``from core import stylegan2
as sg; sg.load_generator(...)``); the training code is imported only when asked for.
"""

from core.stylegan2.cli import main
from core.stylegan2.config import GeneratorConfig, validate_generator_kwargs
from core.stylegan2.latents import (
    STYLE_GROUPS,
    WsCache,
    farthest_seeds,
    keyframe_ws,
    lerp,
    mix_styles,
    parse_seeds,
    seeds_to_ws,
    slerp,
    style_layers,
    truncate,
    z_from_seed,
    zs_from_seeds,
)
from core.stylegan2.legacy import (
    PersistentObject,
    RestrictedUnpickler,
    UnsafePickleError,
    load_network_pickle,
    persistent_state_dict,
)
from core.stylegan2.loading import (
    CHECKPOINT_VERSION,
    build_generator,
    generator_from_checkpoint,
    generator_from_config,
    generator_from_network_pickle,
    load_generator,
    official_size_generator,
    random_generator,
    save_generator_checkpoint,
)
from core.stylegan2.networks import (
    Generator,
    MappingNetwork,
    SynthesisBlock,
    SynthesisLayer,
    SynthesisNetwork,
    ToRGBLayer,
)
from core.stylegan2.sampling import (
    generate_images,
    generator_device,
    morph_frames,
    preview_resolution,
    render_frames,
    render_path,
    render_precision,
    style_mixing_grid,
    synthesize,
    uses_half,
)
from core.stylegan2.sefa import (
    SemanticDirections,
    apply_directions,
    direction_strip,
    modulation_layers,
    sefa_directions,
)

__all__ = [
    "CHECKPOINT_VERSION", "STYLE_GROUPS", "Generator", "GeneratorConfig", "MappingNetwork",
    "PersistentObject", "RestrictedUnpickler", "SemanticDirections", "SynthesisBlock", "SynthesisLayer",
    "SynthesisNetwork", "ToRGBLayer", "UnsafePickleError", "WsCache", "apply_directions",
    "build_generator", "direction_strip", "farthest_seeds", "generate_images", "generator_from_checkpoint",
    "generator_from_config", "generator_from_network_pickle", "keyframe_ws", "lerp", "load_generator",
    "load_network_pickle", "main", "mix_styles", "modulation_layers", "morph_frames",
    "official_size_generator", "parse_seeds", "persistent_state_dict", "preview_resolution",
    "random_generator", "render_frames", "render_path", "render_precision", "generator_device", "uses_half",
    "save_generator_checkpoint", "seeds_to_ws", "sefa_directions", "slerp", "style_layers",
    "style_mixing_grid", "synthesize", "truncate", "validate_generator_kwargs", "z_from_seed",
    "zs_from_seeds",
]
