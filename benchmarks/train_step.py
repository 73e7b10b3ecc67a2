"""Training-step speed of seqbench's TCN against its peers, measured interleaved in one run.

One step = zero_grad + forward + loss + backward + Adam step, for the five configurations
of the paper (shapes in ``CONFIGS``). Peers:

- ``chomp``: the paper's reference design, written here from its description (``nn.Conv1d``
  padding both sides, then a "chomp" that drops the future-side outputs; hook-style
  ``torch.nn.utils.weight_norm``), so the comparison depends on no outside code;
- ``pytorch-tcn``: the ``pytorch-tcn`` package (``pip install 'seqbench[bench]'``), if installed;
- ``lstm`` / ``gru``: torch's fused recurrent layers sized with ``match_parameters``.

All TCN variants start from the same weights; before any timing the benchmark asserts
that their outputs and gradients agree to 1e-5 (relative). Steps are then timed in
rounds, A B C ... then ... C B A, so slow drifts of the machine hit every model alike;
the ratio seqbench / peer is taken per round and its median reported.

    python benchmarks/train_step.py                 # all five, 7 rounds
    python benchmarks/train_step.py --quick         # smoke run, about a minute
    python benchmarks/train_step.py --configs adding,seq-mnist --rounds 9
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from seqbench.nn import SequenceModel, make_model, match_parameters  # noqa: E402

try:
    import pytorch_tcn
except ImportError:  # the "bench" extra is optional
    pytorch_tcn = None


@dataclass(frozen=True)
class Config:
    name: str
    batch: int
    seq_len: int
    model: dict  # make_model keyword arguments (kind excluded)
    loss: str  # "mse", "ce_last", "ce_steps", "bce"
    features: int  # input features, or vocabulary size for token inputs

    def batch_data(self, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        b, t = self.batch, self.seq_len
        out = self.model["output_size"] if "output_size" in self.model else self.features
        if self.model.get("input_adapter") == "embedding":
            x = torch.randint(0, self.features, (b, t), generator=g)
        elif self.name == "copy":  # one-hot symbols, as the copy-memory task feeds them
            x = F.one_hot(torch.randint(0, self.features, (b, t), generator=g), self.features).float()
        elif self.name == "jsb":  # piano rolls: binary notes
            x = (torch.rand(b, t, self.features, generator=g) < 0.1).float()
        else:
            x = torch.rand(b, t, self.features, generator=g)
        if self.loss == "mse":
            y = 2 * torch.rand(b, out, generator=g)  # adding targets lie in [0, 2]
        elif self.loss == "ce_last":
            y = torch.randint(0, out, (b,), generator=g)
        elif self.loss == "ce_steps":
            y = torch.randint(0, out, (b, t), generator=g)
        else:
            y = (torch.rand(b, t, out, generator=g) < 0.1).float()
        return x, y

    def loss_fn(self, out, y):
        if self.loss == "mse":
            return F.mse_loss(out, y)
        if self.loss == "ce_last":
            return F.cross_entropy(out, y)
        if self.loss == "ce_steps":
            return F.cross_entropy(out.reshape(-1, out.size(-1)), y.reshape(-1))
        return F.binary_cross_entropy_with_logits(out, y)


CONFIGS = {
    c.name: c
    for c in [
        Config("adding", 32, 600, dict(input_size=2, output_size=1, head="last", hidden_size=24, levels=8, kernel_size=8), "mse", 2),
        Config("copy", 32, 1000, dict(input_size=10, output_size=10, hidden_size=10, levels=8, kernel_size=8), "ce_steps", 10),
        Config("seq-mnist", 64, 784, dict(input_size=1, output_size=10, head="last", hidden_size=25, levels=8, kernel_size=7), "ce_last", 1),
        Config("jsb", 1, 100, dict(input_size=88, output_size=88, hidden_size=150, levels=2, kernel_size=3), "bce", 88),
        Config("char-ptb", 32, 400, dict(input_size=50, head="lm", input_adapter="embedding", embedding_size=100,
                                         channels=[450, 450, 100], kernel_size=3, tie_weights=True), "ce_steps", 50),
    ]
}


# ----------------------------------------------------------------------------- peers
class _Chomp(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x):
        return x[:, :, : -self.n].contiguous() if self.n else x


class _ChompBlock(nn.Module):
    def __init__(self, cin, cout, k, d) -> None:
        super().__init__()
        pad = (k - 1) * d
        wn = torch.nn.utils.weight_norm
        self.conv1 = wn(nn.Conv1d(cin, cout, k, padding=pad, dilation=d))
        self.conv2 = wn(nn.Conv1d(cout, cout, k, padding=pad, dilation=d))
        self.net = nn.Sequential(self.conv1, _Chomp(pad), nn.ReLU(), nn.Dropout(0.0),
                                 self.conv2, _Chomp(pad), nn.ReLU(), nn.Dropout(0.0))
        self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None
        self.relu = nn.ReLU()

    def forward(self, x):
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(self.net(x) + res)


class ChompTCN(nn.Module):
    """The paper's reference design: pad both sides, chomp, hook-style weight norm."""

    def __init__(self, input_size, channels, kernel_size) -> None:
        super().__init__()
        ins = [input_size] + list(channels[:-1])
        self.blocks = nn.ModuleList(_ChompBlock(i, o, kernel_size, 2**v) for v, (i, o) in enumerate(zip(ins, channels)))
        self.input_size, self.output_size = input_size, channels[-1]

    def forward(self, x, mask=None):
        h = x.transpose(1, 2)
        for b in self.blocks:
            h = b(h)
        return h.transpose(1, 2)


