#!/usr/bin/python3
"""The conventional PyTorch input pipeline for the same task, as the peer of
`<recipe> bench data` in benchmarks/compare_data.sh.

A torch.utils.data.Dataset over an Aariz-layout tree that does, per sample,
what a typical heatmap-landmark training script does:
  decode          cv2.imread(..., IMREAD_GRAYSCALE) at full resolution
  warp            letterbox (cv2.resize INTER_LINEAR + pad), then the
                  augmentation affine (rotation/scale/shift about the centre,
                  cv2.warpAffine INTER_LINEAR)
  rest            intensity augmentation (gamma, contrast, brightness) and
                  normalisation in float32, and 1/4-resolution Gaussian
                  heatmaps (separable: an outer product per landmark)
behind DataLoader(num_workers=N, prefetch_factor=2, persistent_workers=True).
The augmentation ranges are those of recipes/aariz_demo.cpp.

Memory: a sampler thread reads /proc/<pid>/smaps_rollup of the main process
and of every worker process (psutil finds the children) 20 times a second and
keeps the largest sums of RSS, PSS and dirty PSS. RSS summed over forked
workers counts the pages they share with the parent (the torch and cv2
libraries, inherited heap) once per process; PSS splits shared pages between the
processes that map them, other programs on the machine included, so it moves
with what else runs; dirty PSS (Pss_Dirty: heap, stacks, written pages, shared
ones split) counts what the pipeline itself wrote, each page once, whatever else
runs. peak_rss_mb is the RSS sum; the sum of each process's own VmHWM (an upper
bound) is printed too. Peaks shorter than 50 ms can be missed.

Prints, as its last line, one JSON object with the same keys as the C++
benchmark: images_per_s, peak_rss_mb, per_image_ms {decode, warp, rest, total}.

Run with /usr/bin/python3 (Debian's python3-torch, python3-opencv, python3-psutil).
"""
import argparse
import json
import math
import os
import sys
import threading
import time

import cv2
import numpy as np
import psutil
import torch
from torch.utils.data import DataLoader, Dataset

ANNOTATORS = ("Senior Orthodontists", "Junior Orthodontists")
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


def read_split(root, split):
    """(image paths, landmarks [N, L, 2] float32, present [N, L] float32) in file-name order."""
    image_dir = os.path.join(root, split, "Cephalograms")
    names = sorted(f for f in os.listdir(image_dir) if os.path.splitext(f)[1].lower() in EXTENSIONS)
    symbols = None
    paths, points, present = [], [], []
    for name in names:
        stem = os.path.splitext(name)[0]
        sums, counts = {}, {}
        for annotator in ANNOTATORS:
            path = os.path.join(root, split, "Annotations", "Cephalometric Landmarks", annotator, stem + ".json")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                data = json.load(f)
            for entry in data["landmarks"]:
                symbol = entry["symbol"]
                value = entry.get("value")
                sums.setdefault(symbol, [0.0, 0.0])
                counts.setdefault(symbol, 0)
                if value is not None:
                    sums[symbol][0] += float(value["x"])
                    sums[symbol][1] += float(value["y"])
                    counts[symbol] += 1
        if not sums:
            raise RuntimeError(f"{os.path.join(image_dir, name)}: no landmark annotation")
        if symbols is None:
            symbols = list(sums.keys())
        paths.append(os.path.join(image_dir, name))
        points.append([[sums[s][0] / max(counts[s], 1), sums[s][1] / max(counts[s], 1)] for s in symbols])
        present.append([1.0 if counts[s] > 0 else 0.0 for s in symbols])
    return paths, np.asarray(points, np.float32), np.asarray(present, np.float32)


