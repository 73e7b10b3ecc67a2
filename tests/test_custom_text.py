"""Texts as custom data: tokens, a vocabulary from the train split only, padded and masked
token ids, the saved state, the errors, a tiny task each model kind learns, and the command
line end to end (``compare custom --text``, then ``predict`` on new texts)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqbench import tasks
from seqbench.nn import kinds
from seqbench.tasks.custom import DataError, TextEncoder, Vocabulary, tokenize
from seqbench.tasks.custom.text import PAD, PAD_ID, UNK, UNK_ID

FILLER = "the movie plot actor scene film story was it and a with music ending".split()


def reviews(n=200, seed=0, ids=False):
    """Short synthetic reviews: filler words and one sentiment word that decides the label."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        words = list(rng.choice(FILLER, size=int(rng.integers(4, 12))))
        label = "positive" if i % 2 else "negative"
        words.insert(int(rng.integers(0, len(words) + 1)), "good" if label == "positive" else "bad")
        row = {"review": " ".join(words).capitalize() + ".", "label": label}
        rows.append({"review_id": f"r{i:03d}", **row} if ids else row)
    return pd.DataFrame(rows)


def whole(task, split):
    ds = task.dataset(split)
    return task.collate([ds[i] for i in range(len(ds))])


# -- tokens and vocabulary --------------------------------------------------------------------
def test_word_tokens_are_lower_cased_runs_of_letters_and_digits():
    assert tokenize("Don't STOP: it's 3 o'clock_now -- Café!") == ["don't", "stop", "it's", "3", "o'clock", "now", "café"]
    assert tokenize("'quoted' rock'n'roll") == ["quoted", "rock'n'roll"]  # outer apostrophes are punctuation
    assert tokenize("...!?") == [] and tokenize("Ab c", "char") == ["A", "b", " ", "c"]
    with pytest.raises(DataError, match="tokens must be one of word, char"):
        tokenize("x", "bpe")


@given(st.text(min_size=1, max_size=40))
def test_encode_then_decode_gives_the_normalised_tokens(text):
    chars = TextEncoder("char", 100, Vocabulary.build([tokenize(text, "char")]))
    assert chars.decode(chars.encode(text)) == text[:100]  # characters round-trip exactly
    words = tokenize(text)
    encoder = TextEncoder("word", 100, Vocabulary.build([words]))
    assert encoder.decode(encoder.encode(text)) == (" ".join(words) if words else UNK)
    assert tokenize(" ".join(words)) == words  # the normal form is a fixed point


def test_vocabulary_ids_order_min_count_and_max_vocab():
    texts = [["b", "a", "c", "a"], ["c", "d", "a"], ["e"]]
    v = Vocabulary.build(texts)
    assert v.tokens == ("a", "c", "b", "d", "e") and len(v) == 7  # by frequency, then alphabetically; +2 reserved
    assert v.encode(["a", "e", "zzz"]) == [2, 6, UNK_ID] and v.decode([PAD_ID, UNK_ID, 3]) == [PAD, UNK, "c"]
    assert Vocabulary.build(texts, min_count=2).tokens == ("a", "c")
    assert Vocabulary.build(texts, max_vocab=3).tokens == ("a", "c", "b")
    assert Vocabulary.from_dict(json.loads(json.dumps(v.to_dict()))) == v
    with pytest.raises(ValueError, match="outside the vocabulary"):
        v.decode([7])


# -- the task -----------------------------------------------------------------------------------
def test_a_text_table_becomes_an_embedding_task_that_sees_the_whole_text(tmp_path):
    path = tmp_path / "reviews.csv"
    reviews().to_csv(path, index=False)
    t = tasks.custom(path, text="review", target="label")
    assert t.spec.kind == "classify" and t.spec.classes == ("negative", "positive") and t.output_size == 2
    assert t.input_adapter == "embedding" and t.input_size == len(t.spec.text_encoder.vocabulary)
    assert not t.causal and t.head == "mean" and t.spec.text == "review"
    assert t.variant["text"] == "review" and t.variant["tokens"] == "word" and t.variant["causal"] is False
    lines = t.describe()
    assert lines[0] == "custom task: classify label into 2 classes (negative, positive), one per text"
    # the sizes first, per class too
    assert lines[1] == "train/valid/test: 160/20/20 texts (random, stratified by class)"
    assert lines[2] == "classes, train/valid/test: 'negative' 80/10/10, 'positive' 80/10/10"
    assert lines[3] == "warning: the test split holds only 20 texts: a score moves in steps of 1/20 and " \
        "differences between models are noise; give more data, a test_file=..., or folds=..."
    assert lines[4].startswith("text column 'review': word tokens, vocabulary of 16 from the train split")
    assert lines[5].startswith("tokens per text (train): min 5, median ") and "none longer than 512" in lines[5]
    assert lines[6].startswith("unknown tokens on valid: 0.0%")


