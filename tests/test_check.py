"""seqbench.check: each deliberately broken module is caught with the right diagnosis, each correct one passes."""

import json
import time

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

import seqbench
from seqbench.nn import TCN, make_model, receptive_field


@pytest.fixture(autouse=True)
def _one_thread():
    # the check's tensors are small: one thread is what `seqbench check` runs with, and two on a
    # busy 2-core machine ran these tests up to 70x slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- modules under check


class ConvStack(nn.Module):
    """Batch-first stack of dilated convolutions, ReLU between; ``left`` zeros before each, ``right`` after.

    ``left=(k-1)*d, right=0`` is causal; ``left=right=(k-1)*d//2`` is "same" padding claimed causal.
    """

    def __init__(self, input_size, kernel_size, dilations, symmetric=False, width=8):
        super().__init__()
        self.input_size = input_size
        self.convs = nn.ModuleList(nn.Conv1d(i, width, kernel_size, dilation=d)
                                   for i, d in zip([input_size] + [width] * (len(dilations) - 1), dilations))
        totals = [(kernel_size - 1) * d for d in dilations]
        self.pads = [(n // 2, n - n // 2) if symmetric else (n, 0) for n in totals]

    def forward(self, x):
        h = x.transpose(1, 2)
        for conv, pad in zip(self.convs, self.pads):
            h = torch.relu(conv(F.pad(h, pad)))
        return h.transpose(1, 2)


class MaskedSameConv(nn.Module):
    """A non-causal ("same") convolution told about padding by a mask; ``leaky`` ignores the mask."""

    def __init__(self, input_size=2, leaky=False):
        super().__init__()
        self.conv, self.leaky = nn.Conv1d(input_size, 4, 5, padding=2), leaky

    def forward(self, x, mask=None):
        if mask is not None and not self.leaky:
            x = x * mask.unsqueeze(-1).to(x.dtype)  # padding reads as the zeros past the end
        return self.conv(x.transpose(1, 2)).transpose(1, 2)


class StreamingConv(nn.Module):
    """A causal kernel-3 convolution with a step API; ``forgetful`` keeps one past input instead of two."""

    def __init__(self, input_size=2, forgetful=False):
        super().__init__()
        self.input_size, self.forgetful = input_size, forgetful
        self.conv = nn.Conv1d(input_size, 3, 3)

    def forward(self, x):
        return self.conv(F.pad(x.transpose(1, 2), (2, 0))).transpose(1, 2)

    def init_state(self, batch_size):
        return torch.zeros(batch_size, self.input_size, 2, dtype=self.conv.weight.dtype)

    def step(self, x, state):
        window = torch.cat([state, x.unsqueeze(-1)], -1)  # (B, C, 3): t-2, t-1, t
        y = self.conv(window)[..., 0]
        if self.forgetful:  # the bug: the buffer never keeps step t-1 for the next step
            return y, torch.cat([state[..., 1:], torch.zeros_like(x).unsqueeze(-1)], -1)
        return y, window[..., 1:]


class Chomp1d(nn.Module):
    def __init__(self, chomp):
        super().__init__()
        self.chomp = chomp

    def forward(self, x):
        return x[:, :, : -self.chomp].contiguous()


class ReferenceTCN(nn.Module):
    """The official code's TCN (locuslab/TCN, tcn.py): channels-first, Conv1d padded both sides + chomp."""

    def __init__(self, input_size, channels, kernel_size):
        super().__init__()
        blocks = []
        for i, out in enumerate(channels):
            cin, d = (input_size if i == 0 else channels[i - 1]), 2**i
            pad = (kernel_size - 1) * d
            net = nn.Sequential(
                weight_norm(nn.Conv1d(cin, out, kernel_size, padding=pad, dilation=d)), Chomp1d(pad), nn.ReLU(),
                nn.Dropout(0.2),
                weight_norm(nn.Conv1d(out, out, kernel_size, padding=pad, dilation=d)), Chomp1d(pad), nn.ReLU(),
                nn.Dropout(0.2))
            blocks.append(nn.ModuleDict({"net": net, "down": nn.Conv1d(cin, out, 1) if cin != out else nn.Identity()}))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):  # (B, C, T) -> (B, C_out, T)
        for b in self.blocks:
            x = torch.relu(b["net"](x) + b["down"](x))
        return x


# ----------------------------------------------------------------------------- causality


def test_symmetric_padding_claimed_causal_is_caught_with_its_first_leaking_offset():
    report = seqbench.check(ConvStack(2, 3, [1, 2], symmetric=True), causal=True)
    c = report.causality
    assert not c.causal and c.holds is False and report.failures == ["causality"] and not report.ok
    assert c.largest_change > 1e-3 and c.gradient_leak > 0
    # each convolution reads (k-1)*d/2 steps ahead: 1 + 2
    assert (c.first_leak_offset, c.future_reach) == (1, 3)
    assert "NOT causal" in report.summary() and "+1" in report.summary()


def test_causal_conv_stack_passes():
    report = seqbench.check(ConvStack(2, 3, [1, 2]), causal=True, expect_rf=1 + 2 * 1 + 2 * 2)
    assert report.ok and report.causality.causal and report.causality.first_leak_offset is None
    assert report.receptive_field.history == 7 and report.receptive_field.holes == []


def test_non_causal_module_without_causal_asked_is_reported_but_does_not_fail():
    report = seqbench.check(ConvStack(2, 3, [1], symmetric=True))
    assert not report.causality.causal and report.causality.holds is None and report.ok


# ----------------------------------------------------------------------------- receptive field


def test_dilation_schedule_with_holes_is_caught():
    # kernel 2, dilations 1 and 4, two convolutions per level: offsets {0,1,2} + {0,4,8} miss 3 and 7
    model = TCN(2, [8, 8], kernel_size=2, dilations=[1, 4])
    report = seqbench.check(model, expect_rf=receptive_field(2, [1, 4]))
    rf = report.receptive_field
    assert (rf.kind, rf.history, rf.holes, rf.hole_count) == ("bounded", 11, [[3, 3], [7, 7]], 2)
    assert rf.difference == 0 and rf.holds is False and report.failures == ["receptive field"]
    assert "hole(s) at offsets 3, 7" in report.summary()


def test_a_smaller_field_than_expected_reports_the_difference():
    report = seqbench.check(ConvStack(1, 3, [1, 2, 4]), expect_rf=20)
    assert report.receptive_field.history == 15 and report.receptive_field.difference == -5
    assert report.failures == ["receptive field"] and "-5 steps" in report.summary()


def _reachable_offsets(kernel, dilations):
    """Offsets a seqbench TCN output reads: per level the skip (0) or two convolutions' taps."""
    offsets = {0}
    for d in dilations:
        level = {0} | {(a + b) * d for a in range(kernel) for b in range(kernel)}
        offsets = {o + l for o in offsets for l in level}
    return offsets


@settings(max_examples=8)
@given(kernel=st.integers(2, 4), dilations=st.lists(st.integers(1, 6), min_size=1, max_size=3))
def test_tcn_history_and_holes_match_the_taps_it_reads(kernel, dilations):
    model = TCN(1, [8] * len(dilations), kernel_size=kernel, dilations=dilations)
    rf = seqbench.check(model, step_method=None, mask_arg=None).receptive_field
    offsets = _reachable_offsets(kernel, dilations)
    assert rf.history == receptive_field(kernel, dilations) == max(offsets) + 1
    assert rf.hole_count == len(set(range(max(offsets))) - offsets)


def test_seven_level_kernel_seven_tcn_measures_the_formula_quickly():
    model = make_model("tcn", input_size=3, output_size=1, hidden_size=16, levels=7, kernel_size=7)
    started = time.perf_counter()
    report = seqbench.check(model, expect_rf=1525, causal=True)
    seconds = time.perf_counter() - started
    assert receptive_field(7, [2**v for v in range(7)]) == 1 + 2 * (7 - 1) * (2**7 - 1) == 1525
    rf = report.receptive_field
    assert report.ok and rf.history == 1525 and rf.hole_count == 0 and rf.declared == 1525
    assert seconds < 30


def test_recurrent_state_fades_and_attention_is_unbounded():
    lstm = seqbench.check(make_model("lstm", input_size=2, output_size=1, hidden_size=8), causal=True, max_length=2048)
    assert lstm.ok and lstm.receptive_field.kind in ("fades", "unbounded") and lstm.receptive_field.history is None
    transformer = seqbench.check(make_model("transformer", input_size=2, output_size=1, hidden_size=8),
                                 causal=True, max_length=512)
    assert transformer.ok and transformer.receptive_field.kind == "unbounded"
    assert transformer.streaming.holds and transformer.padding.holds


def test_expected_field_of_an_unbounded_model_fails():
    report = seqbench.check(make_model("gru", input_size=1, output_size=1, hidden_size=4), expect_rf=100,
                            max_length=256)
    assert report.receptive_field.holds is False and "receptive field" in report.failures


# ----------------------------------------------------------------------------- layouts, seqbench's models


def test_channels_first_reference_tcn_passes_with_its_formula():
    model = ReferenceTCN(2, [6, 6, 6], kernel_size=3)
    expected = receptive_field(3, [1, 2, 4])
    report = seqbench.check(model, input_size=2, layout="channels_first", causal=True, expect_rf=expected)
    assert report.ok and report.receptive_field.history == expected == 29
    assert model.training  # the caller's module is untouched: the check runs an eval-mode float64 copy
    assert next(model.parameters()).dtype == torch.float32


def test_wrong_layout_is_a_clear_error():
    with pytest.raises(ValueError, match="failed on a batch_first input of shape .3, 256, 2.*expected input"):
        seqbench.check(ReferenceTCN(2, [4], kernel_size=2), input_size=2)


@pytest.mark.parametrize("kind", ["tcn", "lstm", "transformer"])
def test_seqbench_models_pass_every_check(kind):
    options = dict(levels=3, kernel_size=3) if kind == "tcn" else {}
    model = make_model(kind, input_size=3, output_size=2, hidden_size=8, **options)
    report = seqbench.check(model, causal=True, max_length=512,
                            expect_rf=receptive_field(3, [1, 2, 4]) if kind == "tcn" else None)
    assert report.ok, report.summary()
    assert report.padding is not None and report.padding.keyword == "mask" and report.padding.holds
    assert report.streaming is not None and report.streaming.holds and report.streaming.largest_difference < 1e-12


def test_non_causal_tcn_cannot_stream_and_its_mask_keeps_padding_out():
    model = make_model("tcn", input_size=2, output_size=1, hidden_size=6, levels=2, kernel_size=3, causal=False)
    report = seqbench.check(model)
    assert report.streaming is None and "refuses to stream" in report.skipped["streaming"]
    assert report.padding.holds and not report.causality.causal
    assert report.receptive_field.measured == receptive_field(3, [1, 2]) == 13


def test_sequence_to_label_head_is_refused():
    with pytest.raises(ValueError, match="one output per input step"):
        seqbench.check(make_model("tcn", input_size=2, output_size=1, hidden_size=4, levels=2, head="last"))


def test_an_output_that_ignores_the_input_is_refused():
    model = ConvStack(1, 2, [1])
    nn.init.zeros_(model.convs[0].weight)
    with pytest.raises(ValueError, match="does not depend on any input step"):
        seqbench.check(model)


# ----------------------------------------------------------------------------- padding


def test_mask_that_lets_padding_through_is_caught():
    report = seqbench.check(MaskedSameConv(leaky=True), input_size=2)
    p = report.padding
    assert p.keyword == "mask" and not p.holds and p.values_change > 1 and p.appended_change > 1
    assert report.failures == ["padding"] and "NOT invariant" in report.summary()


def test_mask_honoured_passes():
    report = seqbench.check(MaskedSameConv(), input_size=2)
    assert report.padding.holds and report.ok


def test_lengths_keyword_named_by_the_user():
    class Packed(nn.Module):  # a bidirectional GRU over packed sequences: non-causal, padding-proof
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(2, 3, batch_first=True, bidirectional=True)

        def forward(self, x, seq_lens=None):
            if seq_lens is None:
                return self.gru(x)[0]
            packed = nn.utils.rnn.pack_padded_sequence(x, seq_lens.cpu(), batch_first=True, enforce_sorted=False)
            return nn.utils.rnn.pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=x.size(1))[0]

    report = seqbench.check(Packed(), input_size=2, lengths_arg="seq_lens", max_length=256)
    assert report.padding.keyword == "seq_lens" and report.padding.holds
    assert not report.causality.causal and report.streaming is None
    with pytest.raises(ValueError, match="no parameter 'lengths'"):
        seqbench.check(Packed(), input_size=2, lengths_arg="lengths")


