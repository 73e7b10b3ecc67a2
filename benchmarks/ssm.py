"""The state-space kind (``ssm``) beside the TCN and the LSTM, measured as interleaved ratios in one run.

Three parts:

- ``train``: one training step (zero_grad + forward + loss + backward + Adam) of a parameter-matched
  SSM against seqbench's TCN, on the paper configurations of ``train_step.py`` (same batches,
  same losses). Rounds alternate the order (TCN SSM, SSM TCN, ...); the ratio SSM / TCN is
  taken per round and its median reported.
- ``length``: the cost of one layer's parallel form as the length T grows (forward + backward,
  B=16, H=64, N=32): the chunked scan seqbench uses against an FFT convolution with the
  length-T kernel (S4D's), with the time ratio per round and each one's peak memory. The FFT
  form's largest gradient from a later input is printed too: the reason it is not used.
- ``stream``: one streaming step of the SSM against the TCN's and the LSTM's (``model.step``),
  on ``streaming.py``'s seq-MNIST and char-PTB configurations, batch 1 and 32.

    PYTHONPATH=src python benchmarks/ssm.py                  # all three, 7 rounds
    PYTHONPATH=src python benchmarks/ssm.py --quick          # 3 rounds, fewer configurations
    PYTHONPATH=src python benchmarks/ssm.py --parts train --configs adding,seq-mnist
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))
from seqbench.nn import make_model, match_parameters  # noqa: E402
from seqbench.nn.ssm import DiagonalSSM, discrete_powers, chunked_diagonal_ssm  # noqa: E402
from streaming import CONFIGS as STREAM_CONFIGS, _timed  # noqa: E402
from train_step import CONFIGS, make_step, peak_step_memory  # noqa: E402

SHAPE_ONLY = ("hidden_size", "levels", "kernel_size", "channels", "tie_weights")


def matched_ssm(tcn_options: dict, target: int):
    """An SSM of the TCN's adapter and head, matched to ``target`` parameters (untied decoder, as the LSTM's)."""
    options = {k: v for k, v in tcn_options.items() if k not in SHAPE_ONLY}
    return make_model("ssm", hidden_size=match_parameters("ssm", target, **options), **options)


def interleaved(steps: dict, rounds: int, reps: int) -> dict[str, list[float]]:
    """Milliseconds per call of each function, per round; the order alternates between rounds."""
    times = {name: [] for name in steps}
    for r in range(rounds):
        for name in (list(steps) if r % 2 == 0 else list(steps)[::-1]):
            t = time.perf_counter()
            for _ in range(reps):
                steps[name]()
            times[name].append((time.perf_counter() - t) / reps * 1e3)
    return times


def ratio(times: dict, a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


# ----------------------------------------------------------------------------- training step
def train_part(names: list[str], rounds: int) -> None:
    print("\n## Training step: SSM beside seqbench's TCN (paper configurations)")
    print("| config | TCN params | SSM params (hidden, layers, state) | TCN ms | SSM ms | SSM / TCN (median per round) "
          "| TCN peak MB | SSM peak MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        cfg = CONFIGS[name]
        torch.manual_seed(0)
        tcn = make_model("tcn", **cfg.model)
        ssm = matched_ssm(cfg.model, tcn.num_parameters())
        x, y = cfg.batch_data(0)
        steps = {"tcn": make_step(tcn, cfg, x, y), "ssm": make_step(ssm, cfg, x, y)}
        for step in steps.values():  # warm-up
            step()
        single = min(_timed(steps["tcn"], 3), _timed(steps["ssm"], 3))
        times = interleaved(steps, rounds, max(1, int(0.05 / max(single, 1e-6))))
        memory = {n: peak_step_memory(s) for n, s in steps.items()}
        mb = lambda n: "n/a" if memory[n] is None else f"{memory[n] / 2**20:.1f}"  # noqa: E731
        enc = ssm.encoder
        print(f"| {name} (B={cfg.batch}, T={cfg.seq_len}) | {tcn.num_parameters():,} | {ssm.num_parameters():,} "
              f"({enc.hidden_size}, {enc.num_layers}, {enc.state_size}) | {statistics.median(times['tcn']):.1f} | "
              f"{statistics.median(times['ssm']):.1f} | {ratio(times, 'ssm', 'tcn'):.2f} | {mb('tcn')} | {mb('ssm')} |",
              flush=True)


# ----------------------------------------------------------------------------- cost against length
def fft_diagonal_ssm(layer: DiagonalSSM, u: torch.Tensor) -> torch.Tensor:
    """S4D's parallel form: the length-T kernel, then a causal convolution by FFT (zero-padded to 2T)."""
    log_decay, angle, b_bar = layer.discretised()
    time_ = u.size(1)
    pr, pi = discrete_powers(log_decay[..., None], angle[..., None], torch.arange(time_, dtype=u.dtype))
    c, b = layer.c, b_bar
    cb_r = c[..., 0] * b[..., 0] - c[..., 1] * b[..., 1]
    cb_i = c[..., 0] * b[..., 1] + c[..., 1] * b[..., 0]
    kernel = 2 * (cb_r[..., None] * pr - cb_i[..., None] * pi).sum(1)  # (H, T)
    spectrum = torch.fft.rfft(u.transpose(1, 2), n=2 * time_) * torch.fft.rfft(kernel, n=2 * time_)
    return torch.fft.irfft(spectrum, n=2 * time_)[..., :time_].transpose(1, 2) + layer.d * u


