"""glibc malloc tuning for the PyTorch side (bench.py / train_fashion.py --tuned-malloc).

c10's CPU allocator takes every tensor from malloc. With glibc's defaults, buffers of a few MB are mmap'ed and
unmapped (or the heap top trimmed) on every step, so each step pays fresh page faults: cnn_lenetish train at batch 256
measured ~34 ms median (bimodal, p10 ~25 ms) by default and ~21 ms with the thresholds raised. Setting
MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ in the environment has the same effect."""
import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def tune_malloc(threshold=1 << 30):
    """mallopt(M_TRIM_THRESHOLD, threshold) and mallopt(M_MMAP_THRESHOLD, threshold): freed memory stays in the heap
    and is reused by the next step. Call before the model allocates."""
    libc = ctypes.CDLL("libc.so.6")
    if not (libc.mallopt(M_TRIM_THRESHOLD, threshold) and libc.mallopt(M_MMAP_THRESHOLD, threshold)):
        raise OSError("mallopt failed (not glibc?)")
