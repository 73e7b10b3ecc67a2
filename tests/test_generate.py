"""seqbench.generate (seqbench.generation): sampling through the streaming path."""

import pytest
import torch

import seqbench
from seqbench.nn import make_model


def _lm(kind="tcn"):
    options = dict(channels=[6, 6], kernel_size=3) if kind == "tcn" else dict(hidden_size=6)
    return make_model(kind, input_size=9, head="lm", input_adapter="embedding", embedding_size=6, **options)


@pytest.mark.parametrize("kind", ["tcn", "gru", "transformer"])
def test_greedy_matches_full_forward_argmax(kind):
    model = _lm(kind).eval()
    prompt = torch.tensor([[1, 4, 2], [3, 3, 0]])
    out = seqbench.generate(model, prompt, 6, temperature=0)
    assert out.shape == (2, 6) and out.dtype == torch.long
    seq = prompt
    with torch.no_grad():
        for i in range(6):  # the slow way: rerun the whole sequence for each token
            nxt = model(seq)[:, -1].argmax(-1)
            assert torch.equal(nxt, out[:, i])
            seq = torch.cat([seq, nxt[:, None]], 1)


def test_seeded_sampling_is_deterministic_and_respects_top_k():
    model = _lm()
    a = seqbench.generate(model, torch.tensor([1, 2]), 30, seed=3)
    b = seqbench.generate(model, torch.tensor([1, 2]), 30, seed=3)
    c = seqbench.generate(model, torch.tensor([1, 2]), 30, seed=4)
    assert a.shape == (30,) and torch.equal(a, b) and not torch.equal(a, c)
    assert model.training  # mode restored
    top2 = seqbench.generate(model, torch.tensor([[1, 2]] * 3), 20, top_k=1, seed=0)
    assert torch.equal(top2, seqbench.generate(model, torch.tensor([[1, 2]] * 3), 20, temperature=0))


def test_generate_rejects_bad_arguments():
    model = _lm()
    with pytest.raises(ValueError, match="top_k"):
        seqbench.generate(model, torch.tensor([1]), 3, top_k=10)
    with pytest.raises(ValueError, match="temperature"):
        seqbench.generate(model, torch.tensor([1]), 3, temperature=-1.0)
    with pytest.raises(ValueError, match="prompt"):
        seqbench.generate(model, torch.tensor([], dtype=torch.long), 3)
    regression = make_model("tcn", input_size=2, output_size=1, channels=[4], kernel_size=2)
    with pytest.raises(ValueError, match="token model"):
        seqbench.generate(regression, torch.tensor([1]), 3)
