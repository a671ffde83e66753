"""Kernels of fastloss.losses (importing any module here imports Numba)."""
