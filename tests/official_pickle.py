"""Test support: write a generator as an official StyleGAN2-ADA network pickle.

The layout is the one of NVIDIA's files and of ../shared/reference/stylegan2_ada/tiny32-network.pkl: a
pickled dict with ``G``, ``D``, ``G_ema``, ``augment_pipe`` and ``training_set_kwargs``; each network a
persistent object reduced to ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with
``meta = dict(type='class', version=6, module_src=..., class_name=..., state=<the module's __dict__>)``,
``_init_kwargs`` a ``dnnlib.util.EasyDict``, tensors as ``torch.nn.Parameter`` through torch's own
reducers (``torch._utils._rebuild_parameter``, ``_rebuild_tensor_v2``, ``torch.storage._load_from_bytes``).
While dumping, stand-in ``torch_utils`` / ``dnnlib`` modules let pickle name those globals; nothing of them
stays behind, and the project's restricted unpickler must read the file as it reads NVIDIA's.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import torch

MODULE_SRC = "# placeholder: real files hold the training code here; a safe loader never runs it\n"


@contextlib.contextmanager
def _official_globals() -> Iterator[tuple[types.FunctionType, type]]:
    persistence = types.ModuleType("torch_utils.persistence")
    util = types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # never called: only its name goes into the pickle
        raise AssertionError

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    util.EasyDict = EasyDict
    names = {"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": persistence,
             "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util}
    saved = {k: sys.modules.get(k) for k in names}
    sys.modules.update(names)
    try:
        yield _reconstruct_persistent_obj, EasyDict
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class _Persistent:
    def __init__(self, module: torch.nn.Module, class_name: str, init_kwargs, reconstruct,
                 module_src: str = MODULE_SRC):
        self.reconstruct = reconstruct
        self.meta = {"type": "class", "version": 6, "module_src": module_src, "class_name": class_name,
                     "state": {"training": False,
                               "_parameters": {n: torch.nn.Parameter(p.detach().cpu(), requires_grad=False)
                                               for n, p in module._parameters.items()},
                               "_buffers": {n: b.detach().cpu() for n, b in module._buffers.items()},
                               "_non_persistent_buffers_set": set(),
                               "_modules": {n: _Persistent(m, f"training.networks.{type(m).__name__}", None,
                                                           reconstruct, module_src)
                                            for n, m in module._modules.items()},
                               "_init_args": (), "_init_kwargs": init_kwargs}}

    def __reduce__(self):
        return (self.reconstruct, (self.meta,))


def network_pickle_bytes(G: torch.nn.Module, init_kwargs: dict | None = None,
                         module_src: str = MODULE_SRC) -> bytes:
    """``G`` (a core.stylegan2 Generator) as the bytes of an official network pickle. A hostile file's
    parts may be put in: ``init_kwargs`` instead of G's own, ``module_src`` code a safe loader never runs."""
    with _official_globals() as (reconstruct, EasyDict):
        def easy(d):
            return EasyDict({k: easy(v) if isinstance(v, dict) else v for k, v in d.items()})

        kwargs = easy(copy.deepcopy(G.init_kwargs if init_kwargs is None else init_kwargs))
        ema = _Persistent(G, "training.networks.Generator", kwargs, reconstruct, module_src)
        obj = {"G": ema, "D": None, "G_ema": ema, "augment_pipe": None,
               "training_set_kwargs": EasyDict(resolution=G.img_resolution, use_labels=False)}
        return pickle.dumps(obj, protocol=4)


def write_network_pickle(G: torch.nn.Module, path: str | os.PathLike) -> Path:
    """Write ``G`` (a core.stylegan2 Generator) as an official network pickle at ``path`` (atomic)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(network_pickle_bytes(G))
    os.replace(tmp, path)
    return path
