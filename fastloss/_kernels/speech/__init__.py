"""Kernels of fastloss.speech (importing any module here imports Numba)."""