class PytorchTCN(nn.Module):
    """``pytorch_tcn.TCN`` configured as the paper's network, behind the encoder interface."""

    def __init__(self, input_size, channels, kernel_size) -> None:
        super().__init__()
        self.tcn = pytorch_tcn.TCN(input_size, list(channels), kernel_size=kernel_size, dropout=0.0, causal=True,
                                   use_norm="weight_norm", activation="relu", input_shape="NLC")
        self.input_size, self.output_size = input_size, channels[-1]

    def forward(self, x, mask=None):
        return self.tcn(x)


def _conv_params(block, name, hook_style):
    conv = getattr(block, name)
    if hook_style:
        return [conv.weight_g, conv.weight_v, conv.bias]
    w = conv.parametrizations.weight
    return [w.original0, w.original1, conv.bias]


def tcn_params(model: SequenceModel) -> list[torch.Tensor]:
    """The model's parameters in one canonical order, whichever TCN implementation it holds."""
    enc = model.encoder
    blocks = enc.tcn.network if isinstance(enc, PytorchTCN) else enc.blocks
    hook = isinstance(enc, ChompTCN)
    out = []
    for b in blocks:
        out += _conv_params(b, "conv1", hook) + _conv_params(b, "conv2", hook)
        if b.downsample is not None:
            out += [b.downsample.weight, b.downsample.bias]
    out += [p for p in model.adapter.parameters()] + [model.decoder.weight, model.decoder.bias]
    return out


def build_peers(cfg: Config, seed: int = 0, recurrent: bool = True) -> dict[str, SequenceModel]:
    torch.manual_seed(seed)
    kw = dict(cfg.model)
    ours = make_model("tcn", **kw)
    channels = ours.encoder.channels
    enc_in, k = ours.encoder.input_size, ours.encoder.kernel_size
    head_kw = dict(output_size=ours.output_size, head=ours.head, input_adapter=ours.input_adapter,
                   input_size=ours.input_size, tie_weights=ours.tie_weights)
    models = {"seqbench": ours, "chomp": SequenceModel(ChompTCN(enc_in, channels, k), **head_kw)}
    if pytorch_tcn is not None:
        models["pytorch-tcn"] = SequenceModel(PytorchTCN(enc_in, channels, k), **head_kw)
    with torch.no_grad():  # same weights everywhere
        src = tcn_params(ours)
        for name in ("chomp", "pytorch-tcn"):
            if name in models:
                dst = tcn_params(models[name])
                assert len(dst) == len(src), name
                for d, s in zip(dst, src):
                    d.copy_(s.view_as(d))
    if not recurrent:
        return models
    # recurrent peers of equal parameter count (untied: a tied decoder would fix their width)
    target = ours.num_parameters()
    rkw = {k_: v for k_, v in kw.items() if k_ not in ("hidden_size", "levels", "kernel_size", "channels", "tie_weights")}
    for kind in ("lstm", "gru"):
        h = match_parameters(kind, target, **rkw)
        models[kind] = make_model(kind, hidden_size=h, **rkw)
    return models