def test_the_vocabulary_comes_from_the_train_split_only():
    frame = reviews()
    split_ids = tasks.custom(frame, text="review", target="label").split_ids  # rows: the split is by position
    frame.loc[split_ids["train"][0], "review"] += " trainonly"
    frame.loc[split_ids["valid"][0], "review"] += " validonly validonly"
    frame.loc[split_ids["test"][0], "review"] += " testonly"
    t = tasks.custom(frame, text="review", target="label")
    v = t.spec.text_encoder.vocabulary
    assert "trainonly" in v and "validonly" not in v and "testonly" not in v
    valid = t.dataset("valid")[t.split_ids["valid"].index(split_ids["valid"][0])]["x"]
    assert valid[-2:].tolist() == [UNK_ID, UNK_ID]
    unknown = next(line for line in t.describe() if line.startswith("unknown tokens on valid"))
    assert "(2 of " in unknown


def test_batches_right_pad_with_the_padding_id_and_mask_the_valid_steps():
    t = tasks.custom(reviews(), text="review", target="label", tokens="char")
    ds = t.dataset("train")
    items = [ds[i] for i in range(6)]
    b = t.collate(items)
    lengths = [len(it["x"]) for it in items]
    assert b["x"].dtype == torch.long and b["mask"].sum(1).tolist() == lengths
    assert (b["x"][~b["mask"]] == PAD_ID).all() and (b["x"][b["mask"]] > UNK_ID).all()
    text = t.spec.text_encoder.decode(items[0]["x"])
    assert text in set(reviews()["review"]) and text[0].isupper()  # characters are kept as they are


def test_long_texts_keep_their_first_tokens_and_empty_ones_read_as_unknown():
    frame = reviews(40)
    frame.loc[0, "review"] = "good " * 30
    frame.loc[1, "review"] = "?!"
    t = tasks.custom(frame, text="review", target="label", max_length=8)
    x = {sid: t.dataset(s)[i]["x"] for s, ids in t.split_ids.items() for i, sid in enumerate(ids)}
    assert len(x[0]) == 8 and x[1].tolist() == [UNK_ID] and max(len(v) for v in x.values()) == 8
    lines = t.describe()
    assert any("longer than 8 kept their first 8 (max_length=...)" in line for line in lines)
    assert "note: 1 text(s) hold no word token (row 1): each reads as one unknown token" in lines
    assert t.spec.input_length == 8 and t.variant["max_length"] == 8


def test_the_state_is_plain_data_and_predicts_new_texts_the_same(tmp_path):
    frame = reviews(ids=True)
    t = tasks.custom(frame, text="review", target="label", id_column="review_id", min_count=2, max_vocab=10)
    state = json.loads(json.dumps(t.state()))  # what a checkpoint carries: plain JSON
    assert state["spec"]["text_encoder"]["vocabulary"]["tokens"] == list(t.spec.text_encoder.vocabulary.tokens)
    restored = tasks.from_state(state)
    assert restored.spec == t.spec and restored.input_size == 12 and restored.head == "mean"
    model = t.build_model("lstm")
    again = restored.build_model("lstm")
    again.load_state_dict(model.state_dict())
    new = pd.DataFrame({"review_id": ["a", "b"], "review": ["A GOOD film, unseen words", "bad"],
                        "other": [1, 2]})
    ours, theirs = t.predict(model, new), restored.predict(again, new)
    assert list(ours.columns) == ["review_id", "label", "p_negative", "p_positive"]
    pd.testing.assert_frame_equal(ours, theirs)
    assert np.allclose(ours[["p_negative", "p_positive"]].sum(axis=1), 1.0)


def test_numbers_per_text_are_regressed_in_their_units():
    frame = reviews(60)
    frame["stars"] = np.where(frame["label"] == "positive", 4.5, 1.5) + 0.1 * (np.arange(60) % 3)
    t = tasks.custom(frame.drop(columns="label"), text="review", target="stars")
    assert t.spec.kind == "regress" and t.metrics[0].name == "nmse" and t.spec.input_scaler is None
    preds = t.predict(t.build_model("gru"), pd.DataFrame({"review": ["good", "bad movie"]}))
    assert list(preds.columns) == ["row", "stars"] and preds["stars"].between(-10, 20).all()


