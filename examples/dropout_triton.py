"""A fused dropout-and-scale Triton kernel that draws its mask from the current rb block, checked
against rb's CPU mask of the same block (the Python twin of examples/dropout_kernel.cu).

    python3 examples/dropout_triton.py                      # on a GPU
    TRITON_INTERPRET=1 python3 examples/dropout_triton.py   # on the CPU, in Triton's interpreter

Element i takes word i % 4 of Philox output i // 4 (rb's mapping of 32-bit elements), so the
kernel draws what rb's generator draws for bernoulli_, and computes what rb's dropout computes.
"""

import os

import torch
import triton
import triton.language as tl

import rblock
import rblock.triton as rbt


@triton.jit
def dropout_kernel(x_ptr, out_ptr, mask_ptr, n, keep_threshold, scale,
                   key, base, domain, substream, BLOCK: tl.constexpr):
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)  # Philox output j: elements 4j .. 4j + 3
    words = rbt.draw4(key, base, domain, substream, j)
    for k in tl.static_range(4):
        i = 4 * j + k
        keep = rbt.bernoulli(words[k], keep_threshold)
        x = tl.load(x_ptr + i, mask=i < n)
        tl.store(out_ptr + i, x * tl.where(keep, scale, 0.0), mask=i < n)
        tl.store(mask_ptr + i, keep, mask=i < n)


def dropout(x, p, block=256):
    """Dropout with probability p of a contiguous float32 tensor, drawing from the current block."""
    n = x.numel()
    stream = rblock.reserve((n + 3) // 4)  # one Philox output per 4 elements; the stream moves on
    out = torch.empty_like(x)
    mask = torch.empty(x.shape, dtype=torch.bool, device=x.device)
    grid = (triton.cdiv((n + 3) // 4, block),)
    dropout_kernel[grid](x, out, mask, n, rbt.bernoulli_threshold(1 - p), rbt.dropout_scale(p),
                         *stream.args(), BLOCK=block)
    return out, mask


def main():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and os.environ.get("TRITON_INTERPRET") != "1":
        print("no CUDA device: run with TRITON_INTERPRET=1 to use Triton's interpreter on the CPU")
        return
    rblock.set_seed(42)
    x = torch.randn(100_003, device=device)
    with rblock.block(7, engine="philox"):
        out, mask = dropout(x, 0.3)
    # rb's generator of block 7, from its start, draws the same mask on the CPU, and rb's dropout
    # (torch's CPU dropout: x * bernoulli_(1 - p).div_(1 - p), Note [Dropout in a philox block])
    # gives the same output.
    noise = torch.empty_like(x, device="cpu").bernoulli_(0.7, generator=rblock.generator(7))
    same_mask = torch.equal(mask.cpu(), noise.bool())
    same_out = torch.equal(out.cpu(), x.cpu() * noise.div_(0.7))
    print(f"kept {mask.float().mean():.4f} of the elements; the kernel's mask equals rb's CPU "
          f"bernoulli_: {'yes' if same_mask else 'NO'}; its output rb's dropout: "
          f"{'yes' if same_out else 'NO'}")
    raise SystemExit(0 if same_mask and same_out else 1)


if __name__ == "__main__":
    main()
