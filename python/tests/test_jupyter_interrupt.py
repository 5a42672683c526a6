"""Interrupting a long `Network.fit` in a real Jupyter kernel (the "stop" button, Ctrl-C).

Through jupyter_client a kernel of this interpreter is started; a cell starts a fit that would run for
minutes; ~0.5 s after the cell started executing the kernel is interrupted (SIGINT, as Jupyter does). The
execute reply must be a KeyboardInterrupt, and fit must have stopped within one epoch's steps of the
interrupt: a thread in the kernel records the step count (opt.t) as training goes, so where fit stopped is
compared with where it was when the signal was sent (events, not a wall-clock deadline; the latencies are
printed). A second cell in the same kernel then checks that
the network stayed consistent: finite parameters, a working forward pass, ``opt.t`` equal to the number
of steps whose updates are in the parameters (the run is reproduced step for step on a fresh network and
must match bit for bit), and a new short fit that works.
"""
from __future__ import annotations

import json
import queue
import textwrap
import time
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client", reason="needs jupyter_client (pip install jupyter_client)")
pytest.importorskip("ipykernel", reason="needs ipykernel (pip install ipykernel)")

from jupyter_client.manager import KernelManager  # noqa: E402

STARTUP_TIMEOUT = 120      # s for the kernel to become ready
CELL_TIMEOUT = 120         # s for an ordinary cell
WAIT_AFTER_START = 0.5     # s between the start of the long cell and the interrupt
STEPS_PER_EPOCH = 2048 // 32  # NB of SETUP below: N // BS

# 2048 samples, batches of 32 (64 steps per epoch), a 64-128-128-10 tanh network: a step takes about
# 1 ms on one core (up to ~50 ms measured when its BLAS threads compete for an overloaded machine);
# 20,000 epochs (1.28 million steps) would run for many minutes anywhere, far beyond the interrupt.
SETUP = """
import json, time
import numpy as np
import swiftprop as sp

SIZES, BS, N, EPOCHS = [64, 128, 128, 10], 32, 2048, 20_000
NB = N // BS                                   # steps per epoch
rng = np.random.default_rng(0)
X = rng.normal(size=(N, SIZES[0]))
y = rng.integers(0, SIZES[-1], size=N)

def make():
    net = sp.Network(SIZES, activations="tanh", loss="cross_entropy", seed=0)
    return net, sp.optim.Adam(net, lr=1e-3)

net, opt = make()
"""

# IPython formats its first traceback slowly (it imports and caches its formatting machinery, ~0.5 s
# on a loaded machine): one error first, so that the measured latency is the interrupt's
WARM_UP = 'raise RuntimeError("warm-up of the traceback formatting")'

# T_CAUGHT: when the KeyboardInterrupt reached Python in the kernel (the error still propagates).
# STEPS: (wall time, opt.t) each time the step count changed, sampled every ~1 ms by a thread of the kernel
# (opt.t is readable while fit trains with the GIL released).
LONG_FIT = """
import threading
STEPS = []
_sampling_done = threading.Event()

def _sample_steps():
    last = -1
    while not _sampling_done.is_set():
        t = opt.t
        if t != last:
            STEPS.append((time.time(), t))
            last = t
        _sampling_done.wait(0.001)

threading.Thread(target=_sample_steps, daemon=True).start()
print("fit starting", flush=True)
try:
    net.fit(X, y, epochs=EPOCHS, batch_size=BS, optimizer=opt, shuffle=False)
except KeyboardInterrupt:
    T_CAUGHT = time.time()
    raise
finally:
    _sampling_done.set()
"""

# WALL_INTERRUPT (when the test sent the signal) is defined in front of this cell by the test
CHECK = """
k = opt.t
before = [t for w, t in STEPS if w <= WALL_INTERRUPT]
res = {"t_caught": T_CAUGHT, "steps": k, "steps_at_interrupt": before[-1] if before else 0, "finite": bool(np.isfinite(net.params).all()
                                                    and all(np.isfinite(v).all() for v in opt.state.values()))}
out = net.forward(X[:100])
res["forward_ok"] = bool(out.shape == (100, SIZES[-1]) and np.isfinite(out).all()
                         and np.allclose(out.sum(axis=1), 1.0))
# reproduce: k steps without shuffling are e whole epochs, then the first r batches of the next one
e, r = divmod(k, NB)
ref, ref_opt = make()
if e:
    ref.fit(X, y, epochs=e, batch_size=BS, optimizer=ref_opt, shuffle=False)
if r:
    ref.fit(X[:r * BS], y[:r * BS], epochs=1, batch_size=BS, optimizer=ref_opt, shuffle=False)
res["reproduced_steps"] = ref_opt.t
res["params_identical"] = bool(np.array_equal(ref.params, net.params))
res["state_identical"] = all(np.array_equal(ref_opt.state[name], v) for name, v in opt.state.items())
res["max_param_diff"] = float(np.abs(ref.params - net.params).max())
# a new short fit on the same network and optimizer
h = net.fit(X[:256], y[:256], epochs=3, batch_size=BS, optimizer=opt, shuffle=False)
res["new_fit_epochs"] = h.epochs
res["new_fit_steps"] = opt.t - k
res["new_fit_finite"] = bool(np.isfinite(h.loss).all() and np.isfinite(net.params).all())
res["new_fit_decreases"] = bool(h.loss[-1] <= h.loss[0])
print("RESULT " + json.dumps(res), flush=True)
"""


