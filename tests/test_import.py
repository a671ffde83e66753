"""Importing fastloss compiles nothing and imports neither Numba nor PyTorch."""
import subprocess
import sys


def test_import_is_light():
    code = (
        "import sys, fastloss; "
        "assert 'numba' not in sys.modules, 'numba imported'; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert 'sklearn' not in sys.modules, 'sklearn imported'; "
        "print(len(fastloss.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 0


def test_all_names_exist():
    import fastloss

    for name in fastloss.__all__:
        assert hasattr(fastloss, name), name
