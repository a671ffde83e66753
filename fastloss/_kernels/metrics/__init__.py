"""Kernels of fastloss.metrics (importing any module here imports Numba)."""
