"""The ``epigex`` command line."""
