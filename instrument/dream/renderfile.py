"""One file in, one file out: what ``dreamsound render IN OUT`` does between its checks and its report.

Read ``IN`` (any rate and channels), ``render`` it (``instrument.dream.render``), write ``OUT``
atomically in the input's sample format when the file type is the same. ``dreamsound render`` and
``dreamsound batch`` both call this, so a batch output is the file ``render`` writes for the same
input, parameters and seed, and its summary is ``render --json``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from instrument.audiofile import read_audio, write_audio_atomic
from instrument.dream.dreamer import Dreamer
from instrument.dream.params import DreamParams
from instrument.dream.render import Layout, RenderResult, render


def render_file(
    dreamer: Dreamer,
    source: str | Path,
    output: str | Path,
    params: DreamParams,
    *,
    seed: int = 0,
    layout: Layout | None = None,
    progress: Callable[[int], None] | None = None,
    audio: tuple | None = None,
) -> RenderResult:
    """Dream the file ``source`` into ``output``; ``audio`` = ``(frames x channels, rate)`` already read."""
    data, rate = audio if audio is not None else read_audio(source)
    result = render(dreamer, data, rate, params, seed=seed, layout=layout or Layout(), progress=progress)
    write_audio_atomic(output, result.audio, rate, subtype=same_subtype(source, output))
    return result


def same_subtype(source: str | Path, output: str | Path) -> str | None:
    """The input's sample format when the output has the input's file type (a float file stays float)."""
    import soundfile as sf

    info = sf.info(str(source))
    if Path(source).suffix.lower() != Path(output).suffix.lower():
        return None
    return info.subtype if sf.check_format(info.format, info.subtype) else None
