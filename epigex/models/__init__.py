"""Models: the stacked two-stage LightGBM ensemble, trained from the store (OpenMP waits passively: see epigex)."""
