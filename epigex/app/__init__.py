"""The product surface: the ``epigex`` command line, the HTTP service and the service layer both use."""