def future_gradient(form, layer: DiagonalSSM, length: int = 256) -> float:
    """The largest |d y[t] / d u[s]| over s > t, relative to the largest over s <= t (float64)."""
    layer = layer.double()
    u = torch.randn(2, length, layer.channels, dtype=torch.float64, requires_grad=True)
    t = length // 2
    (grad,) = torch.autograd.grad(form(layer, u)[:, t].sum(), u)
    return float(grad[:, t + 1:].abs().max() / grad[:, : t + 1].abs().max())


def chunked_form(layer: DiagonalSSM, u: torch.Tensor) -> torch.Tensor:
    return layer(u)


def length_part(lengths: list[int], rounds: int, batch: int = 16, channels: int = 64, state: int = 32) -> None:
    torch.manual_seed(0)
    layer = DiagonalSSM(channels, state)
    check = torch.randn(2, 300, channels, dtype=torch.float64)
    err = (fft_diagonal_ssm(layer.double(), check) - layer.double()(check)).abs().max().item()
    layer = layer.float()
    print(f"\n## One layer's parallel form against the length T (forward + backward, B={batch}, H={channels}, "
          f"N={state}, chunk {layer.chunk_size}; the two forms agree to {err:.1e} in float64)")
    print(f"largest gradient from a later input, relative: chunked scan "
          f"{future_gradient(chunked_form, DiagonalSSM(8, 8)):.1e}, FFT {future_gradient(fft_diagonal_ssm, DiagonalSSM(8, 8)):.1e}")
    print("| T | chunked ms | FFT ms | chunked / FFT (median per round) | chunked ms per 1k steps | chunked peak MB "
          "| FFT peak MB |")
    print("|---|---|---|---|---|---|---|")
    for length in lengths:
        u = torch.randn(batch, length, channels, requires_grad=True)

        def run(form):
            def step():
                u.grad = None
                form(layer, u).square().mean().backward()
            return step

        steps = {"chunked": run(chunked_form), "fft": run(fft_diagonal_ssm)}
        for step in steps.values():
            step()
        single = min(_timed(steps["chunked"], 2), _timed(steps["fft"], 2))
        times = interleaved(steps, rounds, max(1, int(0.05 / max(single, 1e-6))))
        memory = {n: peak_step_memory(s) for n, s in steps.items()}
        mb = lambda n: "n/a" if memory[n] is None else f"{memory[n] / 2**20:.1f}"  # noqa: E731
        chunked = statistics.median(times["chunked"])
        print(f"| {length:,} | {chunked:.1f} | {statistics.median(times['fft']):.1f} | "
              f"{ratio(times, 'chunked', 'fft'):.2f} | {chunked / length * 1e3:.1f} | {mb('chunked')} | {mb('fft')} |",
              flush=True)


