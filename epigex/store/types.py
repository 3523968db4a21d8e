"""Type aliases every layer shares: NumPy arrays of the kinds the code passes around, and progress callbacks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
Mask = npt.NDArray[np.bool_]
Strs = npt.NDArray[np.str_]
ProgressFn = Callable[[str, float], None]
"""A progress report: ``(label of the task, fraction of it done in 0..1)``."""
FractionFn = Callable[[float], None]
"""A progress report of a single task: the fraction of it done."""
