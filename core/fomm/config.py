"""FOMM configuration: typed dataclasses for the ``model_params`` of an official config, read with PyYAML.

An official config (e.g. ``config/vox-256.yaml``) is read with ``yaml.safe_load`` (JSON is read as
JSON first, since YAML 1.1 takes ``1e-4`` for a string). Only ``model_params`` and the frame shape
are used; the training sections are ignored. Every field is type-checked and bounded before any
network is built, so a hostile or mistyped config gives one clear error instead of a multi-terabyte
allocation or a division by zero.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from core import checks
from core.checks import Bound
from core.safe_json import json_depth


class FommConfigError(ValueError):
    """A FOMM config that is unreadable, mistyped or out of bounds. The message is for users."""


@dataclass
class KPDetectorParams:
    temperature: float = 0.1            # softmax temperature of the keypoint heatmaps
    block_expansion: int = 32           # width of the hourglass's first level
    max_features: int = 1024            # cap on every hourglass width
    scale_factor: float = 0.25          # the image is downsampled by this before the hourglass
    num_blocks: int = 5                 # hourglass depth (down and up blocks)
    single_jacobian_map: bool = False   # one jacobian map shared by all keypoints
    pad: int = 0                        # padding of the 7x7 keypoint and jacobian heads


@dataclass
class DenseMotionParams:
    block_expansion: int = 64           # width of the hourglass's first level
    max_features: int = 1024            # cap on every hourglass width
    num_blocks: int = 5                 # hourglass depth
    scale_factor: float = 0.25          # the source is downsampled by this before motion estimation


@dataclass
class GeneratorParams:
    block_expansion: int = 64           # width after the first 7x7 convolution
    max_features: int = 512             # cap on the encoder/decoder widths
    num_down_blocks: int = 2            # encoder downsamplings (and decoder upsamplings)
    num_bottleneck_blocks: int = 6      # residual blocks at the lowest resolution
    estimate_occlusion_map: bool = True  # predict an occlusion map with the dense motion
    dense_motion_params: DenseMotionParams | None = field(default_factory=DenseMotionParams)


@dataclass
class FommConfig:
    """The ``model_params`` section of an official FOMM config; the defaults are ``vox-256``."""

    num_kp: int = 10                 # keypoints per image
    num_channels: int = 3            # image channels
    estimate_jacobian: bool = True   # predict a 2x2 jacobian per keypoint (first-order motion)
    kp_detector_params: KPDetectorParams = field(default_factory=KPDetectorParams)
    generator_params: GeneratorParams = field(default_factory=GeneratorParams)
    frame_size: int = 256            # the resolution the checkpoint was trained at (dataset frame_shape)

    @classmethod
    def from_model_params(cls, model_params: dict, frame_size: int = 256) -> FommConfig:
        """From an official ``model_params`` mapping; raises :class:`FommConfigError` when invalid."""
        if not isinstance(model_params, dict):
            raise FommConfigError(f"model_params must be a mapping, got {type(model_params).__name__}")
        for section in ("kp_detector_params", "generator_params"):
            if not isinstance(model_params.get(section), dict):
                raise FommConfigError(f"FOMM config needs model_params with kp_detector_params and "
                                      f"generator_params (missing or not a mapping: {section})")
        common = model_params.get("common_params") or {}
        if not isinstance(common, dict):
            raise FommConfigError("model_params.common_params must be a mapping")
        unknown = sorted(set(common) - {"num_kp", "num_channels", "estimate_jacobian"})
        if unknown:
            raise FommConfigError(f"unknown field common_params.{unknown[0]} in the FOMM config")
        gen = dict(model_params["generator_params"])
        dense = gen.pop("dense_motion_params", None)
        cfg = cls(num_kp=_typed(common.get("num_kp", 10), int, "num_kp"),
                  num_channels=_typed(common.get("num_channels", 3), int, "num_channels"),
                  estimate_jacobian=_typed(common.get("estimate_jacobian", False), bool, "estimate_jacobian"),
                  kp_detector_params=_section(KPDetectorParams, model_params["kp_detector_params"],
                                              "kp_detector_params"),
                  generator_params=_section(GeneratorParams, gen, "generator_params"),
                  frame_size=_typed(frame_size, int, "frame_shape"))
        if dense is not None:
            if not isinstance(dense, dict):
                raise FommConfigError("generator_params.dense_motion_params must be a mapping")
            cfg.generator_params.dense_motion_params = _section(
                DenseMotionParams, dense, "generator_params.dense_motion_params")
        else:
            cfg.generator_params.dense_motion_params = None
        cfg.validate()
        return cfg

    def common_params(self) -> dict:
        return dict(num_kp=self.num_kp, num_channels=self.num_channels,
                    estimate_jacobian=self.estimate_jacobian)

    def kp_detector_kwargs(self) -> dict:
        return {**asdict(self.kp_detector_params), **self.common_params()}

    def generator_kwargs(self) -> dict:
        return {**asdict(self.generator_params), **self.common_params()}

    def validate(self) -> FommConfig:
        """Check every field against sane bounds; raises :class:`FommConfigError` naming the first bad one."""
        kp, g = self.kp_detector_params, self.generator_params
        rows = [("num_kp", self.num_kp, COMMON_BOUNDS["num_kp"]),
                ("num_channels", self.num_channels, COMMON_BOUNDS["num_channels"]),
                ("frame_shape", self.frame_size, COMMON_BOUNDS["frame_shape"])]
        rows += _rows("kp_detector_params", kp, KP_DETECTOR_BOUNDS)
        rows += _rows("generator_params", g, GENERATOR_BOUNDS)
        if g.dense_motion_params is not None:
            rows += _rows("generator_params.dense_motion_params", g.dense_motion_params, HOURGLASS_BOUNDS)
        for name, value, bound in rows:
            if checks.finite_number(value) is None or not bound.admits(value):
                raise FommConfigError(f"FOMM config field {name}={checks.shown(value)} is out of bounds "
                                      f"(allowed {bound.lo:g} to {bound.hi:g})")
        return self


# The bounds tables, by section. scale_factor >= 1/32: the anti-aliasing kernel grows as 1/scale_factor.
COMMON_BOUNDS = {"num_kp": Bound(1, 256), "num_channels": Bound(1, 4), "frame_shape": Bound(16, 4096)}
HOURGLASS_BOUNDS = {"block_expansion": Bound(1, 1024), "max_features": Bound(1, 2048),
                    "num_blocks": Bound(1, 8), "scale_factor": Bound(1 / 32, 1)}
KP_DETECTOR_BOUNDS = {**HOURGLASS_BOUNDS, "temperature": Bound(1e-4, 100), "pad": Bound(0, 3)}
GENERATOR_BOUNDS = {"block_expansion": Bound(1, 1024), "max_features": Bound(1, 2048),
                    "num_down_blocks": Bound(0, 6), "num_bottleneck_blocks": Bound(0, 64)}


def _rows(prefix: str, params: Any, table: dict[str, Bound]) -> list[tuple[str, Any, Bound]]:
    return [(f"{prefix}.{name}", getattr(params, name), bound) for name, bound in table.items()]


def _typed(value: Any, kind: type, name: str) -> Any:
    """``value`` as ``kind`` (int, float or bool) without silent conversions of other types."""
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        number = checks.whole_number(value, whole_floats=True, plain=True)
        if number is not None:
            return number
    elif kind is float:
        if checks.real_number(value, plain=True):
            try:
                return float(value)
            except OverflowError:  # an int beyond any float: out of bounds in validate(), not a crash here
                return math.inf
    raise FommConfigError(f"FOMM config field {name} must be {kind.__name__}, got {checks.shown(value)}")


def _section(cls: type, mapping: dict, where: str) -> Any:
    known = {f.name: f for f in fields(cls) if f.name != "dense_motion_params"}
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise FommConfigError(f"unknown field {where}.{unknown[0]} in the FOMM config "
                              f"(known: {', '.join(known)})")
    types = {"int": int, "float": float, "bool": bool}
    return cls(**{k: _typed(v, types[str(known[k].type)], f"{where}.{k}") for k, v in mapping.items()})


def parse_yaml(text: str) -> dict:
    """A YAML document (``yaml.safe_load``: plain data only, never Python objects) as a dict."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" on line {mark.line + 1}" if mark is not None else ""
        raise FommConfigError(f"the FOMM config is not valid YAML{where}: "
                              f"{getattr(e, 'problem', None) or type(e).__name__}") from None
    except RecursionError:  # block nesting by indentation, which the bracket count does not see
        raise FommConfigError("the FOMM config is nested too deeply") from None
    except ValueError:  # an integer of more than 4300 digits (int() refuses to convert it)
        raise FommConfigError("the FOMM config holds a number that is too long") from None
    if not isinstance(doc, dict):
        raise FommConfigError(f"FOMM config must be a mapping, got {type(doc).__name__}")
    return doc


MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_DEPTH = 32


def load_config(config: str | os.PathLike | dict | FommConfig | None) -> FommConfig:
    """An official YAML/JSON config path, a dict holding ``model_params``, or a :class:`FommConfig`."""
    if config is None:
        return FommConfig()
    if isinstance(config, FommConfig):
        return config.validate()
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"FOMM config not found: {path}")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise FommConfigError(f"FOMM config {path.name} is larger than {MAX_CONFIG_BYTES // 1024} KB")
        data = path.read_bytes()
        # JSON and YAML parsers recurse per nesting level: 100,000 brackets would be a RecursionError.
        if json_depth(data, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH:
            raise FommConfigError(f"FOMM config {path.name} is nested more than {MAX_CONFIG_DEPTH} levels "
                                  "deep")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise FommConfigError(f"FOMM config {path.name} is not a UTF-8 text file") from None
        try:
            config = json.loads(text)
        except json.JSONDecodeError:
            config = parse_yaml(text)
        except ValueError:  # an integer of more than 4300 digits
            raise FommConfigError(f"FOMM config {path.name} holds a number that is too long") from None
    if not isinstance(config, dict):
        raise FommConfigError(f"FOMM config must be a mapping, got {type(config).__name__}")
    params = config.get("model_params", config)
    if not isinstance(params, dict) or "kp_detector_params" not in params or "generator_params" not in params:
        raise FommConfigError("FOMM config needs model_params with kp_detector_params and generator_params")
    dataset = config.get("dataset_params") if isinstance(config.get("dataset_params"), dict) else {}
    shape = config.get("frame_shape") or dataset.get("frame_shape") or [256]
    if not isinstance(shape, (list, tuple)) or not shape:
        raise FommConfigError(f"FOMM config frame_shape must be a list like [256, 256, 3], got {shape!r}")
    return FommConfig.from_model_params(params, frame_size=_typed(shape[0], int, "frame_shape"))
