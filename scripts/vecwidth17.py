"""Issue 17: 256- vs 512-bit vectors for the exp/log-bound kernels on this host.

python scripts/vecwidth17.py [repeats]
Runs scripts/speed17.py (CE rows, CTC) in two fresh processes with
FASTLOSS_VECTOR_WIDTH=256 and =512, each with its own NUMBA_CACHE_DIR (the
two builds are separate cache entries anyway, see fastloss/_core/cpu.py).
On a host without avx512f the 512 run reports it was ignored.  If 512 wins on
an AVX-512 CPU, add its LLVM CPU name to fastloss._core.cpu.PREFER_512.
"""
import os as _os
import sys as _sys

# run this checkout, not the editable install (sys.path[0] is scripts/)
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import os
import subprocess
import sys
import tempfile

reps = sys.argv[1] if len(sys.argv) > 1 else "5"
here = os.path.dirname(os.path.abspath(__file__))
for w in ("256", "512"):
    env = dict(os.environ, FASTLOSS_VECTOR_WIDTH=w, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix=f"nc{w}_"))
    info = subprocess.run([sys.executable, "-c", "import fastloss._core.jit; from fastloss._core import cpu; "
                           "print(cpu.vector_width_info())"], env=env, capture_output=True, text=True)
    print(f"== FASTLOSS_VECTOR_WIDTH={w}: {info.stdout.strip()}", flush=True)
    subprocess.run([sys.executable, os.path.join(here, "speed17.py"), "all", reps], env=env)
