"""Models: the stacked two-stage LightGBM ensemble, trained from the store.

LightGBM's OpenMP threads spin while they wait for work by default; on a machine where other processes run, the
spinning threads take the CPU the working ones need (a quick training went from 14 s to 126 s beside two busy
processes on two cores). Passive waiting is set here, before any module of this package imports LightGBM and its
OpenMP runtime reads the setting; a value the user set is kept.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