# ----------------------------------------------------------------------------- streaming


def test_step_that_forgets_a_buffer_is_caught_where_it_first_differs():
    report = seqbench.check(StreamingConv(forgetful=True))
    s = report.streaming
    assert s is not None and not s.holds and s.first_difference == 1 and s.largest_difference > 1e-3
    assert report.failures == ["streaming"]


def test_correct_step_passes_over_the_whole_sequence():
    report = seqbench.check(StreamingConv(), causal=True, expect_rf=3)
    assert report.ok and report.streaming.largest_difference < 1e-12 and report.streaming.length >= 256


def test_step_method_named_by_the_user():
    class Renamed(StreamingConv):
        def advance(self, x, state):
            return self.step(x, state)

    assert seqbench.check(Renamed(), step_method="advance").streaming.method == "advance"
    with pytest.raises(ValueError, match="no such method"):
        seqbench.check(Renamed(), step_method="missing")


# ----------------------------------------------------------------------------- report and command line


def test_report_is_plain_json_with_the_inputs_used():
    report = seqbench.check(ConvStack(1, 2, [1, 2]), causal=True, expect_rf=4)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] and data["dtype"] == "float64" and data["mode"] == "eval"
    assert data["receptive_field"]["history"] == 4 and data["receptive_field"]["holds"] is True
    assert data["causality"]["positions"] and data["causality"]["length"] > 0 and data["padding"] is None
    assert "padding" in data["skipped"] and "streaming" in data["skipped"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(layout="time_first"), "layout"), (dict(expect_rf=0), "expect_rf"), (dict(causal="yes"), "causal"),
    (dict(mask_arg="mask", lengths_arg="lengths"), "not both"), (dict(input_size=None), "input_size"),
])
def test_bad_arguments_are_value_errors(kwargs, match):
    module = MaskedSameConv()
    with pytest.raises(ValueError, match=match):
        seqbench.check(module, **{"input_size": 2, **kwargs})


