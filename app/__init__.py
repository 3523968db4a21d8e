"""The product surface: the ``epigex`` command line and the HTTP service."""
