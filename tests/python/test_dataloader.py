"""DataLoader(num_workers=2, shuffle=True) with rblock.worker_init_fn: the same batches, data order
and random / NumPy / torch augmentations in two runs of the same block."""

import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

import rblock

C = rblock._C


class Augmented(Dataset):
    """Fixed data, augmented in __getitem__ with Python's random, NumPy and torch."""

    def __init__(self, n=24):
        self.data = torch.arange(n * 4, dtype=torch.float32).reshape(n, 4)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        r = random.random()
        n = float(np.random.random_sample())
        x = self.data[i] * (1 + r) + n + torch.rand(4)
        if random.random() < 0.5:
            x = x.flip(0)
        x = x[np.random.permutation(4)]
        info = get_worker_info()
        return {"index": i, "x": x, "r": r, "n": n, "worker": info.id,
                "worker_seed": str(info.seed), "torch_seed": str(torch.initial_seed())}


def batches(block_seed=128, **loader_options):
    loader = DataLoader(Augmented(), batch_size=4, shuffle=True, num_workers=2,
                        worker_init_fn=rblock.worker_init_fn, **loader_options)
    with rblock.block(block_seed):  # the data order and the workers' seeds come from this block
        return [batch for epoch in range(2) for batch in loader]


def same(a, b):
    return len(a) == len(b) and all(
        x.keys() == y.keys() and all(
            torch.equal(x[k], y[k]) if isinstance(x[k], torch.Tensor) else x[k] == y[k] for k in x)
        for x, y in zip(a, b))


def test_same_batches_in_two_runs(seeded):
    first = batches()
    random.random(), np.random.rand(), torch.rand(10)  # draws between the runs do not matter
    second = batches()
    assert same(first, second)
    assert not torch.equal(first[0]["index"], torch.arange(4))  # shuffled
    assert {w for b in first for w in b["worker"].tolist()} == {0, 1}


def test_another_block_gives_other_batches(seeded):
    assert not same(batches(128), batches(129))


def test_workers_are_seeded_from_rb_derivation(seeded):
    # Batch w of an epoch is worker w's first: its first sample is the worker's first draws. The
    # worker's key is rank_key(derive_key(base seed, w), global rank), rank 0 here (no rank known);
    # torch's CPU generator reports it as its initial seed.
    for batch in batches()[:2]:
        worker = int(batch["worker"][0])
        base_seed = int(batch["worker_seed"][0]) - worker
        key = C.rank_key(C.derive_key(base_seed, worker), 0)
        assert int(batch["torch_seed"][0]) == key
        expected_random = random.Random()
        expected_random.setstate((3, C.mt_state(key, C.Domain.python_random) + (624,), None))
        expected_numpy = np.random.RandomState()
        expected_numpy.set_state(("MT19937", np.array(C.mt_state(key, C.Domain.numpy), np.uint32), 624, 0, 0.0))
        assert batch["r"][0].item() == expected_random.random()
        assert batch["n"][0].item() == expected_numpy.random_sample()


def test_worker_init_fn_checks_its_argument(seeded):
    with pytest.raises(rblock.ArgumentError):
        rblock.worker_init_fn(-1)
