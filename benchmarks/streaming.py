"""Per-step latency of streaming inference, measured as interleaved ratios in one run.

For each configuration and batch size, times one new output step of:
  stream   - model.step with the carried TCN state (per-convolution slot buffers, folded
             weights, precomputed views: two addmm, an add and three ReLUs per level)
  window   - recomputing the receptive-field window with the full forward (every step's
             output, then the head on the last: what a naive server does)
  last     - recomputing only the last step from the window (TCN.forward_last: each level
             on its dilation's lattice, the fewest FLOPs a recompute can do)
  lstm     - Recurrent.step of a parameter-matched LSTM SequenceModel (same adapter/head)
  nn.LSTM  - a bare torch nn.LSTM of that hidden size, one step with (h, c) carried
  transformer - Transformer.step of a parameter-matched causal Transformer (2 layers, 4 heads)
             whose key/value cache already holds a receptive field of steps (it grows by
             one per step: a Transformer's step reads its whole context, the TCN's does not)
Rounds alternate the order of the methods; each method's time in a round is the median
of its steps; ratios are taken per round, and the table shows their medians.

    PYTHONPATH=src python benchmarks/streaming.py [--quick] [--threads N] [--configs seq-MNIST char-PTB]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from seqbench.nn import make_model, match_parameters, match_transformer
from seqbench.nn.streaming import state_nbytes

CONFIGS = {
    # name: (TCN options, LSTM options shared with match_parameters, token input?)
    "seq-MNIST": (
        dict(input_size=1, output_size=10, head="last", hidden_size=25, levels=8, kernel_size=7),
        dict(input_size=1, output_size=10, head="last"),
        False,
    ),
    "char-PTB": (
        dict(input_size=50, head="lm", input_adapter="embedding", embedding_size=100,
             channels=[450, 450, 100], kernel_size=3, tie_weights=True),
        dict(input_size=50, head="lm", input_adapter="embedding", embedding_size=100),
        True,
    ),
}


def _timed(fn, steps: int) -> float:
    """Median seconds per call of ``fn`` over ``steps`` calls."""
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_config(name: str, batch: int, rounds: int, steps: int) -> dict:
    tcn_opts, lstm_opts, tokens = CONFIGS[name]
    torch.manual_seed(0)
    tcn = make_model("tcn", **tcn_opts).eval()
    hidden = match_parameters("lstm", tcn.num_parameters(), **lstm_opts)
    lstm = make_model("lstm", hidden_size=hidden, **lstm_opts).eval()
    bare = torch.nn.LSTM(lstm.encoder.input_size, hidden, batch_first=True).eval()
    transformer = make_model("transformer", **match_transformer(tcn.num_parameters(), **lstm_opts), **lstm_opts).eval()
    rf = tcn.receptive_field

    def draw(length=None):
        if tokens:
            shape = (batch,) if length is None else (batch, length)
            return torch.randint(0, tcn_opts["input_size"], shape)
        shape = (batch, tcn_opts["input_size"]) if length is None else (batch, length, tcn_opts["input_size"])
        return torch.randn(shape)

    x_t, window = draw(), draw(rf)
    x_bare = torch.randn(batch, 1, lstm.encoder.input_size)
    box = {"tcn": tcn.init_state(batch), "lstm": lstm.init_state(batch),
           "bare": (torch.zeros(1, batch, hidden), torch.zeros(1, batch, hidden)),
           "transformer": transformer.init_state(batch)}
    with torch.inference_mode():  # the cache holds a receptive field of context before timing starts
        for t in range(rf):
            _, box["transformer"] = transformer.step(window[:, t], box["transformer"])

    # the streamed output must be the window's output (same model, same inputs)
    with torch.no_grad():
        state = tcn.init_state(batch)
        for t in range(rf):
            y, state = tcn.step(window[:, t], state)
        full = tcn(window)
        full = full[:, -1] if full.dim() == 3 else full
        err = (y - full).abs().max().item()
        assert err < 1e-4, f"{name}: streamed output differs from the window's by {err}"
        last = tcn.decoder(tcn.encoder.forward_last(tcn.adapter(window)))
        err = (last - full).abs().max().item()
        assert err < 1e-4, f"{name}: the last-step recompute differs from the full forward's by {err}"

    def stream():
        _, box["tcn"] = tcn.step(x_t, box["tcn"])

    def recompute():
        h = tcn.encoder(tcn.adapter(window))
        tcn.decoder(h[:, -1])

    def recompute_last():
        tcn.decoder(tcn.encoder.forward_last(tcn.adapter(window)))

    def lstm_step():
        _, box["lstm"] = lstm.step(x_t, box["lstm"])

    def bare_step():
        _, box["bare"] = bare(x_bare, box["bare"])

    def transformer_step():
        _, box["transformer"] = transformer.step(x_t, box["transformer"])

    methods = {"stream": (stream, steps), "window": (recompute, max(2, steps // 50)),
               "last": (recompute_last, max(2, steps // 10)),
               "lstm": (lstm_step, steps), "nn.LSTM": (bare_step, steps), "transformer": (transformer_step, steps)}
    per_round = {k: [] for k in methods}
    with torch.inference_mode():
        for fn, n in methods.values():  # warm-up
            _timed(fn, max(2, n // 5))
        for r in range(rounds):
            order = list(methods) if r % 2 == 0 else list(reversed(methods))
            for k in order:
                fn, n = methods[k]
                per_round[k].append(_timed(fn, n))
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(per_round[a], per_round[b]))  # noqa: E731
    return {
        "config": name, "batch": batch, "rf": rf, "params": tcn.num_parameters(),
        "lstm_hidden": hidden, "lstm_params": lstm.num_parameters(),
        **{f"{k}_us": statistics.median(v) * 1e6 for k, v in per_round.items()},
        "window/stream": ratio("window", "stream"),
        "last/stream": ratio("last", "stream"),
        "stream/lstm": ratio("stream", "lstm"),
        "stream/nn.LSTM": ratio("stream", "nn.LSTM"),
        "stream/transformer": ratio("stream", "transformer"), "transformer_params": transformer.num_parameters(),
        "state_bytes": state_nbytes(box["tcn"]),
        "lstm_state_bytes": state_nbytes(box["lstm"]),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds of few steps")
    # one thread by default: a step is a chain of tiny ops, and on a shared machine a
    # second thread mostly adds barrier waits
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, steps = (3, 40) if args.quick else (7, 200)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {rounds} interleaved rounds, "
          f"{steps} steps per round (window: {max(2, steps // 50)})")
    rows = [bench_config(c, b, rounds, steps) for c in args.configs for b in (1, 32)]
    header = ("| config | batch | stream us | window us | window, last step only us | Recurrent.step (LSTM) us | "
              "nn.LSTM us | Transformer.step (cache of RF steps) us | window / stream | last step only / stream | "
              "stream / LSTM step | stream / nn.LSTM | stream / Transformer step | "
              "stream us per sequence | TCN state bytes | LSTM state bytes |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        print(f"| {r['config']} (RF {r['rf']}, {r['params']:,} params; LSTM h={r['lstm_hidden']}) | {r['batch']} | "
              f"{r['stream_us']:.0f} | {r['window_us']:.0f} | {r['last_us']:.0f} | {r['lstm_us']:.0f} | "
              f"{r['nn.LSTM_us']:.0f} | {r['transformer_us']:.0f} | {r['window/stream']:.1f}x | {r['last/stream']:.1f}x | "
              f"{r['stream/lstm']:.2f} | {r['stream/nn.LSTM']:.2f} | {r['stream/transformer']:.3g} | "
              f"{r['stream_us'] / r['batch']:.1f} | {r['state_bytes']:,} | {r['lstm_state_bytes']:,} |")


if __name__ == "__main__":
    main()
