"""The product surface: the ``epigex`` command line and the HTTP service.

Importing it sets passive OpenMP waiting (see :mod:`models`) before anything else can load an OpenMP runtime.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
