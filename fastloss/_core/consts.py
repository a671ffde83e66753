"""Constants shared by the public wrappers and their kernels, in one place.

Importing this module imports no Numba, so the wrappers can read the same
values the kernels are compiled with.  Kernel kinds are small integers that
select a loss inside one compiled loop (a compile per dtype, not per loss
and dtype); each group below is the kind table of one kernel.
"""

#: Elements per reduction chunk.  Each chunk is summed into one float64
#: partial by one thread; partials are combined in a fixed order (exactly, with
#: ``math.fsum``), so a reduction is bitwise identical for any thread count.
#: 16384 elements (64-128 KiB per operand) keeps a chunk in L2 and makes the
#: per-chunk scheduling cost negligible (~6000 chunks for 10^8 elements).
CHUNK = 1 << 14

# Elementwise regression losses (fastloss._kernels.losses.regression).
MSE, L1, HUBER, SMOOTH_L1, PSEUDO_HUBER, LOG_COSH, QUANTILE = range(7)
# Elementwise classification losses (fastloss._kernels.losses.classification);
# FOCAL2 is focal with gamma == 2, specialised by the wrapper.
BCE, BCE_LOGITS, FOCAL, KL, KL_LOG, FOCAL2 = range(6)
# Softmax-row losses (fastloss._kernels.losses.classification.rows).
CE_INDEX, CE_SOFT, FOCAL_INDEX = range(3)
# Embedding row losses (fastloss._kernels.losses.embedding.rowwise).
TRIPLET, CONTRASTIVE, COSINE = range(3)
# Classifier margin row losses (fastloss._kernels.losses.margin.rowwise).
MULTI_MARGIN, HINGE_MC = range(2)
# Out-of-distribution scores (fastloss._kernels.metrics.ood).
MSP, MAX_LOGIT, ENERGY, NEG_ENTROPY = range(4)
# Inputs of the fused calibration update (fastloss._kernels.metrics.ood.bin_rows):
# (N, C) probabilities, (N, C) logits, binary probabilities as an (N, 1) view.
BIN_PROBS, BIN_LOGITS, BIN_BINARY = range(3)

# Below these sizes (elements of the whole call) a parallel kernel runs on the
# calling thread alone (fastloss._core.jit.launch): a parallel region costs
# more than it saves there, and its latency would depend on whatever else keeps
# the cores busy.  Set from `python -m fastloss.bench.thresholds` (1 vs all
# threads, same compiled kernel): on the loaded 2-core test machine no size up
# to 2^19 ran faster on 2 threads, so 2^15 (~10-40 us of serial work, a few
# times a parallel region's cost) is an estimate until measured on a quiet
# machine (docs/benchmarks.md).
SERIAL_BELOW_ELEMENTWISE = 1 << 15
SERIAL_BELOW_ROWS = 1 << 15
SERIAL_BELOW_SOFTMAX = 1 << 13

# cross_entropy with class indices, no class weights and no smoothing runs the
# row-blocked kernel (fastloss._kernels.losses.classification.narrow_rows) up
# to this many classes: rows that short do not vectorise along the row.
NARROW_C = 16