def _iopub_until(kc, msg_id: str, deadline: float, want) -> dict:
    """Read iopub messages of one execution until ``want(msg)``; returns that message."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no matching iopub message in time")
        try:
            msg = kc.get_iopub_msg(timeout=remaining)
        except queue.Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") == msg_id and want(msg):
            return msg


def _shell_reply(kc, msg_id: str, deadline: float) -> dict:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no execute reply in time")
        try:
            msg = kc.get_shell_msg(timeout=remaining)
        except queue.Empty:
            continue
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg


def _is_idle(msg: dict) -> bool:
    return msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"


def _run(kc, code: str, timeout: float = CELL_TIMEOUT) -> tuple[dict, str]:
    """Execute a cell; returns (reply content, stdout text) once the kernel is idle again."""
    msg_id = kc.execute(textwrap.dedent(code))
    deadline = time.monotonic() + timeout
    out: list[str] = []

    def collect(msg: dict) -> bool:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        return _is_idle(msg)

    _iopub_until(kc, msg_id, deadline, collect)
    reply = _shell_reply(kc, msg_id, deadline)
    return reply["content"], "".join(out)


def test_interrupt_long_fit_in_kernel(python_kernel: str, tmp_path: Path):
    km = KernelManager(kernel_name=python_kernel)
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=STARTUP_TIMEOUT)

        reply, out = _run(kc, SETUP)
        assert reply["status"] == "ok", f"setup cell failed: {reply.get('ename')}: {reply.get('evalue')}"
        reply, _ = _run(kc, WARM_UP)
        assert reply["status"] == "error" and reply["ename"] == "RuntimeError", reply

        # the long fit: wait until it is executing (iopub busy, then its first line), then interrupt
        msg_id = kc.execute(LONG_FIT)
        deadline = time.monotonic() + CELL_TIMEOUT
        _iopub_until(kc, msg_id, deadline,
                     lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "busy")
        _iopub_until(kc, msg_id, deadline,
                     lambda m: m["msg_type"] == "stream" and "fit starting" in m["content"]["text"])
        time.sleep(WAIT_AFTER_START)
        t_interrupt, wall_interrupt = time.monotonic(), time.time()
        km.interrupt_kernel()
        # a generous wait for the reply: a guard against a hang, not a speed requirement
        reply = _shell_reply(kc, msg_id, t_interrupt + 30)["content"]
        latency = time.monotonic() - t_interrupt
        _iopub_until(kc, msg_id, time.monotonic() + CELL_TIMEOUT, _is_idle)

        assert reply["status"] == "error", f"the long fit was not interrupted: {reply}"
        assert reply["ename"] == "KeyboardInterrupt", f"{reply['ename']}: {reply['evalue']}"

        # the same kernel: the network is consistent and trains again
        reply, out = _run(kc, f"WALL_INTERRUPT = {wall_interrupt!r}\n" + CHECK)
        assert reply["status"] == "ok", f"check cell failed: {reply.get('ename')}: {reply.get('evalue')}\n{out}"
        line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
        res = json.loads(line[len("RESULT "):])
        in_kernel = res["t_caught"] - wall_interrupt
        print(f"KeyboardInterrupt raised in the kernel {in_kernel:.3f} s after the interrupt, "
              f"execute reply after {latency:.3f} s; {res['steps']} steps done")
        print(res)
        # where fit stopped: at most the rest of the epoch running when the signal came (the core checks
        # for signals between chunks of steps, and fit between epochs), not any later
        assert res["steps"] > 0, "no training step completed before the interrupt"
        after = res["steps"] - res["steps_at_interrupt"]
        assert 0 <= after <= STEPS_PER_EPOCH, (
            f"fit stopped at step {res['steps']}, {after} steps after the interrupt (at step "
            f"{res['steps_at_interrupt']}); an epoch has {STEPS_PER_EPOCH}")
        assert res["steps"] < 20_000 * 64, "the fit ran to completion"
        assert res["finite"]
        assert res["forward_ok"]
        assert res["reproduced_steps"] == res["steps"]
        assert res["params_identical"] and res["state_identical"], (
            f"opt.t={res['steps']} does not match the parameters: replaying {res['steps']} steps differs "
            f"by up to {res['max_param_diff']:.3g}")
        assert res["new_fit_epochs"] == 3 and res["new_fit_steps"] == 3 * 8
        assert res["new_fit_finite"] and res["new_fit_decreases"]
    finally:
        try:
            kc.stop_channels()
        finally:
            km.shutdown_kernel(now=True)
