#!/usr/bin/python3
"""PyTorch peer of mixtrain's HRNet training step, for timing comparisons.

One step = forward, heatmap MSE against random targets, backward, AdamW step,
on the model of benchmarks/hrnet_reference.py (the same network as
mixtrain::model::hrnet). Warm-up steps are not timed. The last line printed is
JSON: {"median_step_s": ..., "config": {...}}.

    /usr/bin/python3 benchmarks/hrnet_step_peer.py --image_size 256 256 --batch_size 8 --threads 2

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hrnet_reference import CONFIGS, HRNet  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image_size", type=int, nargs=2, default=[256, 256], metavar=("W", "H"))
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--num_landmarks", type=int, default=17)
    p.add_argument("--in_channels", type=int, default=1, help="1 = grayscale, as mixtrain's default pipeline")
    p.add_argument("--model", choices=sorted(CONFIGS), default="w32")
    p.add_argument("--head_upsample", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true", help="forward under autocast to bfloat16")
    p.add_argument("--channels_last", action="store_true")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, or cuda[:N] (the GPU comparison with gpu_step_bench)")
    p.add_argument("--adamw", choices=["default", "for_loop", "foreach", "fused"], default="default",
                   help="AdamW's implementation (default: PyTorch's choice, foreach on CUDA)")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)  # explicit: the default would use every core
    torch.manual_seed(args.seed)
    cfg = dataclasses.replace(CONFIGS[args.model], head_upsample=args.head_upsample)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # as gpu_step_bench: the warm-up picks the kernels
    model = HRNet(cfg, args.num_landmarks, args.in_channels).to(device).train()
    stride = 2 if args.head_upsample else 4
    w, h = args.image_size
    x = torch.randn(args.batch_size, args.in_channels, h, w, device=device)
    target = torch.rand(args.batch_size, args.num_landmarks, (h + stride - 1) // stride, (w + stride - 1) // stride,
                        device=device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    impl = {"default": {}, "for_loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, **impl[args.adamw])

    def autocast():
        if args.bf16:
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            pred = model(x)
        loss = (pred.float() - target).square().mean()
        loss.backward()
        optimizer.step()
        return loss

    if cuda:  # as gpu_step_bench: one synchronisation around the timed steps, none inside them
        torch.cuda.reset_peak_memory_stats(device)
        for _ in range(args.warmup):
            step()
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(args.steps):
            loss = step()
        torch.cuda.synchronize(device)
        times = [(time.perf_counter() - start) / args.steps]
        print(f"{args.steps} steps: mean {times[0]:.4f} s, loss {loss.item():.6f}", file=sys.stderr)
    else:
        times = []
    for step_index in range(0 if cuda else args.warmup + args.steps):
        start = time.perf_counter()
        loss = step()
        elapsed = time.perf_counter() - start
        if step_index >= args.warmup:
            times.append(elapsed)
        print(f"step {step_index}: {elapsed:.3f} s, loss {loss.item():.6f}", file=sys.stderr)

    config = {
        "model": args.model, "image_size": [w, h], "batch_size": args.batch_size,
        "num_landmarks": args.num_landmarks, "in_channels": args.in_channels,
        "head_upsample": args.head_upsample, "threads": args.threads, "bf16": args.bf16,
        "channels_last": args.channels_last, "steps": args.steps, "warmup": args.warmup,
        "params": sum(t.numel() for t in model.parameters()), "torch": torch.__version__,
        "device": str(device), "adamw": args.adamw,
    }
    out = {"median_step_s": statistics.median(times) if times else None, "config": config}
    if cuda and times:
        out["images_per_second"] = args.batch_size / times[0]
        out["peak_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