def test_text_errors_name_the_problem_and_the_keyword(tmp_path):
    frame = reviews(40)
    cases = {
        "text column 'body' not found (pass text=...)": dict(text="body"),
        "a text column takes task='classify' or task='regress'": dict(text="review", task="forecast"),
        "features=... does not apply to text": dict(text="review", features="label"),
        "tokens=... applies to text inputs only: pass text=...": dict(tokens="char"),
        "max_length must be a positive integer, got 0": dict(text="review", max_length=0),
        "tokens must be one of word, char, got 'bpe'": dict(text="review", tokens="bpe"),
        "fill=... repairs numbers and does not apply to text": dict(text="review", fill="zero"),
        "causal must be True, False or None": dict(text="review", causal="no"),
    }
    for message, options in cases.items():
        with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            tasks.custom(frame, target="label", **options)
    with pytest.raises(DataError, match="text column 'n' holds numbers"):
        tasks.custom(frame.assign(n=1.5), text="n", target="label")
    gaps = frame.copy()
    gaps.loc[[3, 7], "review"] = np.nan
    with pytest.raises(DataError, match=r"missing text in 'review' at rows 3, 7 .*; pass drop=True"):
        tasks.custom(gaps, text="review", target="label")
    assert sum(tasks.custom(gaps, text="review", target="label", drop=True).spec.split_sizes) == 38
    with pytest.raises(DataError, match=r"id column 'review_id' repeats 'r000' \(rows 0, 1\)"):
        tasks.custom(reviews(40, ids=True).replace({"r001": "r000"}), text="review", target="label",
                     id_column="review_id")
    np.savez(tmp_path / "x.npz", x=np.zeros((4, 3, 1)), y=np.arange(4))
    with pytest.raises(DataError, match="an .npz holds numbers only"):
        tasks.custom(tmp_path / "x.npz", text="review")
    t = tasks.custom(frame, text="review", target="label")
    with pytest.raises(DataError, match="mismatched columns: the table lacks the text column 'review'"):
        t.predict(t.build_model("tcn"), pd.DataFrame({"body": ["good"]}))


# -- learning ---------------------------------------------------------------------------------
@pytest.fixture
def one_thread():
    """Models this small run fastest on one thread (two fight over a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("kind", tuple(kinds()))
def test_each_model_kind_learns_a_tiny_text_task(kind, one_thread):
    t = tasks.custom(reviews(), text="review", target="label", hidden_size=16)
    model = t.build_model(kind)
    train, valid = whole(t, "train"), whole(t, "valid")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        loss = t.loss(model(train["x"], train["mask"]), train)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = t.metrics_of(model(valid["x"], valid["mask"]), valid)["accuracy"]
    _, baseline = t.baseline("valid")
    assert accuracy >= 0.9 > baseline["accuracy"] + 0.3, (kind, accuracy, baseline)


# -- the command line ---------------------------------------------------------------------------
@pytest.mark.slow
def test_compare_trains_all_five_models_on_a_text_file_and_predict_labels_new_texts(tmp_path, cli):
    data = tmp_path / "reviews.csv"
    reviews().to_csv(data, index=False)
    code, out, err = cli(["compare", "custom", "--file", str(data), "--text", "review", "--target", "label",
                          "--models", ",".join(tuple(kinds())), "--out", str(tmp_path / "runs"), "--no-progress",
                          "--threads", "1", "--max-time", "60"])
    assert code == 0, err
    head = err.splitlines()
    assert head[0] == "custom task: classify label into 2 classes (negative, positive), one per text"
    assert head[1].startswith("train/valid/test: ") and "--test-file" in head[3]
    assert head[5].startswith("tokens per text (train): min 5") and "(--max-length)" in head[5]
    assert any("pass --causal for causal ones" in line for line in head)
    (group,) = (tmp_path / "runs").iterdir()
    for kind in tuple(kinds()):
        result = json.loads((group / f"{kind}-seed0" / "result.json").read_text())
        assert result["model"] == kind and result["variant"]["text"] == "review"
        assert kind in out
    new = tmp_path / "new_reviews.csv"
    pd.DataFrame({"review": ["What a good film.", "Bad, bad plot!", "words it never saw"]}).to_csv(new, index=False)
    data.unlink()  # the checkpoint carries the vocabulary: the training file is not needed
    out_csv = tmp_path / "labels.csv"
    code, _, err = cli(["predict", str(group / "gru-seed0" / "checkpoints" / "best.ckpt"), "--file", str(new),
                        "--out", str(out_csv)])
    assert code == 0, err
    labels = pd.read_csv(out_csv)
    assert list(labels.columns) == ["row", "label", "p_negative", "p_positive"] and labels["row"].tolist() == [0, 1, 2]
    assert set(labels["label"]) <= {"negative", "positive"}
