"""``Audio``: a waveform (or a WAV file) stored as a 16-bit PCM WAV file under ``media/audio/``."""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_tracker.media._files import as_numpy, caption_text, write_media
from jupyter_tracker.values import MediaValue

_MAX_CHANNELS = 16


class Audio(MediaValue):
    """A sound to log: ``run.log({"sample": Audio(waveform, sample_rate=16_000)})``.

    ``data`` is a 1-D array (mono) or 2-D (samples, channels) of floats in [-1, 1] (louder
    values are clipped) or int16, or the path of a WAV file.

    >>> Audio(np.zeros(8000), sample_rate=8000).duration
    1.0
    """

    media_kind = "audio"

    def __init__(self, data: Any, sample_rate: int | None = None, caption: str | None = None) -> None:
        self.caption = caption_text(caption, "Audio")
        self._wav: bytes | None = None
        self._samples: np.ndarray | None = None
        data = as_numpy(data)
        if isinstance(data, (str, os.PathLike)):
            self._from_file(Path(data))
            return
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ValueError(f"Audio(sample_rate=...) must be a positive int (samples per second), got {sample_rate!r}")
        if not isinstance(data, np.ndarray):
            if isinstance(data, (list, tuple)):
                data = np.asarray(data)
            else:
                raise TypeError(f"Audio() takes a numpy array or a WAV file path, not {type(data).__name__}")
        self._samples = _pcm16(data)
        self.sample_rate = int(sample_rate)
        self.channels = 1 if self._samples.ndim == 1 else int(self._samples.shape[1])
        self.frames = int(self._samples.shape[0])

    def _from_file(self, path: Path) -> None:
        try:
            data = path.read_bytes()
            with wave.open(io.BytesIO(data)) as reader:
                self.sample_rate, self.channels, self.frames = reader.getframerate(), reader.getnchannels(), reader.getnframes()
        except OSError as error:
            raise FileNotFoundError(f"Audio({str(path)!r}): cannot read the file ({error.strerror})") from None
        except (wave.Error, EOFError) as error:
            raise ValueError(f"Audio({str(path)!r}): only WAV files are supported ({error})") from None
        self._wav = data

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    def wav_bytes(self) -> bytes:
        if self._wav is None:
            assert self._samples is not None
            buffer = io.BytesIO()
            with wave.open(buffer, "wb") as writer:
                writer.setnchannels(self.channels)
                writer.setsampwidth(2)
                writer.setframerate(self.sample_rate)
                writer.writeframes(self._samples.astype("<i2").tobytes())
            self._wav = buffer.getvalue()
            self._samples = None
        return self._wav

    def encode(self, run_dir: Any) -> dict[str, Any]:
        path, digest = write_media(run_dir, "audio", self.wav_bytes(), ".wav")
        return {"_type": "audio-file", "path": path, "sha256": digest, "sample_rate": self.sample_rate,
                "channels": self.channels, "duration": self.duration, "caption": self.caption}

    def _repr_html_(self) -> str:
        from jupyter_tracker.media.display import audio_html

        return audio_html(self.wav_bytes(), self.caption)

    def __repr__(self) -> str:
        return f"<Audio {self.duration:.2f} s, {self.channels} ch, {self.sample_rate} Hz>"


def _pcm16(data: np.ndarray) -> np.ndarray:
    if data.dtype.kind not in "iuf":
        raise TypeError(f"Audio: arrays of dtype {data.dtype} are not audio (use floats in [-1, 1] or int16)")
    if data.size == 0:
        raise ValueError("Audio: the array is empty")
    if data.ndim == 2 and data.shape[1] > _MAX_CHANNELS and data.shape[0] <= _MAX_CHANNELS:
        data = data.T  # (channels, samples), as torchaudio lays it out
    if data.ndim not in (1, 2) or (data.ndim == 2 and data.shape[1] > _MAX_CHANNELS):
        raise ValueError(f"Audio: expected (samples,) or (samples, channels) with at most {_MAX_CHANNELS} "
                         f"channels, got shape {data.shape}")
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.dtype == np.int16:
        return np.array(data, copy=True, order="C")
    if data.dtype.kind in "iu":
        raise TypeError(f"Audio: integer samples must be int16, got {data.dtype} (or pass floats in [-1, 1])")
    if not np.all(np.isfinite(data)):
        raise ValueError("Audio: samples must be finite (found NaN or inf)")
    return np.ascontiguousarray(np.rint(np.clip(data, -1.0, 1.0) * 32767.0), dtype=np.int16)
