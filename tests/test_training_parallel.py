"""`DataParallel`: a batch split over threads gives the wrapped module's own results."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from cnnlab.models import build_model, spec_from_string
from cnnlab.scratch import (
    Adam,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Linear,
    ReLU,
    Sequential,
)
from cnnlab.training.engines import make_engine
from cnnlab.training.parallel import MIN_CHUNK, DataParallel, _blas_threads, _cores

TOL = {"rtol": 1e-12, "atol": 1e-13}


def batch(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 28, 28)), rng.integers(0, 10, size=n)


def forward_backward(net, x, y):
    """Logits, dL/dx and every parameter gradient of one forward/backward of `net`."""
    loss = CrossEntropyLoss()
    net.zero_grad()
    logits = net(x)
    loss.forward(logits, y)
    dx = net.backward(loss.backward())
    return logits, dx, {name: p.grad.copy() for name, p in net.named_parameters()}


@pytest.mark.parametrize("model", ["cnn2", "cnn3"])
@pytest.mark.parametrize("workers", [2, 3])
def test_chunks_give_the_whole_batch_results_in_float64(model, workers):
    serial = build_model(model, engine="scratch", seed=1).to(np.float64)
    wrapped = build_model(model, engine="scratch", seed=1).to(np.float64)
    # Let the first layer return dL/dx too, so the concatenated input gradient is checked.
    serial[0].needs_input_grad = wrapped[0].needs_input_grad = True
    parallel = DataParallel(wrapped, workers=workers)
    x, y = batch(3 * MIN_CHUNK + 5)
    assert parallel.chunks_for(len(x)) == min(workers, _cores())

    logits, dx, grads = forward_backward(serial, x, y)
    p_logits, p_dx, p_grads = forward_backward(parallel, x, y)

    np.testing.assert_allclose(p_logits, logits, **TOL)
    np.testing.assert_allclose(p_dx, dx, **TOL)
    assert list(p_grads) == [f"module.{name}" for name in grads]
    for name, grad in grads.items():
        assert np.abs(grad).max() > 0
        np.testing.assert_allclose(p_grads[f"module.{name}"], grad, **TOL)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_train_chunks_give_forward_loss_and_backward_bit_for_bit(workers):
    nets = [DataParallel(build_model("cnn3", engine="scratch", seed=2), workers) for _ in "ab"]
    x, y = batch(3 * MIN_CHUNK + 5)
    x = x.astype(np.float32)
    expected_logits, _, expected = forward_backward(nets[0], x, y)
    expected_loss = CrossEntropyLoss().forward(expected_logits, y)

    nets[1].zero_grad()
    logits, losses = nets[1].train_chunks(
        x, lambda out, lo, hi: CrossEntropyLoss.losses_and_grad(out, y[lo:hi], len(y))[::-1]
    )
    assert len(losses) == nets[1].chunks_for(len(x))
    np.testing.assert_array_equal(logits, expected_logits)
    assert np.concatenate(losses).mean() == expected_loss
    for name, param in nets[1].named_parameters():
        assert np.abs(param.grad).max() > 0
        np.testing.assert_array_equal(param.grad, expected[name], err_msg=name)


def test_gradients_accumulate_like_the_module_and_replicas_see_each_step():
    """Two steps of Adam on the wrapped model follow the serial model: each forward picks up
    the updated weights, and `backward` adds into `grad` (twice without zero_grad = twice)."""
    serial = build_model("cnn2", engine="scratch", seed=2).to(np.float64)
    wrapped = build_model("cnn2", engine="scratch", seed=2).to(np.float64)
    parallel = DataParallel(wrapped, workers=2)
    nets = [serial, parallel]
    optimizers = [Adam(list(net.parameters()), lr=1e-2) for net in nets]
    loss = CrossEntropyLoss()
    for step in range(2):
        x, y = batch(2 * MIN_CHUNK, seed=10 + step)
        for net, opt in zip(nets, optimizers, strict=True):
            opt.zero_grad()
            for _ in range(2):
                loss.forward(net(x), y)
                net.backward(loss.backward())
            opt.step()
    for (name, a), (_, b) in zip(
        serial.state_dict().items(), wrapped.state_dict().items(), strict=True
    ):
        np.testing.assert_allclose(b, a, err_msg=name, **TOL)


def test_a_new_state_dict_reaches_the_replicas():
    model = build_model("cnn2", engine="scratch", seed=3)
    parallel = DataParallel(model, workers=2)
    x, _ = batch(2 * MIN_CHUNK)
    parallel(x.astype(np.float32))  # replicas exist now
    model.load_state_dict(build_model("cnn2", engine="scratch", seed=4).state_dict())
    expected = build_model("cnn2", engine="scratch", seed=4)(x.astype(np.float32))
    np.testing.assert_allclose(parallel(x.astype(np.float32)), expected, rtol=1e-5, atol=1e-6)


def test_small_batches_and_dropout_run_in_one_chunk():
    parallel = DataParallel(build_model("cnn2", engine="scratch"), workers=4)
    assert parallel.chunks_for(2 * MIN_CHUNK - 1) == 1
    with_dropout = Sequential(Flatten(), Linear(784, 10), ReLU(), Dropout(0.5))
    assert DataParallel(with_dropout, workers=4).chunks_for(1000) == 1


def test_batch_norm_runs_in_one_chunk_and_replicas_share_its_running_statistics():
    spec = spec_from_string("Conv2d(4, 3) BatchNorm2d ReLU Flatten Linear(10)", "bn")
    parallel = DataParallel(build_model(spec, engine="scratch"), workers=4)
    assert parallel.chunks_for(1000) == 1
    parallel.module.train()
    parallel(batch(8)[0].astype(np.float32))  # moves bn1's running statistics
    replica = parallel._replica(1)
    for own, shared in zip(replica.buffers(), parallel.module.buffers(), strict=True):
        assert own.data is shared.data


def test_workers_follow_the_blas_thread_count():
    parallel = DataParallel(build_model("cnn2", engine="scratch"))
    with threadpool_limits(limits=1, user_api="blas"):
        assert parallel.chunks_for(64) == 1
    with threadpool_limits(limits=2, user_api="blas"):
        assert _blas_threads() == 2
        assert parallel.chunks_for(64) == min(2, _cores())


def test_the_blas_thread_count_is_restored_after_a_parallel_pass():
    parallel = DataParallel(build_model("cnn2", engine="scratch"), workers=2)
    with threadpool_limits(limits=2, user_api="blas"):
        parallel(batch(2 * MIN_CHUNK)[0].astype(np.float32))
        assert _blas_threads() == 2


def test_errstate_holds_in_the_worker_threads():
    """pytest turns warnings into errors here: an overflow inside a worker would raise unless
    the caller's `np.errstate` reaches the worker threads."""
    parallel = DataParallel(build_model("cnn2", engine="scratch"), workers=2)
    x = np.full((2 * MIN_CHUNK, 1, 28, 28), 3e38, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        out = parallel(x)
    assert not np.isfinite(out).all()
    with pytest.raises(FloatingPointError), np.errstate(over="raise"):
        parallel(x)


def test_engine_steps_match_a_serial_engine_in_float64():
    engines = [make_engine("cnn3", "scratch", seed=5, dtype=np.float64) for _ in range(2)]
    engines[1].parallel.workers = 1
    assert engines[0].parallel.chunks_for(64) == min(_blas_threads(), _cores(), 4)
    for step in range(3):
        x, y = batch(64, seed=step)
        results = [engine.train_step(x, y) for engine in engines]
        assert results[0][1] == results[1][1]
        assert results[0][0] == pytest.approx(results[1][0], rel=1e-12)
    np.testing.assert_allclose(engines[0].logits(x), engines[1].logits(x), **TOL)


def test_an_mlp_engine_runs_in_one_piece():
    engine = make_engine("mlp3", "scratch")
    assert engine.parallel.chunks_for(1000) == 1


def test_more_chunks_than_before_grow_the_thread_pool(monkeypatch):
    """Two chunks, then four (as on a 4-core machine): the results stay the whole batch's."""
    monkeypatch.setattr("cnnlab.training.parallel._cores", lambda: 4)
    serial = build_model("cnn3", engine="scratch", seed=6).to(np.float64)
    parallel = DataParallel(build_model("cnn3", engine="scratch", seed=6).to(np.float64))
    x, y = batch(4 * MIN_CHUNK, seed=7)
    _, _, grads = forward_backward(serial, x, y)
    for workers in (2, 4):
        parallel.workers = workers
        assert parallel.chunks_for(len(x)) == workers
        logits, _, p_grads = forward_backward(parallel, x, y)
        np.testing.assert_allclose(logits, serial(x), **TOL)
        for name, grad in grads.items():
            np.testing.assert_allclose(p_grads[f"module.{name}"], grad, **TOL)
