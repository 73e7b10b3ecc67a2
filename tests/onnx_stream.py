"""Streaming through an exported ONNX step graph, one step at a time (shared by the export tests)."""

import numpy as np


def run_stream(session, step, x) -> np.ndarray:
    """Feed ``x`` (B, T, ...) step by step through the onnxruntime ``session`` of ``step``'s graph
    (a :class:`seqbench.export.StepModule`), carrying its state; the outputs stacked over time."""
    state = [s.numpy() for s in step.initial_state(x.shape[0])]
    names = [i.name for i in session.get_inputs()]
    outs = []
    for t in range(x.shape[1]):
        y, *state = session.run(None, dict(zip(names, [x[:, t].numpy(), *state])))
        outs.append(y)
    return np.stack(outs, 1)