def test_cli_checks_a_seqbench_kind_and_writes_json(cli, tmp_path):
    path = tmp_path / "report.json"
    code, out, _ = cli(["check", "tcn", "--levels", "3", "--kernel-size", "3", "--input-size", "2", "--causal",
                        "--expect-rf", "29", "--json", str(path)])
    assert code == 0 and "PASS  29 steps, no holes" in out and out.rstrip().endswith("hold")
    data = json.loads(path.read_text())
    assert data["spec"] == "tcn" and data["ok"] and data["receptive_field"]["history"] == 29


def test_cli_exit_1_when_an_asked_property_fails(cli):
    code, out, _ = cli(["check", "tcn", "--levels", "2", "--kernel-size", "2", "--dilations", "1,4",
                        "--expect-rf", "11"])
    assert code == 1 and "hole(s) at offsets 3, 7" in out and "FAILED: receptive field" in out
    code, out, _ = cli(["check", "tcn", "--levels", "2", "--kernel-size", "3", "--option", "causal=false",
                        "--causal"])
    assert code == 1 and "FAILED: causality" in out


def test_cli_imports_a_factory(cli, tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "import torch\n"
        "def build(width=4):\n"
        "    return torch.nn.GRU(2, width, batch_first=True)\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(["check", "my_models:build", "--input-size", "2", "--option", "width=3", "--causal",
                        "--max-length", "256"])
    assert code == 0 and out.startswith("my_models:build:") and "PASS  causal" in out


@pytest.mark.parametrize("args, needle", [
    (["check", "cnn"], "package.module:factory"),
    (["check", "no_such_module_xyz:build"], "no module named"),
    (["check", "lstm", "--kernel-size", "3"], "apply to a tcn"),
    (["check", "tcn", "--dilations", "1,x"], "--dilations"),
    (["check", "tcn", "--option", "colour=red"], "colour"),
    (["check", "tcn", "--option", "nokey"], "KEY=VALUE"),
    (["check", "tcn", "--layout", "sideways"], "sideways"),
    (["check", "tcn", "--mask-arg", "lengthz"], "lengthz"),
    (["check", "tcn", "--json", "/no/such/folder/r.json"], "does not exist"),
])
def test_cli_malformed_options_exit_2(cli, args, needle):
    code, _, err = cli(args)
    assert code == 2 and needle in err and "Traceback" not in err