class AarizHeatmapDataset(Dataset):
    def __init__(self, root, split, width, height, seed=0, stride=4, sigma=2.0, mean=0.5, std=0.25,
                 rotate_deg=8.0, scale=(0.9, 1.1), shift_fraction=0.04, brightness=0.1, contrast=0.15,
                 gamma=(0.8, 1.25)):
        self.paths, self.points, self.present = read_split(root, split)
        self.width, self.height = width, height
        self.seed, self.draws = seed, 0
        self.stride, self.sigma, self.mean, self.std = stride, sigma, mean, std
        self.rotate_deg, self.scale, self.shift_fraction = rotate_deg, scale, shift_fraction
        self.brightness, self.contrast, self.gamma = brightness, contrast, gamma
        self.hx = np.arange(width // stride, dtype=np.float32)
        self.hy = np.arange(height // stride, dtype=np.float32)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        self.draws += 1  # per worker process: a fresh stream for every draw of a sample
        rng = np.random.default_rng([self.seed, index, self.draws, os.getpid()])
        t0 = time.perf_counter()
        image = cv2.imread(self.paths[index], cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise RuntimeError(f"{self.paths[index]}: cannot decode image")
        t1 = time.perf_counter()

        # Letterbox: resize to fit, pad to the input size, centred.
        h, w = image.shape
        s = min(self.width / w, self.height / h)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        canvas = np.zeros((self.height, self.width), np.uint8)
        px, py = (self.width - nw) // 2, (self.height - nh) // 2
        canvas[py:py + nh, px:px + nw] = resized
        pts = self.points[index] * np.array([nw / w, nh / h], np.float32) + np.array([px, py], np.float32)
        # Augmentation affine about the centre.
        angle = rng.uniform(-self.rotate_deg, self.rotate_deg)
        zoom = rng.uniform(*self.scale)
        m = cv2.getRotationMatrix2D(((self.width - 1) / 2, (self.height - 1) / 2), angle, zoom)
        m[0, 2] += rng.uniform(-1, 1) * self.shift_fraction * self.width
        m[1, 2] += rng.uniform(-1, 1) * self.shift_fraction * self.height
        warped = cv2.warpAffine(canvas, m, (self.width, self.height), flags=cv2.INTER_LINEAR, borderValue=0)
        pts = pts @ m[:, :2].T.astype(np.float32) + m[:, 2].astype(np.float32)
        t2 = time.perf_counter()

        # Intensity augmentation and normalisation in float.
        x = warped.astype(np.float32) * (1.0 / 255.0)
        gamma = math.exp(rng.uniform(math.log(self.gamma[0]), math.log(self.gamma[1])))
        gain = 1.0 + self.contrast * rng.uniform(-1, 1)
        shift = self.brightness * rng.uniform(-1, 1)
        np.power(x, gamma, out=x)
        x -= 0.5
        x *= gain
        x += 0.5 + shift
        np.clip(x, 0.0, 1.0, out=x)
        x -= self.mean
        x *= 1.0 / self.std
        # Heatmaps at 1/stride resolution, one separable Gaussian per landmark.
        c = (pts + 0.5) / self.stride - 0.5
        inv = -0.5 / (self.sigma * self.sigma)
        gx = np.exp((self.hx[None, :] - c[:, 0:1]) ** 2 * inv)
        gy = np.exp((self.hy[None, :] - c[:, 1:2]) ** 2 * inv)
        heatmaps = gy[:, :, None] * gx[:, None, :]
        inside = (pts[:, 0] >= 0) & (pts[:, 1] >= 0) & (pts[:, 0] < self.width) & (pts[:, 1] < self.height)
        weight = self.present[index] * inside.astype(np.float32)
        t3 = time.perf_counter()
        return (torch.from_numpy(x)[None], torch.from_numpy(heatmaps.astype(np.float32, copy=False)),
                torch.from_numpy(pts.astype(np.float32)), torch.from_numpy(weight),
                torch.tensor([t1 - t0, t2 - t1, t3 - t2], dtype=torch.float64))


def read_rollup(pid):
    """(rss, pss, dirty) in bytes from /proc/<pid>/smaps_rollup, or zeros when gone."""
    rss = pss = dirty = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                elif line.startswith("Pss_Dirty:"):
                    dirty = int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return rss, pss, dirty


def vm_hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class MemorySampler(threading.Thread):
    def __init__(self, period=0.05):
        super().__init__(daemon=True)
        self.period = period
        self.me = psutil.Process()
        self.peak_rss = self.peak_pss = self.peak_dirty = 0
        self.pids = set()
        self.stop_event = threading.Event()

    def sample(self):
        try:
            pids = [self.me.pid] + [c.pid for c in self.me.children(recursive=True)]
        except psutil.Error:
            pids = [self.me.pid]
        self.pids.update(pids)
        rss = pss = dirty = 0
        for pid in pids:
            r, p, d = read_rollup(pid)
            rss += r
            pss += p
            dirty += d
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_dirty = max(self.peak_dirty, dirty)

    def run(self):
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.period)

    def stop(self):
        self.sample()
        hwm = sum(vm_hwm(pid) for pid in self.pids)
        self.stop_event.set()
        self.join()
        return hwm


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset_path", required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--image_size", type=int, nargs=2, default=[1024, 1024], metavar=("W", "H"))
    ap.add_argument("--batch_size", type=int, default=2)
    ap.add_argument("--num_workers", type=int, default=2)
    ap.add_argument("--prefetch_factor", type=int, default=2)
    ap.add_argument("--batches", type=int, default=40, help="timed batches")
    ap.add_argument("--warmup", type=int, default=2, help="untimed batches first (worker start-up)")
    ap.add_argument("--warm_epoch", action="store_true", help="run one untimed epoch first (the 'second epoch' case)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    sampler = MemorySampler()
    sampler.start()
    dataset = AarizHeatmapDataset(args.dataset_path, args.split, args.image_size[0], args.image_size[1], seed=args.seed)
    extra = {}
    if args.num_workers > 0:
        extra = dict(prefetch_factor=args.prefetch_factor, persistent_workers=True)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=args.num_workers,
                        drop_last=False, **extra)

    def batches():
        while True:
            for b in loader:
                yield b

    stream = batches()
    if args.warm_epoch:
        for _ in range(math.ceil(len(dataset) / args.batch_size)):
            next(stream)
    for _ in range(args.warmup):
        next(stream)
    images = 0
    stage = torch.zeros(3, dtype=torch.float64)
    started = time.perf_counter()
    for _ in range(args.batches):
        x, heatmaps, pts, weight, timing = next(stream)
        images += x.shape[0]
        stage += timing.sum(0)
    seconds = time.perf_counter() - started
    hwm_sum = sampler.stop()
    per = 1000.0 / max(images, 1)
    decode, warp, rest = (float(v) * per for v in stage)
    result = {
        "bench": "data",
        "impl": "torch_dataloader",
        "dataset_path": args.dataset_path,
        "split": args.split,
        "split_images": len(dataset),
        "num_landmarks": int(dataset.points.shape[1]),
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "num_workers": args.num_workers,
        "prefetch_factor": args.prefetch_factor if args.num_workers > 0 else None,
        "warm_epoch": args.warm_epoch,
        "batches": args.batches,
        "warmup": args.warmup,
        "images": images,
        "seconds": seconds,
        "images_per_s": images / seconds,
        "peak_rss_mb": sampler.peak_rss / 2**20,
        "peak_pss_mb": sampler.peak_pss / 2**20,
        "peak_dirty_mb": sampler.peak_dirty / 2**20,
        "sum_of_process_peak_rss_mb": hwm_sum / 2**20,
        "memory_method": "smaps_rollup of main + psutil children, summed, sampled at 20 Hz",
        "processes": len(sampler.pids),
        "per_image_ms": {"decode": decode, "warp": warp, "rest": rest, "total": decode + warp + rest},
    }
    print(f"torch DataLoader: {images} images {args.image_size[0]}x{args.image_size[1]}, batch {args.batch_size}, "
          f"{args.num_workers} workers: {result['images_per_s']:.1f} images/s, peak RSS {result['peak_rss_mb']:.0f} MiB "
          f"(PSS {result['peak_pss_mb']:.0f} MiB); per image {decode:.2f} ms decode + {warp:.2f} ms warp + "
          f"{rest:.2f} ms rest (worker time)")
    print(json.dumps(result), flush=True)
    # Persistent workers are shut down by the loader's destructor.
    del stream, loader


if __name__ == "__main__":
    sys.exit(main())
