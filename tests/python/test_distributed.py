"""rblock across processes on torch.distributed's gloo backend over 127.0.0.1: one process per rank,
started as torchrun would (tests/python/dist_job.py), each job bounded in time. Two runs of a
2-rank job and one 3-rank job; the world of 1 runs in this process."""

import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
import torch

import rblock
from dist_job import SEED, augmented_samples

C = rblock._C
JOB = pathlib.Path(__file__).with_name("dist_job.py")
DEADLINE_S = 300  # all jobs; each takes a few seconds (mostly importing torch)


def free_ports(n):
    """`n` distinct free TCP ports of 127.0.0.1 (each held until all are chosen)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_job(scenario, world, folder, port):
    """Starts dist_job.py on `world` ranks that meet at `port`, saving into `folder`."""
    folder.mkdir()
    processes = []
    for rank in range(world):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo",
                   OMP_NUM_THREADS="1")
        processes.append(subprocess.Popen(
            [sys.executable, str(JOB), scenario, str(folder)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    return scenario, folder, processes


def finish_jobs(jobs):
    """Waits for every job (killing all of them past the deadline) and returns, for each, what its
    ranks saved."""
    deadline = time.monotonic() + DEADLINE_S
    processes = [p for _, _, job in jobs for p in job]
    try:
        outputs = [p.communicate(timeout=max(1.0, deadline - time.monotonic()))[0]
                   for p in processes]
    except subprocess.TimeoutExpired:
        pytest.fail(f"the distributed jobs ran past {DEADLINE_S} s")
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    outputs = iter(outputs)
    results = []
    for scenario, folder, job in jobs:
        for rank, p in enumerate(job):
            out = next(outputs)
            assert p.returncode == 0, f"rank {rank} of the {scenario} job failed:\n{out}"
        results.append([torch.load(folder / f"rank{r}.pt", weights_only=False)
                        for r in range(len(job))])
    return results


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """Two runs of the 2-rank training job and one 3-rank job, all at once: [job][rank]."""
    root = tmp_path_factory.mktemp("distributed")
    ports = free_ports(3)
    return finish_jobs([start_job("train", 2, root / "train0", ports[0]),
                        start_job("train", 2, root / "train1", ports[1]),
                        start_job("invariance", 3, root / "invariance", ports[2])])


@pytest.fixture(scope="module")
def two_runs(jobs):
    return jobs[:2]


@pytest.fixture(scope="module")
def three_ranks(jobs):
    return jobs[2]


def equal_lists(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_ranks_start_with_identical_weights_without_a_broadcast(two_runs):
    rank0, rank1 = two_runs[0]
    assert equal_lists(rank0["train"]["initial"], rank1["train"]["initial"])  # recorded before DDP


def test_ddp_training_with_dropout_repeats(two_runs):
    for rank in range(2):
        first, second = two_runs[0][rank]["train"], two_runs[1][rank]["train"]
        assert equal_lists(first["final"], second["final"]) and first["loss"] == second["loss"]
    assert equal_lists(two_runs[0][0]["train"]["final"], two_runs[0][1]["train"]["final"])
    assert not equal_lists(two_runs[0][0]["train"]["initial"], two_runs[0][0]["train"]["final"])


def test_compiled_ddp_in_philox_blocks_draws_what_eager_draws(two_runs):
    # Per-rank dropout masks from rb's stream, the step compiled by Inductor: the same training as
    # the eager step (up to Inductor's rounding of the arithmetic), on every rank and run.
    for run in two_runs:
        for rank in run:
            eager, compiled = rank["compiled"][False], rank["compiled"][True]
            for e, c in zip(eager, compiled):
                torch.testing.assert_close(c, e, rtol=1e-9, atol=1e-12)


def test_per_rank_blocks_differ_across_ranks_and_repeat_across_runs(two_runs):
    probes = [[run[rank]["train"]["probes"] for rank in range(2)] for run in two_runs]
    assert torch.equal(probes[0][0], probes[1][0]) and torch.equal(probes[0][1], probes[1][1])
    assert (probes[0][0] != probes[0][1]).all()  # every step, every draw


def test_rank_comes_from_the_environment_then_from_torch_distributed(two_runs, three_ranks):
    for results in (two_runs[0], three_ranks):
        for r in results:
            expected = C.engine_mark(C.rank_key(C.derive_key(SEED, 7), r["rank"]), C.Engine.torch)
            assert r["key_from_environment"] == r["key_from_distributed"] == expected


def test_per_rank_blocks_of_a_group_take_the_rank_in_the_group(three_ranks):
    assert "not a member" in three_ranks[0]["group"]
    key = C.derive_key(SEED, 7)
    # torch.initial_seed() inside each: the engine mark of the key (Note [Engine mark]); global rank 1
    # is rank 0 of the group.
    assert three_ranks[1]["group"] == C.engine_mark(C.rank_key(key, 0), C.Engine.torch)
    assert three_ranks[2]["group"] == C.engine_mark(C.rank_key(key, 1), C.Engine.torch)


def test_check_consistent_names_the_rank_with_other_blocks_open(three_ranks):
    messages = {r["block_refusal"] for r in three_ranks}
    assert len(messages) == 1
    message = messages.pop()
    assert "open blocks differs from rank 0's on ranks [1]" in message
    assert str(rblock.path("step", 2)) in message


def test_set_rank_that_disagrees_with_torch_distributed_is_an_error(three_ranks):
    for r in three_ranks:
        assert f"torch.distributed says rank {r['rank']} of 3" in r["conflict"]


def test_worker_init_fn_gives_each_rank_and_worker_its_own_streams(two_runs):
    for run in two_runs:
        assert all(set(run[rank]["workers"]) == {0, 1} for rank in range(2))
    streams = [run[rank]["workers"][w] for run in two_runs for rank in range(2) for w in range(2)]
    first, second = streams[:4], streams[4:]
    for a, b in zip(first, second):  # the same in both runs
        assert torch.equal(a[0], b[0]) and a[1:] == b[1:]
    for i in range(4):  # 4 distinct streams, in torch, random and NumPy alike
        for j in range(i + 1, 4):
            assert not torch.equal(first[i][0], first[j][0])
            assert first[i][1] != first[j][1] and first[i][2] != first[j][2]


def test_check_consistent_names_the_rank_with_another_seed(two_runs, three_ranks):
    for results in (two_runs[0], three_ranks):
        odd = len(results) - 1
        messages = {r["refusal"] for r in results}
        assert len(messages) == 1, messages  # every rank raises the same error
        message = messages.pop()
        assert message is not None and "initial seed" in message
        assert f"on ranks [{odd}]" in message and str(SEED + 1) in message


def test_per_sample_augmentation_is_the_same_for_any_world_size_and_worker_count(
        two_runs, three_ranks):
    rblock.set_seed(SEED)
    world_1 = augmented_samples(world=1, rank=0, workers=0)
    assert len(world_1) == 2 * 24  # 2 epochs of 24 samples
    for results in (two_runs[0], three_ranks):  # (world 2, 2 workers), (world 3, 1 worker)
        union = {}
        for r in results:
            assert not set(union) & set(r["samples"])  # DistributedSampler: each sample once
            union.update(r["samples"])
        assert union.keys() == world_1.keys()
        assert all(torch.equal(union[k], world_1[k]) for k in world_1)
    assert not torch.equal(world_1[(0, 0)], world_1[(1, 0)])  # another epoch, another sample
