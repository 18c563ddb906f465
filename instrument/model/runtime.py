"""How TensorFlow runs here: threads, log level, oneDNN, and the device (GPU when one is seen)."""

from __future__ import annotations

import contextlib
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import os
import platform
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType

from instrument.errors import DreamSoundError

DEVICES = ("auto", "cpu", "gpu")


def prepare_tensorflow_environment() -> None:
    """Settings TensorFlow reads once, at import: quiet logs and oneDNN on every x86 CPU.

    TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI,
    BF16 or AMX; everywhere else (AVX2 CPUs: most laptops, many servers) it runs Eigen's
    kernels, and on YAMNet's dream iteration those are the slow path (oneDNN's AVX2 JIT
    kernels did the `scores` forward+backward in 8.4 ms against Eigen's 19 ms on the same
    core; see README "Speed"). A value the user set wins (``TF_ENABLE_ONEDNN_OPTS=0``
    brings the Eigen path back). Call before TensorFlow is imported; later it has no effect.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if platform.machine().lower() in ("x86_64", "amd64", "i686", "x86"):
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


@contextlib.contextmanager
def _unimportable(name: str) -> Iterator[None]:
    """``import name`` raises ImportError inside the block (it imports as usual afterwards)."""
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None  # type: ignore[assignment]  # Python's own way to make an import fail
    try:
        yield
    finally:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside the block (as it was, after).

    An import as large as TensorFlow's creates hundreds of thousands of objects and almost no garbage: the
    collector ran ~600 times during it and found nothing, 0.34-0.48 s of a 2.0-2.8 s import on the 2-core
    development host (docs/latency.md, "Start-up")."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def settle_heap(collect: bool = False) -> None:
    """Move every object alive now out of the cyclic garbage collector's reach (``gc.freeze``).

    A full collection scans every tracked object. After TensorFlow's import and a few traced functions that is
    0.15-0.19 s with the GIL held, which stalls the dream loop, or any thread, for several of its iterations
    (the first dream's fade-in used to hold for 0.15-0.2 s: docs/latency.md). Frozen objects are still freed
    when their last reference goes; only a reference cycle among them is never collected, so ``collect``
    first where there may be some: after a compile that is 0.3-6 ms (the objects since the last freeze, 2 000-23 000;
    it found none), after the import it would be a full 0.15 s pass. Call it after building what lives for the
    whole process: the import, the model, compiled functions."""
    if collect:
        gc.collect()
    gc.freeze()


# The parts of TensorFlow's public API the instrument touches while it starts and dreams (`tf.config`, `tf.signal`,
# `tf.math`, `tf.linalg`, `tf.raw_ops`; the top-level names such as `tf.function` come from TensorFlow's core,
# which loads anyway). Every other subpackage of `tensorflow._api.v2` and of its `__internal__` is loaded on first
# use instead of at import: `compat.v1`, `data`, `feature_column`, `nn` (which pulls in the legacy Keras and SciPy)
# and the rest are 0.4-0.5 s of a 1.8-2 s import and ~740 of 2 420 modules that nothing here uses
# (docs/latency.md, "Start-up"). The network calls its operations through `tf.raw_ops` for that reason.
_API = "tensorflow._api.v2"
# (`bitwise`: TensorFlow's own `__init__` reads its `__file__`, which would load it anyway.)
_API_LOADED_AT_IMPORT = frozenset(
    {"config", "signal", "math", "linalg", "raw_ops", "dtypes", "__operators__", "__internal__", "bitwise"}
)


def _deferred(name: str) -> bool:
    """Whether TensorFlow's API module ``name`` is loaded on first use rather than at import.

    Not where TensorFlow also has a real package of that name (``tensorflow/lite``, ``tensorflow/distribute``).
    The first import of a package binds it on its parent: imported after a deferred ``tf.lite`` (``ai_edge_litert``
    and users import ``tensorflow.lite.python...``), the real package would take its place, without the API's
    names. TensorFlow's eager import binds the API module last, over it."""
    parent, _, child = name.rpartition(".")
    if parent == _API:
        return child not in _API_LOADED_AT_IMPORT and not _tensorflow_has_package(child)
    return parent == f"{_API}.__internal__"


def _tensorflow_has_package(name: str) -> bool:
    tensorflow = sys.modules.get("tensorflow")
    return any(os.path.isdir(os.path.join(folder, name)) for folder in getattr(tensorflow, "__path__", ()))


class _DeferredAPI(importlib.abc.MetaPathFinder):
    """Finds TensorFlow's unused API subpackages as usual but loads each on its first attribute access.

    ``importlib.util.LazyLoader`` puts the module in ``sys.modules`` at once and runs its code when something
    first reads from it, so ``tf.compat.v1``, ``tf.nn`` or Keras work exactly as before, a moment later. (Python
    3.11's LazyLoader does not guard against two threads reading one such module first at the same moment;
    nothing in the instrument reads them, tested in ``tests/test_model.py``. Whatever scans every module, such as
    ``inspect.stack()`` or a ``tf.function`` traced with AutoGraph on, loads them all: 0.3 s, nothing broken.)"""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not _deferred(name):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextlib.contextmanager
def _api_deferred() -> Iterator[None]:
    """Inside the block, TensorFlow's unused API subpackages are imported lazily (``_DeferredAPI``)."""
    finder = _DeferredAPI()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def import_tensorflow() -> ModuleType:
    """TensorFlow, imported without Keras.

    TensorFlow's import ends by loading Keras' optimizers "when it can" (for its SavedModel registry), and
    Keras pulls in ``matplotlib.pyplot`` for its plotting helpers. On the 2-core development host that was
    1.5 s of every command's start (2.56 s against 4.07 s) and 0.6-0.7 s of the live dream process's, which
    already kept matplotlib out. Nothing here uses Keras. Once TensorFlow is in, ``import keras`` and
    ``tf.keras`` work as usual. The API subpackages nothing here uses load on first use (``_DeferredAPI``). The
    garbage collector is paused for the import and what it built is frozen (``collector_paused``,
    ``settle_heap``). Call ``prepare_tensorflow_environment`` first."""
    if "tensorflow" not in sys.modules:
        # tf_keras too: with TF_USE_LEGACY_KERAS=1 in the user's environment, TensorFlow loads that one instead.
        with _unimportable("keras"), _unimportable("tf_keras"), _api_deferred(), collector_paused():
            import tensorflow  # noqa: F401
        _restore_keras_folders(sys.modules["tensorflow"])
        settle_heap()
    return sys.modules["tensorflow"]


def _restore_keras_folders(tensorflow: ModuleType) -> None:
    """Put back the Keras folders TensorFlow's import adds to ``tensorflow.__path__``.

    TensorFlow's ``__init__`` puts the folders of ``keras.api._v2.keras`` (``tf_keras``'s with
    ``TF_USE_LEGACY_KERAS=1``) and ``keras._tf_keras.keras`` in front of its own, so that ``from tensorflow.keras
    import layers`` finds Keras. With Keras unimportable during the import it put ``None`` there, which broke
    that import and ``help(tf)``. Found again with TensorFlow's own helper and choice, now that Keras can be
    found (the helper reads the package's spec and imports nothing)."""
    from tensorflow.python.tools import module_util

    legacy = getattr(tensorflow, "_tf_uses_legacy_keras", False)
    wanted = ("tf_keras.api._v2.keras" if legacy else "keras.api._v2.keras", "keras._tf_keras.keras")
    folders = [module_util.get_parent_dir_for_name(name) for name in wanted]
    tensorflow.__path__ = [f for f in folders if f] + [p for p in tensorflow.__path__ if p is not None]


def onednn_enabled() -> bool:
    """Whether this TensorFlow process runs oneDNN kernels (decided when TensorFlow was imported)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # another build layout: assume TensorFlow's own default
        return False
    return bool(_pywrap_util_port.IsMklEnabled())


def choose_device(wanted: str, gpus: Sequence[str]) -> str:
    """The TensorFlow device string for ``wanted`` given the visible GPU names.

    Pure function so the GPU branch is tested on machines without one.
    """
    if wanted not in DEVICES:
        raise DreamSoundError(f"engine.device {wanted!r} is not allowed; allowed: {', '.join(DEVICES)}")
    if wanted == "gpu" and not gpus:
        raise DreamSoundError(f"engine.device is 'gpu' but TensorFlow sees no GPU{_gpu_hint()}; use 'auto' or 'cpu'")
    if wanted in ("auto", "gpu") and gpus:
        return "/GPU:0"
    return "/CPU:0"


def _gpu_hint() -> str:
    """Where a GPU comes from on this operating system."""
    if sys.platform == "darwin":
        return ' (Apple Silicon: pip install -e ".[metal]" adds tensorflow-metal)'
    if sys.platform == "win32":
        return " (TensorFlow has no GPU build for Windows since 2.11: run under WSL2 for a GPU)"
    return ""


def configure_tensorflow(threads: int = 1, device: str = "auto") -> str:
    """Set TensorFlow's thread pools (before first use) and return the device to run on.

    One intra-op thread is the fastest setting for YAMNet's small ops on a CPU
    (about 4 ms per forward+backward on one window vs 6.7 ms with two threads,
    measured on the 2-core CI machine) and it leaves a core to the audio callback.
    """
    prepare_tensorflow_environment()
    tf = import_tensorflow()

    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise DreamSoundError(f"engine.threads {threads!r} must be a whole number >= 0 (0 = TensorFlow's default)")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # TensorFlow already started in this process; its pools stay as they are
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    return choose_device(device, gpus)
