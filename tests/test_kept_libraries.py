"""What a kept library does is not written by hand again; where a hand-written version stays (start-up time), it
agrees with the library."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import numpy as np
import pytest


def test_seed_everything_light_path_seeds_python_and_numpy_without_importing_torch() -> None:
    code = (
        "import random, sys, numpy as np\n"
        "from toolkit.backends.seeding import seed_everything\n"
        "seed_everything(3); a = (random.random(), np.random.rand())\n"
        "seed_everything(3); b = (random.random(), np.random.rand())\n"
        "assert a == b, (a, b)\n"
        "assert not {'torch', 'transformers'} & set(sys.modules), 'the light path imports no torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_seed_everything_with_torch_is_transformers_set_seed() -> None:
    pytest.importorskip("transformers")
    import torch

    from toolkit.backends.seeding import seed_everything

    seed_everything(5, torch=True)
    first = (random.random(), float(np.random.rand()), torch.rand(3).tolist())
    from transformers import set_seed

    set_seed(5)
    assert (random.random(), float(np.random.rand()), torch.rand(3).tolist()) == first


def test_balanced_weights_are_scikit_learns_and_zero_for_absent_labels() -> None:
    from sklearn.utils.class_weight import compute_class_weight

    from toolkit.backends.transformer.training import balanced_weights

    y = np.array([0, 0, 0, 1, 2, 2])
    assert np.allclose(balanced_weights(y, 3), compute_class_weight("balanced", classes=np.arange(3), y=y))
    few_shot = np.array([0, 0, 2])  # label 1 has no row
    weights = balanced_weights(few_shot, 3)
    assert weights[1] == 0.0
    assert np.allclose(weights[[0, 2]], compute_class_weight("balanced", classes=np.array([0, 2]), y=few_shot))


def test_softmax_head_equals_scipy() -> None:
    from scipy.special import expit, softmax

    from toolkit.backends.tfidf.model import softmax_head

    scores = np.random.default_rng(0).normal(scale=30, size=(50, 4))
    assert np.allclose(softmax_head(scores), softmax(scores, axis=1), atol=1e-12)
    binary = scores[:, :1]
    assert np.allclose(softmax_head(binary), np.column_stack([1 - expit(binary[:, 0]), expit(binary[:, 0])]))


def test_file_lock_is_a_filelock_that_excludes_others(tmp_path) -> None:
    from filelock import FileLock, Timeout

    from toolkit._locks import file_lock, lock_path

    protected = tmp_path / "data"
    with file_lock(protected):
        with pytest.raises(Timeout):
            FileLock(lock_path(protected)).acquire(timeout=0)
    FileLock(lock_path(protected)).acquire(timeout=0).lock.release()
    assert lock_path(protected).parent.name == "toolkit-locks" and not (tmp_path / "data.lock").exists()


def test_process_created_is_psutils_create_time_and_gone_for_dead_and_zombie_processes() -> None:
    import psutil

    from toolkit.tracking.status import GONE, process_created

    assert process_created() == f"{psutil.Process().create_time():.2f}"
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_created(child.pid) == GONE, "exited but not reaped: a zombie has finished"
    child.wait()
    assert process_created(child.pid) == GONE


def test_owner_alive_compares_creation_times() -> None:
    import socket

    from toolkit.tracking.status import (
        TAG_HOST,
        TAG_PID,
        TAG_PROCESS_CREATED,
        TAG_PROCESS_START,
        owner_alive,
        owner_tags,
    )

    mine = owner_tags()
    assert owner_alive(mine) is True
    assert owner_alive(mine | {TAG_PROCESS_CREATED: "12.00"}) is False, "a reused pid is another process"
    older = {TAG_HOST: socket.gethostname(), TAG_PID: str(os.getpid()), TAG_PROCESS_START: "123"}
    assert owner_alive(older) is True, "a run from before creation times were recorded: its pid still runs"
    assert owner_alive(mine | {TAG_HOST: "elsewhere"}) is None
