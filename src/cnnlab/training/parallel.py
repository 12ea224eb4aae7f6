"""`DataParallel`: one batch on several CPU cores, by splitting it, as `torch.nn.DataParallel`
splits a batch over GPUs.

Why: NumPy threads its matrix products (through its BLAS) but runs every elementwise pass --
im2col copies, ReLU, max-pool, col2im -- on one core, and those passes are most of a training
step. Splitting the batch into one chunk per core and running each chunk's forward and backward
in its own thread puts all of that work on every core: NumPy releases the GIL inside its loops,
copies and BLAS calls. Each thread's BLAS then runs single-threaded, so the thread budget
(the BLAS thread count that `threadpoolctl` or the environment sets) is the same either way.

How, in plain terms:

- chunk 0 runs on the wrapped module itself, chunk k on replica k: a copy of the module whose
  parameters share the wrapped module's `data` arrays (synchronised at every forward, so an
  optimizer step or `load_state_dict` is seen at once) but own their `grad` arrays;
- `forward(x)` splits `x` along the batch axis, runs the chunks side by side and concatenates
  their outputs; `backward(dy)` splits `dy` the same way, runs the chunks' backward passes side
  by side, and adds each replica's parameter gradients into the wrapped module's, in chunk
  order (so the result is deterministic);
- every example's forward and backward is the module's own code: the maths does not change, only
  the order in which float32 gradients are summed (the tests compare both ways).

A module with `Dropout` runs in one chunk: its masks come from one generator, in batch order.
So does a module with `BatchNorm`: its statistics are the whole batch's, not a chunk's, and
its running statistics move once per batch. Replicas share the buffers' arrays too, so one never
computes with stale running statistics.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import itertools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from cnnlab.scratch.activation import Dropout
from cnnlab.scratch.batchnorm import BatchNorm1d, BatchNorm2d
from cnnlab.scratch.module import Module

MIN_CHUNK = 16  # images per chunk at least: smaller chunks cost more in overhead than they save


class DataParallel(Module):
    """`DataParallel(module, workers=None)`: `module`'s forward and backward over `workers` chunks
    of the batch, one thread each. `workers=None` follows the BLAS thread count in force at each
    call (capped by the cores this process may use), so `threadpoolctl.threadpool_limits(1)`
    makes it serial. Parameters are the wrapped module's, named `module.<name>` like PyTorch's.
    """

    def __init__(self, module: Module, workers: int | None = None) -> None:
        super().__init__()
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.module = module
        self.workers = workers
        self._replicas: list[Module] = []  # replica k computes chunk k + 1
        # Per replica, its (own, shared) parameter and buffer pairs, found once: walking the
        # module tree at every step cost about 1 ms of the step in Python, holding the GIL.
        self._pairs: list[tuple[list, list]] = []
        self._pool: ThreadPoolExecutor | None = None  # threads for chunks 1, 2, ...
        self._pool_size = 0
        self._bounds: list[int] = []  # chunk edges of the last forward
        whole_batch = (Dropout, BatchNorm1d, BatchNorm2d)  # see the module docstring
        self._serial = any(isinstance(m, whole_batch) for m in module.modules())

    # -- splitting -----------------------------------------------------------------------------

    def chunks_for(self, batch: int) -> int:
        """How many chunks a batch of `batch` examples is split into."""
        if self._serial:
            return 1
        workers = self.workers if self.workers is not None else _blas_threads()
        return max(1, min(workers, _cores(), batch // MIN_CHUNK))

    def _split(self, batch: int) -> int:
        """The number of chunks for `batch` examples; their edges go to `_bounds`, which
        `backward` splits dy by."""
        n = self.chunks_for(batch)
        self._bounds = [batch * k // n for k in range(n + 1)]
        return n

    def _replica(self, k: int) -> Module:
        """Replica k (k >= 1), its parameters pointing at the wrapped module's current data."""
        while len(self._replicas) < k:
            replica = copy.deepcopy(self.module)
            self._replicas.append(replica)
            self._pairs.append(
                (
                    list(zip(replica.parameters(), self.module.parameters(), strict=True)),
                    list(zip(replica.buffers(), self.module.buffers(), strict=True)),
                )
            )
        replica, (params, buffers) = self._replicas[k - 1], self._pairs[k - 1]
        if replica.training != self.module.training:
            replica.train(self.module.training)
        for own, shared in params:
            own.data = shared.data
            if own.grad.dtype != shared.data.dtype:  # the module was cast (`to`) since
                own.grad = np.zeros_like(shared.data)
        for own, shared in buffers:
            own.data = shared.data
        return replica

    def _run(self, calls: list) -> list:
        """Run `calls` (callables) side by side: the first on this thread, the rest on the pool.
        Each thread runs in a copy of this thread's context (so `np.errstate` holds there too),
        with its BLAS single-threaded; the BLAS thread count is restored afterwards."""
        if len(calls) == 1:
            return [calls[0]()]
        if self._pool_size < len(calls) - 1:  # a first call, or more threads than before
            if self._pool is not None:
                self._pool.shutdown()
            self._pool_size = len(calls) - 1
            self._pool = ThreadPoolExecutor(self._pool_size, thread_name_prefix="cnnlab-dp")
        with _single_threaded_blas():
            futures = [
                self._pool.submit(contextvars.copy_context().run, call) for call in calls[1:]
            ]
            try:
                first = calls[0]()
            finally:  # never leave a replica busy behind an error in this thread
                wait(futures)
            return [first, *(future.result() for future in futures)]

    # -- the two passes ------------------------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        n = self._split(len(x))
        if n == 1:
            return self.module(x)
        modules = [self.module] + [self._replica(k) for k in range(1, n)]
        parts = [x[lo:hi] for lo, hi in itertools.pairwise(self._bounds)]
        outs = self._run([lambda m=m, p=p: m(p) for m, p in zip(modules, parts, strict=True)])
        return np.concatenate(outs)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        n = len(self._bounds) - 1
        if n <= 1:
            return self.module.backward(dy)
        modules = [self.module, *self._zeroed_replicas(n)]
        parts = [dy[lo:hi] for lo, hi in itertools.pairwise(self._bounds)]
        dxs = self._run(
            [lambda m=m, p=p: m.backward(p) for m, p in zip(modules, parts, strict=True)]
        )
        self._add_replica_grads(n)
        return None if dxs[0] is None else np.concatenate(dxs)

    def train_chunks(
        self, x: np.ndarray, head: Callable[[np.ndarray, int, int], tuple[np.ndarray, Any]]
    ) -> tuple[np.ndarray, list]:
        """A training step's forward and backward passes, each chunk's both in one go.

        The thread of chunk [lo, hi) runs `out = module(x[lo:hi])`, then `dy, extra =
        head(out, lo, hi)` (the loss: its gradient for these rows, and their losses), then
        `module.backward(dy)`. Returns the outputs, concatenated, and the extras in chunk order;
        the parameter gradients are added up as `backward` adds them. The same numbers as
        `forward`, a loss on the whole output and `backward`, when the loss of each row depends
        on that row alone (`CrossEntropyLoss.losses_and_grad`); what it saves is one of the two
        hand-overs to the other threads per step, and the loss runs beside the other chunks.
        """
        n = self._split(len(x))
        modules = [self.module] if n == 1 else [self.module, *self._zeroed_replicas(n)]

        def chunk(module: Module, lo: int, hi: int) -> tuple[np.ndarray, Any]:
            out = module(x[lo:hi])
            dy, extra = head(out, lo, hi)
            module.backward(dy)
            return out, extra

        results = self._run(
            [
                lambda m=m, lo=lo, hi=hi: chunk(m, lo, hi)
                for m, (lo, hi) in zip(modules, itertools.pairwise(self._bounds), strict=True)
            ]
        )
        if n > 1:
            self._add_replica_grads(n)
        outs = [out for out, _ in results]
        return (outs[0] if n == 1 else np.concatenate(outs)), [extra for _, extra in results]

    def _zeroed_replicas(self, n: int) -> list[Module]:
        """Replicas 1 .. n-1, synchronised (see `_replica`), their gradients zero."""
        replicas = [self._replica(k) for k in range(1, n)]
        for params, _ in self._pairs[: n - 1]:
            for own, _ in params:
                own.grad.fill(0)
        return replicas

    def _add_replica_grads(self, n: int) -> None:
        """Add replicas 1 .. n-1's parameter gradients into the wrapped module's, in order."""
        for params, _ in self._pairs[: n - 1]:
            for own, shared in params:
                shared.grad += own.grad

    def extra_repr(self) -> str:
        return f"workers={'BLAS threads' if self.workers is None else self.workers}"


# -- the BLAS thread count ----------------------------------------------------------------------

_BLAS = None  # threadpoolctl's controllers of the BLAS libraries NumPy loaded, found once


def _blas_controllers() -> list:
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController().select(user_api="blas").lib_controllers
    return _BLAS


def _blas_threads() -> int:
    """The BLAS thread count in force now (1 when no BLAS is found)."""
    return max((lib.get_num_threads() or 1 for lib in _blas_controllers()), default=1)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Every BLAS single-threaded inside, its previous thread count restored afterwards."""
    saved = [(lib, lib.get_num_threads()) for lib in _blas_controllers()]
    for lib, _ in saved:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, threads in saved:
            lib.set_num_threads(threads)