# ----------------------------------------------------------------------------- streaming step
def stream_part(names: list[str], rounds: int, steps: int) -> None:
    print(f"\n## Streaming step (model.step, state carried; {steps} steps per round, median)")
    print("| config | batch | TCN us | LSTM us | SSM us | SSM / TCN | SSM / LSTM | SSM state bytes |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        tcn_options, shared, tokens = STREAM_CONFIGS[name]
        torch.manual_seed(0)
        tcn = make_model("tcn", **tcn_options).eval()
        target = tcn.num_parameters()
        lstm = make_model("lstm", hidden_size=match_parameters("lstm", target, **shared), **shared).eval()
        ssm = make_model("ssm", hidden_size=match_parameters("ssm", target, **shared), **shared).eval()
        models = {"tcn": tcn, "lstm": lstm, "ssm": ssm}
        for batch in (1, 32):
            x = torch.randint(0, tcn_options["input_size"], (batch,)) if tokens else torch.randn(batch, shared["input_size"])
            box = {n: m.init_state(batch) for n, m in models.items()}

            def stepper(n):
                def step():
                    _, box[n] = models[n].step(x, box[n])
                return step

            fns = {n: stepper(n) for n in models}
            per_round = {n: [] for n in models}
            with torch.inference_mode():
                for fn in fns.values():
                    _timed(fn, max(2, steps // 5))
                for r in range(rounds):
                    for n in (list(fns) if r % 2 == 0 else list(fns)[::-1]):
                        per_round[n].append(_timed(fns[n], steps) * 1e6)
            med = {n: statistics.median(v) for n, v in per_round.items()}
            print(f"| {name} ({target:,} params; SSM h={ssm.encoder.hidden_size}) | {batch} | {med['tcn']:.0f} | "
                  f"{med['lstm']:.0f} | {med['ssm']:.0f} | {ratio(per_round, 'ssm', 'tcn'):.2f} | "
                  f"{ratio(per_round, 'ssm', 'lstm'):.2f} | {box['ssm'].modes.numel() * 4:,} |", flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="train,length,stream", help="comma-separated: train, length, stream")
    p.add_argument("--configs", default=None, help=f"training configurations, of {','.join(CONFIGS)}")
    p.add_argument("--lengths", default=None, help="lengths of the length part (default 256,1024,4096,16384)")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7; 3 with --quick)")
    p.add_argument("--quick", action="store_true", help="3 rounds, adding and jsb, lengths up to 4096")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)  # as the training path does
    parts = a.parts.split(",")
    unknown = set(parts) - {"train", "length", "stream"}
    if unknown:
        p.error(f"unknown part(s) {', '.join(sorted(unknown))}")
    rounds = a.rounds or (3 if a.quick else 7)
    if rounds < 1:
        p.error("--rounds must be >= 1")
    names = a.configs.split(",") if a.configs else (["adding", "jsb"] if a.quick else list(CONFIGS))
    for n in names:
        if n not in CONFIGS:
            p.error(f"unknown config {n!r}; choose from {', '.join(CONFIGS)}")
    lengths = [int(v) for v in a.lengths.split(",")] if a.lengths else \
        ([256, 1024, 4096] if a.quick else [256, 1024, 4096, 16384])
    print(f"# ssm benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, {rounds} rounds, load average {os.getloadavg()[0]:.2f}")
    print(f"# {' '.join(sys.argv)}")
    if "train" in parts:
        train_part(names, rounds)
    if "length" in parts:
        length_part(lengths, rounds)
    if "stream" in parts:
        stream_part(list(STREAM_CONFIGS), rounds, 40 if a.quick else 200)
    print(f"\n# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
