"""Grids of trainings: one task function, run in local processes or on a Dask cluster."""
