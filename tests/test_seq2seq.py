"""The translation model: cached decoding, beam search, training, resume, export, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from tokvec.errors import TokvecError
from tokvec.seq2seq import Seq2SeqArch, load_translation_model, train_seq2seq
from tokvec.seq2seq.data import TokenBatches, pad_batch, read_parallel
from tokvec.seq2seq.decode import DecodeOptions, SpecialIds, beam_search, greedy
from tokvec.seq2seq.model import Seq2SeqTransformer
from tokvec.tokenization import Tokenizer

ES = {"uno": "one", "dos": "two", "tres": "three", "cuatro": "four", "cinco": "five",
      "seis": "six", "siete": "seven", "ocho": "eight", "rojo": "red", "verde": "green",
      "casa": "house", "perro": "dog", "gato": "cat", "agua": "water", "sol": "sun"}
TINY = {"d_model": 32, "heads": 2, "enc_layers": 1, "dec_layers": 1, "ffn": 64, "max_len": 32,
        "vocab_size": 320, "batch_tokens": 256, "lr": 3e-3, "warmup": 20, "dropout": 0.0,
        "threads": 1, "checkpoint_every": 0, "log_every": 5}
SPECIAL = SpecialIds(pad=0, bos=0, eos=3, banned=(0, 2, 4))


def _pairs(d, n=400, seed=0, name="train"):
    rng = np.random.default_rng(seed)
    words = list(ES)
    src, tgt = [], []
    for _ in range(n):
        chosen = [words[i] for i in rng.integers(0, len(words), rng.integers(2, 6))]
        src.append(" ".join(chosen))
        tgt.append(" ".join(ES[w] for w in chosen))
    s, t = d / f"{name}.es", d / f"{name}.en"
    s.write_text("\n".join(src) + "\n", encoding="utf-8")
    t.write_text("\n".join(tgt) + "\n", encoding="utf-8")
    return s, t


def _tokenizer(d, s, t):
    tok = Tokenizer.train([s, t], kind="bpe", vocab_size=320)
    tok.save(d / "tok")
    return str(d / "tok")


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_cached_steps_equal_the_teacher_forced_decoder(norm):
    torch.manual_seed(0)
    arch = Seq2SeqArch(50, 50, d_model=16, enc_layers=2, dec_layers=2, heads=2, ffn=32,
                       max_len=16, norm=norm, dropout=0.0)
    model = Seq2SeqTransformer(arch).eval()
    src = torch.tensor([[5, 6, 7, 8, 3], [9, 10, 3, 0, 0]])
    tgt = torch.tensor([[2, 11, 12, 13], [2, 14, 15, 16]])
    with torch.no_grad():
        memory = model.encode(src)
        full = torch.log_softmax(model.logits(model.decode_hidden(tgt, memory, src != 0)), -1)
        state = model.start(memory, src != 0)
        steps = [model.step(tgt[:, i], state) for i in range(tgt.shape[1])]
    torch.testing.assert_close(torch.stack(steps, 1), full, rtol=1e-5, atol=1e-5)


def test_beam_one_is_greedy_and_nbest_is_sorted():
    torch.manual_seed(1)
    arch = Seq2SeqArch(30, 30, d_model=16, enc_layers=1, dec_layers=1, heads=2, ffn=32,
                       max_len=16, dropout=0.0)
    model = Seq2SeqTransformer(arch).eval()
    src = pad_batch([np.array([5, 6, 7, 3]), np.array([8, 3])], 0)
    g = greedy(model, src, SPECIAL, DecodeOptions(beam=1))
    assert beam_search(model, src, SPECIAL, DecodeOptions(beam=1)) == g
    hyps = beam_search(model, src, SPECIAL, DecodeOptions(beam=4, nbest=3))
    for row in hyps:
        assert len(row) == 3
        scores = [s for _, s in row]
        assert scores == sorted(scores, reverse=True)
        for ids, _ in row:
            assert not set(ids) & set(SPECIAL.banned) and SPECIAL.eos not in ids
            assert len(ids) <= int(1.5 * 4) + 10


def test_batches_respect_the_token_budget_and_cover_an_epoch():
    rng = np.random.default_rng(0)
    tgt = rng.integers(1, 30, 500)
    batches = TokenBatches(rng.integers(1, 30, 500), tgt, batch_tokens=200, seed=3)
    assert all(len(b) * tgt[b].max() <= 200 for b in batches.batches)
    seen = np.concatenate([batches.indices(i) for i in range(batches.steps_per_epoch)])
    assert sorted(seen.tolist()) == list(range(500))
    # a batch is a fixed function of (seed, step): what makes resuming exact
    assert all(np.array_equal(batches.indices(i), batches.indices(i)) for i in range(5))


def test_a_tiny_model_learns_word_translation(tmp_path):
    s, t = _pairs(tmp_path)
    ds, dt = _pairs(tmp_path, n=40, seed=9, name="dev")
    learner = {**TINY, "d_model": 64, "ffn": 128, "heads": 4, "lr": 5e-3, "warmup": 50}
    result = train_seq2seq([(s, t)], tmp_path / "m", {**learner, "steps": 400,
                                                      "eval_every": 200}, dev=(ds, dt))
    assert result.steps == 400 and not result.interrupted
    assert result.dev["dev_bleu"] > 50, result.dev
    model = load_translation_model(tmp_path / "m")
    assert "dog" in model.translate(["perro rojo"], beam=4)[0]
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["kind"] == "seq2seq" and cfg["architecture"]["shared_vocab"]
    log = [json.loads(x) for x in (tmp_path / "m" / "training.jsonl").open()]
    assert {"step", "loss", "lr", "tokens_per_s"} <= set(log[0])
    assert any("dev_bleu" in e for e in log)


def test_bf16_training_learns_and_keeps_fp32_weights(tmp_path):
    s, t = _pairs(tmp_path)
    ds, dt = _pairs(tmp_path, n=40, seed=9, name="dev")
    learner = {**TINY, "d_model": 64, "ffn": 128, "heads": 4, "lr": 5e-3, "warmup": 50,
               "precision": "bf16"}
    result = train_seq2seq([(s, t)], tmp_path / "m", {**learner, "steps": 300,
                                                      "eval_every": 300}, dev=(ds, dt))
    assert result.dev["dev_bleu"] > 30, result.dev
    model = load_translation_model(tmp_path / "m")
    assert all(v.dtype == torch.float32 for v in model.network.state_dict().values())
    assert json.loads((tmp_path / "m" / "config.json").read_text())["training"][
        "precision"] == "bf16"


def test_interrupt_then_resume_equals_an_uninterrupted_run(tmp_path):
    s, t = _pairs(tmp_path, n=200)
    opts = {**TINY, "steps": 12, "vocab": _tokenizer(tmp_path, s, t), "dropout": 0.1,
            "average_last": 2, "eval_every": 4}
    train_seq2seq([(s, t)], tmp_path / "full", opts)

    def interrupt(step, loss):
        if step == 6:
            os.kill(os.getpid(), signal.SIGINT)

    part = train_seq2seq([(s, t)], tmp_path / "part", opts, on_step=interrupt)
    assert part.interrupted and part.steps == 6
    with pytest.raises(TokvecError, match="cannot change when resuming"):
        train_seq2seq([(s, t)], tmp_path / "part", {"d_model": 64}, resume=True)
    done = train_seq2seq([(s, t)], tmp_path / "part", {}, resume=True)
    assert done.steps == 12 and not done.interrupted
    a = load_translation_model(tmp_path / "full").network.state_dict()
    b = load_translation_model(tmp_path / "part").network.state_dict()
    for name, value in a.items():
        assert torch.equal(b[name], value), name
    steps = [json.loads(x)["step"] for x in (tmp_path / "part" / "training.jsonl").open()]
    assert steps == [5, 10, 12]


def test_separate_vocabularies_and_time_budget(tmp_path):
    s, t = _pairs(tmp_path, n=100)
    result = train_seq2seq([(s, t)], tmp_path / "m", {**TINY, "joint_vocab": False,
                                                      "max_minutes": 0.05, "log_every": 1000})
    assert result.seconds >= 3.0 and result.steps > 0
    model = load_translation_model(tmp_path / "m")
    assert not model.arch.shared_vocab and (tmp_path / "m" / "source" / "tokenizer.json").is_file()
    assert isinstance(model.translate(["uno dos"], beam=2)[0], str)


def test_hf_marian_export_reproduces_greedy_output(tmp_path):
    transformers = pytest.importorskip("transformers")
    s, t = _pairs(tmp_path)
    train_seq2seq([(s, t)], tmp_path / "m", {**TINY, "steps": 120, "norm": "post"})
    model = load_translation_model(tmp_path / "m")
    from tokvec.seq2seq.marian import export_marian

    export_marian(model, tmp_path / "hf")
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    hf = transformers.MarianMTModel.from_pretrained(tmp_path / "hf").eval()
    lines = ["uno dos tres", "perro rojo", "casa verde sol agua", "gato"]
    ours = model.translate(lines, beam=1)
    enc = hf_tok(lines, return_tensors="pt", padding=True)
    ours_ids, _, _ = model.encode_sources(lines)
    ours_ids = [x.tolist() for x in ours_ids]
    assert enc["input_ids"][0, :len(ours_ids[0])].tolist() == ours_ids[0]
    with torch.inference_mode():
        out = hf.generate(**enc, num_beams=1, do_sample=False, max_new_tokens=20)
    theirs = [x.strip() for x in hf_tok.batch_decode(out, skip_special_tokens=True)]
    assert theirs == ours
    ctranslate2 = pytest.importorskip("ctranslate2")
    from ctranslate2.converters import TransformersConverter

    TransformersConverter(str(tmp_path / "hf")).convert(str(tmp_path / "ct2"))
    translator = ctranslate2.Translator(str(tmp_path / "ct2"), device="cpu", intra_threads=1)
    pieces = [hf_tok.convert_ids_to_tokens(ids) for ids in ours_ids]
    found = translator.translate_batch(
        [p[:-1] for p in pieces], beam_size=1, max_decoding_length=20,
        suppress_sequences=[["[PAD]"], ["[CLS]"], ["[MASK]"]], disable_unk=True)
    ct2 = [hf_tok.convert_tokens_to_string(r.hypotheses[0]).strip() for r in found]
    assert ct2 == ours


def test_export_refuses_what_marian_cannot_hold(tmp_path):
    s, t = _pairs(tmp_path, n=60)
    train_seq2seq([(s, t)], tmp_path / "m", {**TINY, "steps": 2})  # pre-norm (the default)
    proc = _cli("export", str(tmp_path / "m"), "--format", "hf-marian", "-o",
                str(tmp_path / "hf"))
    assert proc.returncode == 2 and "pre-norm" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "hf").exists()


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tokvec.cli", *args], capture_output=True,
                          text=True, env={**os.environ, "TOKVEC_PROGRESS": "0", **(env or {})})


def _one_line_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_bad_input_is_one_line_and_leaves_nothing(tmp_path):
    s, t = _pairs(tmp_path, n=50)
    short = tmp_path / "short.en"
    short.write_text("one\ntwo\n", encoding="utf-8")
    out = tmp_path / "out"
    common = ["--d-model", "16", "--heads", "2", "--layers", "1", "--ffn", "32", "--steps",
              "2", "--vocab-size", "300"]
    proc = _cli("seq2seq", "-o", str(out), "--src", str(s), "--tgt", str(short), *common)
    _one_line_error(proc, str(s), "50 lines", str(short), "2")
    assert not out.exists()
    empty = tmp_path / "empty.en"
    empty.write_text("", encoding="utf-8")
    _one_line_error(_cli("seq2seq", "-o", str(out), "--src", str(s), "--tgt", str(empty),
                         *common), "empty.en", "empty")
    _one_line_error(_cli("seq2seq", "-o", str(out), "--src", str(tmp_path / "nope.es"),
                         "--tgt", str(t), *common), "nope.es")
    assert not out.exists()
    # a static model is not a translation model
    static = tmp_path / "static"
    _cli("train", str(t), "-o", str(static), "--dim", "8", "--epochs", "1", "--min-count", "1")
    _one_line_error(_cli("translate", str(static), "--input", str(s), "-o",
                         str(tmp_path / "x.txt")), "not a translation model")
    assert not (tmp_path / "x.txt").exists()
    _one_line_error(_cli("evaluate", str(static), "--translation", str(s), str(t)),
                    "needs a translation model")


def test_blank_and_long_lines_are_counted(tmp_path):
    s, t = _pairs(tmp_path, n=60)
    lines_s = s.read_text().splitlines()
    lines_t = t.read_text().splitlines()
    lines_s[3] = ""
    lines_t[7] = "   "
    lines_s[10] = " ".join(["uno dos tres"] * 30)  # far beyond 32 positions
    lines_t[10] = " ".join(["one two three"] * 30)
    s.write_text("\n".join(lines_s) + "\n", encoding="utf-8")
    t.write_text("\n".join(lines_t) + "\n", encoding="utf-8")
    text = read_parallel(s, t)
    assert text.blank == 2 and text.first_blank == 4 and len(text.src) == 58
    out = tmp_path / "m"
    proc = _cli("seq2seq", "-o", str(out), "--src", str(s), "--tgt", str(t), "--d-model", "16",
                "--heads", "2", "--layers", "1", "--ffn", "32", "--steps", "3", "--vocab-size",
                "300", "--max-len", "32", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert f"skipped 2 pair(s) with a blank side (first: {s}:4)" in proc.stderr
    assert f"1 pair(s) longer than the model's 32 positions were truncated (first: {s}:11)" \
        in proc.stderr
    src_in = tmp_path / "in.es"
    src_in.write_text("uno dos\n\n" + " ".join(["uno"] * 80) + "\n", encoding="utf-8")
    proc = _cli("translate", str(out), "--input", str(src_in), "-o", str(tmp_path / "o.en"),
                "--beam", "2")
    assert proc.returncode == 0, proc.stderr
    assert f"1 line(s) longer than the model's 32 positions were truncated (first: {src_in}:3)" \
        in proc.stderr
    written = (tmp_path / "o.en").read_text().split("\n")
    assert len(written) == 4 and written[1] == ""  # three lines, the blank one kept blank


def test_evaluate_translation_keys_by_reference_and_saves(tmp_path):
    s, t = _pairs(tmp_path)
    train_seq2seq([(s, t)], tmp_path / "m", {**TINY, "steps": 150})
    ds, dt = _pairs(tmp_path, n=30, seed=5, name="heldout")
    proc = _cli("evaluate", str(tmp_path / "m"), "--translation", str(ds), str(dt), "--json",
                "--beam", "3")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["heldout"]
    assert {"bleu", "chrf", "sentences", "bleu_signature"} <= set(result)
    assert result["sentences"] == 30 and "tok:13a" in result["bleu_signature"]
    saved = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert saved["heldout"]["bleu"] == result["bleu"]


def test_chinese_reference_uses_zh_tokenization():
    from tokvec.seq2seq.scoring import looks_chinese, score_translations

    assert looks_chinese(["起初，神创造天地。"]) and not looks_chinese(["In the beginning"])
    r = score_translations(["神创造天地"], ["神创造天地"], chinese=True)
    assert r["bleu"] == 100.0 and "tok:zh" in r["bleu_signature"]


def test_two_processes_train_one_model(tmp_path):
    from conftest import run_torchrun

    s, t = _pairs(tmp_path, n=300)
    out = tmp_path / "m"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKVEC_PROGRESS": "0"}
    proc = run_torchrun(
        ["--standalone", "--nproc_per_node", "2", "-m", "tokvec.cli", "seq2seq", "-o", str(out),
         "--src", str(s), "--tgt", str(t), "--d-model", "32", "--heads", "2", "--layers", "1",
         "--ffn", "64", "--steps", "20", "--vocab-size", "320", "--batch-tokens", "256",
         "--log-every", "5", "--threads", "1"], out, env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("trained 20 steps") == 1
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["training"]["world_size"] == 2
    log = [json.loads(x) for x in (out / "training.jsonl").open()]
    assert [e["step"] for e in log] == [5, 10, 15, 20]


def test_two_source_languages_share_one_table(tmp_path):
    s, t = _pairs(tmp_path, n=120)
    # a second "language": the same sentences reversed word by word
    rev = tmp_path / "train.rev"
    rev.write_text("".join(" ".join(x.split()[::-1]) + "\n" for x in s.read_text().splitlines()),
                   encoding="utf-8")
    result = train_seq2seq([(s, t), (rev, t)], tmp_path / "m", {**TINY, "steps": 5})
    assert result.steps == 5
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert [p[0] for p in cfg["training"]["pairs"]] == [str(s), str(rev)]
    model = load_translation_model(tmp_path / "m")
    assert model.arch.shared_vocab and model.network.tgt_emb is model.network.encoder.tok_emb


def test_init_embeddings_from_a_vector_file(tmp_path):
    s, t = _pairs(tmp_path, n=100)
    rng = np.random.default_rng(0)
    words = sorted(set(ES) | set(ES.values()))
    vec = tmp_path / "vectors.txt"
    vec.write_text(f"{len(words)} 32\n" + "".join(
        w + " " + " ".join(f"{x:.4f}" for x in rng.normal(size=32)) + "\n" for w in words),
        encoding="utf-8")
    proc = _cli("seq2seq", "-o", str(tmp_path / "m"), "--src", str(s), "--tgt", str(t),
                "--d-model", "32", "--heads", "2", "--layers", "1", "--ffn", "64", "--steps",
                "2", "--vocab-size", "320", "--init-embeddings", str(vec), "--freeze-embeddings",
                "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    coverage = cfg["training"]["init_coverage"]["source"]
    assert coverage["found_exact"] > 10 and 0 < coverage["coverage"] < 1
    model = load_translation_model(tmp_path / "m")
    tok = model.src_tok
    row = tok.token_to_id("Ġperro")
    if row is not None:  # a whole-word piece: its row is the file's vector, rescaled
        table = model.network.encoder.tok_emb.weight.detach().numpy()
        line = next(x for x in vec.read_text().splitlines() if x.startswith("perro "))
        given = np.array([float(v) for v in line.split()[1:]])
        cos = table[row] @ given / np.linalg.norm(table[row]) / np.linalg.norm(given)
        assert cos > 0.999
    bad = _cli("seq2seq", "-o", str(tmp_path / "m2"), "--src", str(s), "--tgt", str(t),
               "--d-model", "64", "--heads", "2", "--layers", "1", "--ffn", "64", "--steps",
               "2", "--vocab-size", "320", "--init-embeddings", str(vec))
    _one_line_error(bad, "dimension 32", "--d-model is 64")
    assert not (tmp_path / "m2").exists()


def test_encoder_warm_start_from_a_pretrained_bert(tmp_path):
    from tokvec.contextual.model import load_contextual
    from tokvec.contextual.pretrain import pretrain

    s, t = _pairs(tmp_path, n=200)
    mono = tmp_path / "mono.txt"
    mono.write_text(s.read_text() + t.read_text(), encoding="utf-8")
    pretrain([mono], tmp_path / "bert", {"d_model": 32, "layers": 1, "heads": 2, "ffn": 64,
                                         "seq_len": 16, "batch_size": 8, "vocab_size": 200,
                                         "steps": 4, "dropout": 0.0, "threads": 1})
    bert = load_contextual(tmp_path / "bert")
    shape = ("d_model", "heads", "enc_layers", "ffn", "max_len", "vocab_size")
    opts = {k: v for k, v in TINY.items() if k not in shape}
    # a vanishing learning rate: after one step the encoder still holds the BERT's weights
    train_seq2seq([(s, t)], tmp_path / "m", {**opts, "steps": 1, "lr": 1e-12},
                  init_encoder=tmp_path / "bert")
    model = load_translation_model(tmp_path / "m")
    assert model.arch.positions == "learned" and not model.arch.scale_embeddings
    assert model.src_tok.vocab_size == bert.tokenizer.vocab_size
    ours, theirs = model.network.encoder.state_dict(), bert.module.state_dict()
    for name, value in theirs.items():
        if name != "tok_emb.weight":
            assert torch.allclose(ours[name], value, atol=1e-6), name
    keep = torch.ones(len(ours["tok_emb.weight"]), dtype=torch.bool)
    keep[model.arch.pad_id] = False
    assert torch.allclose(ours["tok_emb.weight"][keep], theirs["tok_emb.weight"][keep],
                          atol=1e-6)
    assert float(ours["tok_emb.weight"][model.arch.pad_id].abs().max()) == 0.0
    training = json.loads((tmp_path / "m" / "config.json").read_text())["training"]
    assert training["init_encoder"]["tensors"] == len(theirs)
    assert isinstance(model.translate(["uno dos"], beam=2)[0], str)
    with pytest.raises(TokvecError, match="export"):
        from tokvec.seq2seq.marian import export_marian
        export_marian(model, tmp_path / "hf")
    proc = _cli("seq2seq", "-o", str(tmp_path / "bad"), "--src", str(s), "--tgt", str(t),
                "--init-encoder", str(tmp_path / "bert"), "--d-model", "64", "--steps", "1")
    _one_line_error(proc, "--d-model 64", "32")
    assert not (tmp_path / "bad").exists()


def test_d_model_sweep_trains_scores_plots_and_resumes(tmp_path):
    s, t = _pairs(tmp_path, n=100)
    ds, dt = _pairs(tmp_path, n=20, seed=4, name="dev")
    args = ["seq2seq", "-o", str(tmp_path / "sw"), "--src", str(s), "--tgt", str(t),
            "--dev-src", str(ds), "--dev-tgt", str(dt), "--heads", "2", "--layers", "1",
            "--steps", "3", "--vocab-size", "320", "--threads", "1", "--sweep-d-model", "16,32"]
    proc = _cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "recommendation: d=" in proc.stdout and "dev BLEU (primary)" in proc.stdout
    state = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert [r["dim"] for r in state["runs"]] == [16, 32]
    assert state["runs"][0]["parameters"] < state["runs"][1]["parameters"]
    assert (tmp_path / "sw" / "sweep.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "sw" / "d32" / "config.json").read_text())[
        "architecture"]["ffn"] == 128
    again = _cli(*args)  # everything is kept: nothing retrained
    assert again.returncode == 0 and again.stderr.count("kept from") == 2