# ----------------------------------------------------------------------------- checks and measures
def check_agreement(cfg: Config, rtol: float = 1e-5) -> float:
    """Assert every TCN variant's output and gradients match seqbench's; return the worst error.

    The check runs on float64 copies built from the same seed as the timed models
    (hook-style weight norm cannot be deep-copied): in float32 the rounding of sums over 12,800 steps x
    450 channels (char-PTB) alone reaches ~1e-5, which would hide nothing but noise.
    """
    x, y = cfg.batch_data(1)
    x = x.double() if x.is_floating_point() else x
    y = y.double() if y.is_floating_point() else y
    results = {}
    for name, m in build_peers(cfg, recurrent=False).items():
        m = m.double()
        out = m(x)
        cfg.loss_fn(out, y).backward()
        results[name] = [out.detach()] + [p.grad.view(-1).clone() for p in tcn_params(m)]
    worst = 0.0
    ref = results["seqbench"]
    for name, got in results.items():
        for i, (a, b) in enumerate(zip(got, ref)):
            err = float((a - b).norm() / b.norm().clamp_min(1e-30))
            worst = max(worst, err)
            if err > rtol:
                raise AssertionError(f"{cfg.name}: {name} disagrees with seqbench on tensor {i} (rel. error {err:.2e})")
    return worst


def make_step(model, cfg: Config, x, y, fused: bool = False) -> Callable[[], None]:
    # fused=True: the single-kernel Adam that seqbench's training path uses, for every peer alike
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, fused=fused)

    def step():
        opt.zero_grad(set_to_none=True)
        cfg.loss_fn(model(x), y).backward()
        opt.step()

    return step


def dense_conv_flops(model: SequenceModel, cfg: Config) -> float:
    """Multiply-adds x 2 of every convolution's forward over every step (no chomped extras)."""
    enc = model.encoder
    total, cin = 0.0, enc.input_size
    for cout in enc.channels:
        total += 2.0 * cfg.batch * cfg.seq_len * cout * (cin + cout) * enc.kernel_size
        if cin != cout:
            total += 2.0 * cfg.batch * cfg.seq_len * cout * cin
        cin = cout
    return total


def useful_conv_flops(model: SequenceModel, cfg: Config) -> float:
    """Multiply-adds x 2 of the convolution outputs the loss depends on.

    Every step for a per-step head; for a last-step head (adding, seq-MNIST) only the
    outputs the last step reads, found by walking the taps back from it level by level.
    """
    enc = model.encoder
    t, k = cfg.seq_len, enc.kernel_size
    needed = set(range(t)) if model.per_step else {t - 1}
    cins = [enc.input_size] + list(enc.channels[:-1])
    total = 0.0
    for cin, cout, d in reversed(list(zip(cins, enc.channels, enc.dilations))):
        before_conv2 = {p - d * j for p in needed for j in range(k) if p - d * j >= 0}
        block_input = {p - d * j for p in before_conv2 for j in range(k) if p - d * j >= 0} | needed
        total += 2.0 * cfg.batch * k * (len(needed) * cout * cout + len(before_conv2) * cin * cout)
        if cin != cout:
            total += 2.0 * cfg.batch * len(needed) * cin * cout
        needed = block_input
    return total


def matmul_gflops(n: int) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = time.perf_counter()
    torch.mm(a, b)
    return 2 * n**3 / (time.perf_counter() - t) / 1e9


def peak_step_memory(step) -> float | None:
    """Bytes allocated at the high point of one step beyond what existed before (torch profiler)."""
    try:
        from torch.profiler import ProfilerActivity, profile
        from torch.profiler._memory_profiler import Action

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof:
                step()
            cur = peak = 0
            for _, action, _, size in prof._memory_profile().timeline:
                if action == Action.CREATE:
                    cur += size
                elif action == Action.DESTROY:
                    cur -= size
                peak = max(peak, cur)
        return float(peak)
    except Exception:  # a private profiler API: report n/a rather than fail the benchmark
        return None


def run_config(cfg: Config, rounds: int, warmup: int, peak_n: int, recurrent: bool, fused: bool = False) -> dict:
    models = build_peers(cfg)
    if not recurrent:
        models = {k: v for k, v in models.items() if k not in ("lstm", "gru")}
    worst = check_agreement(cfg)
    x, y = cfg.batch_data(0)
    steps = {name: make_step(m, cfg, x, y, fused) for name, m in models.items()}
    names = list(steps)
    for _ in range(warmup):
        for n in names:
            steps[n]()
    # short steps (JSB) are repeated inside a sample so each sample lasts >= ~50 ms
    # (the fastest of a few single steps: one step taken during a load spike would set reps = 1)
    single = []
    for _ in range(5):
        t = time.perf_counter()
        steps["seqbench"]()
        single.append(time.perf_counter() - t)
    reps = max(1, int(0.05 / max(min(single), 1e-6)))
    times = {n: [] for n in names}
    peaks = []
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for n in order:
            t = time.perf_counter()
            for _ in range(reps):
                steps[n]()
            times[n].append((time.perf_counter() - t) / reps * 1e3)
        peaks.append(matmul_gflops(peak_n))
    memory = {n: peak_step_memory(steps[n]) for n in names}
    params = {n: m.num_parameters() for n, m in models.items()}
    return dict(cfg=cfg, times=times, peaks=peaks, memory=memory, params=params, worst=worst,
                flops=useful_conv_flops(models["seqbench"], cfg), dense=dense_conv_flops(models["seqbench"], cfg),
                reps=reps)


def report(res: dict) -> str:
    cfg, times, flops = res["cfg"], res["times"], res["flops"]
    peak = statistics.median(res["peaks"])
    med = {n: statistics.median(v) for n, v in times.items()}
    floor_ms = 3 * flops / (peak * 1e9) * 1e3
    dense_ms = 3 * res["dense"] / (peak * 1e9) * 1e3
    floors = f"floor {floor_ms:.1f} ms" if res["dense"] == flops else \
        f"floor {floor_ms:.1f} ms (the outputs the last step reads; {dense_ms:.1f} ms for every step of every layer)"
    lines = [f"\n## {cfg.name}  (B={cfg.batch}, T={cfg.seq_len}; matmul peak this run {peak:.0f} GFLOP/s median; "
             f"{floors}; outputs/gradients agree to {res['worst']:.1e}; {len(res['peaks'])} rounds x {res['reps']} steps)",
             "| model | params | median ms | seqbench / peer (median per round) | useful GFLOP/s | x floor | peak step MB |",
             "|---|---|---|---|---|---|---|"]
    for n in times:
        ratio = statistics.median(a / b for a, b in zip(times[n], times["seqbench"])) if n != "seqbench" else 1.0
        conv = n in ("seqbench", "chomp", "pytorch-tcn")
        gfs = f"{3 * flops / (med[n] * 1e-3) / 1e9:.1f}" if conv else "-"
        xfloor = f"{med[n] / floor_ms:.2f}" if conv else "-"
        mem = res["memory"][n]
        lines.append(f"| {n} | {res['params'][n]:,} | {med[n]:.1f} | {'-' if n == 'seqbench' else f'{ratio:.2f}x faster'} "
                     f"| {gfs} | {xfloor} | {'n/a' if mem is None else f'{mem / 2**20:.1f}'} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default=None, help=f"comma-separated subset of {','.join(CONFIGS)}")
    p.add_argument("--rounds", type=int, default=None, help="timed rounds (default 7; 3 with --quick)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="smoke run: adding and jsb, 3 rounds, no recurrent peers")
    p.add_argument("--no-recurrent", action="store_true", help="skip the LSTM/GRU peers")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--keep-denormal", action="store_true",
                   help="keep subnormal floats (by default they are flushed to zero for every model, as the "
                        "training path does: recurrent backward passes are several times slower in that range)")
    p.add_argument("--fused-adam", action="store_true",
                   help="every model steps with the fused Adam kernel (what seqbench's training path uses)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.set_flush_denormal(not a.keep_denormal)
    names = a.configs.split(",") if a.configs else (["adding", "jsb"] if a.quick else list(CONFIGS))
    for n in names:
        if n not in CONFIGS:
            p.error(f"unknown config {n!r}; choose from {', '.join(CONFIGS)}")
    rounds = a.rounds or (3 if a.quick else 7)
    if rounds < 1:
        p.error("--rounds must be >= 1")
    warmup = 1 if a.quick else a.warmup
    print(f"# training step: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"pytorch-tcn {getattr(pytorch_tcn, '__version__', 'installed') if pytorch_tcn else 'not installed'}, "
          f"load average {os.getloadavg()[0]:.2f}, subnormals {'kept' if a.keep_denormal else 'flushed'}")
    print(f"# {' '.join(sys.argv)}")
    for n in names:
        res = run_config(CONFIGS[n], rounds, warmup, 1024 if a.quick else 2048, not (a.quick or a.no_recurrent),
                         a.fused_adam)
        print(report(res), flush=True)
    print(f"\n# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
