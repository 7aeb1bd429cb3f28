"""The multilingual model kind: no shadowing, the on-disk layout, queries across languages."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer as HFTokenizer

from tokvec.errors import TokvecError
from tokvec.modeldir import load_model
from tokvec.modelinfo import model_info
from tokvec.multilingual import MultilingualModel, MultilingualVectors
from tokvec.multilingual.bli import evaluate_bli
from tokvec.static_model import StaticModel
from tokvec.vectors import StaticVectors

ES = ["no", "me", "he", "perro", "gato"]
EN = ["no", "me", "he", "dog", "cat", "God"]


def _joint() -> MultilingualModel:
    rng = np.random.default_rng(0)
    es = StaticModel.from_vectors(ES, rng.normal(size=(len(ES), 8)).astype(np.float32))
    en = StaticModel.from_vectors(EN, rng.normal(size=(len(EN), 8)).astype(np.float32),
                                  lowercase=True)
    return MultilingualModel.from_static({"es": es, "en": en})


def test_same_spelling_is_two_rows_with_two_vectors():
    joint = _joint()
    mv = joint.vectors
    es_no, en_no = mv.language("es").get_vector("no"), mv.language("en").get_vector("no")
    assert not np.allclose(es_no, en_no)
    assert mv.languages_of("no") == ["es", "en"]
    assert mv.resolve("perro") == "es" and mv.resolve("dog") == "en"
    with pytest.raises(TokvecError, match=r"'no' is in 2 languages \(es, en\)"):
        mv.most_similar("no")
    # each language answers with its own row
    assert mv.similarity("no", "no", "es", "es") == pytest.approx(1.0, abs=1e-6)
    cos = float(es_no @ en_no / np.linalg.norm(es_no) / np.linalg.norm(en_no))
    assert mv.similarity("no", "no", "es", "en") == pytest.approx(cos, abs=1e-5)


def test_save_load_round_trip_and_plain_readers(tmp_path):
    joint = _joint()
    d = tmp_path / "joint"
    joint.save(d)
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["kind"] == "multilingual" and cfg["languages"] == ["es", "en"]
    tensors = load_file(str(d / "embeddings.safetensors"))
    assert tensors["embeddings"].shape == (len(ES) + 5 + len(EN) + 5, 8)
    assert tensors["language"].tolist() == [0] * (len(ES) + 5) + [1] * (len(EN) + 5)
    for lang, words in (("es", ES), ("en", EN)):
        hf = HFTokenizer.from_file(str(d / "tokenizers" / lang / "tokenizer.json"))
        assert hf.get_vocab_size() == len(words) + 5
    back = load_model(d)
    assert isinstance(back, MultilingualModel)
    assert back.languages == ["es", "en"]
    np.testing.assert_array_equal(back.embeddings, joint.embeddings)
    # English was lowercased: its tokenizer's normalisation survives the round trip
    assert back.vectors.resolve("DOG") == "en"
    assert back.language("en").vectors.words == EN
    info = model_info(d)
    assert info["kind"] == "multilingual" and info["config"]["languages"] == ["es", "en"]
    assert info["vocab_size"] == len(ES) + len(EN) + 10 and info["d_model"] == 8


def test_load_refuses_a_table_that_does_not_match_the_tokenizers(tmp_path):
    d = tmp_path / "joint"
    _joint().save(d)
    tensors = load_file(str(d / "embeddings.safetensors"))
    tensors["language"] = tensors["language"][::-1].copy()
    save_file(tensors, str(d / "embeddings.safetensors"))
    with pytest.raises(TokvecError, match="do not match the tokenizers' blocks"):
        load_model(d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["languages"] = ["es", "../../etc"]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(TokvecError, match="invalid language name"):
        load_model(d)


def test_missing_language_lists_the_ones_there_are():
    joint = _joint()
    with pytest.raises(TokvecError, match=r"no language 'fr' \(it has es, en\)"):
        joint.vectors.most_similar("perro", lang="fr")
    with pytest.raises(TokvecError, match=r"no language 'fr' \(it has es, en\)"):
        joint.language("fr")


def _hub_space() -> MultilingualVectors:
    """Ten source words e_i; targets t_i weakly near e_i, and one hub near all of them."""
    d = 20
    eye = np.eye(d, dtype=np.float32)
    src = eye[:10]
    targets = [0.3 * eye[i] + eye[10 + i] for i in range(10)]
    hub = eye[:10].sum(axis=0)
    tgt = np.stack([hub, *targets])
    return MultilingualVectors({
        "xx": StaticVectors([f"q{i}" for i in range(10)], src),
        "yy": StaticVectors(["hub"] + [f"t{i}" for i in range(10)], tgt)})


def test_csls_discounts_a_hub_that_nearest_neighbour_picks(tmp_path):
    mv = _hub_space()
    assert all(mv.most_similar(f"q{i}", lang="yy", topn=1)[0][0] == "hub" for i in range(10))
    assert [mv.most_similar(f"q{i}", lang="yy", topn=1, retrieval="csls")[0][0]
            for i in range(10)] == [f"t{i}" for i in range(10)]
    path = tmp_path / "xx-yy.tsv"
    path.write_text("".join(f"q{i}\tt{i}\n" for i in range(10)) + "q0\tmissing\nzz\tt1\n")
    nn = evaluate_bli(mv, path, retrieval="nn")
    csls = evaluate_bli(mv, path, retrieval="csls")
    assert nn["p@1"] == 0.0 and nn["p@5"] == 1.0
    assert csls["p@1"] == 1.0
    assert csls["words"] == 10 and csls["oov"] == 1       # zz; q0 still has t0
    assert (csls["src_lang"], csls["tgt_lang"]) == ("xx", "yy")


def test_bli_counts_words_whose_translations_are_all_missing_as_oov(tmp_path):
    mv = _hub_space()
    path = tmp_path / "d.tsv"
    path.write_text("q0\tt0\nq1\tnothere\nq1\tnorhere\n")
    r = evaluate_bli(mv, path, retrieval="csls")
    assert r["words"] == 1 and r["oov"] == 1 and r["pairs"] == 3


def test_monolingual_csls_leaves_the_query_out():
    kv = StaticVectors(["a", "b", "c"], np.array([[1, 0], [1, 0.2], [0, 1]], np.float32))
    out = MultilingualVectors({"": kv}).most_similar("a", topn=2, retrieval="csls")
    assert [w for w, _ in out] == ["b", "c"]


def test_csls_on_candidates_matches_exact_csls(monkeypatch):
    import tokvec.multilingual.vectors as mlv

    rng = np.random.default_rng(5)
    spaces = {lang: StaticVectors([f"{lang}{i}" for i in range(300)],
                                  rng.normal(size=(300, 6)).astype(np.float32))
              for lang in ("xx", "yy")}
    exact = MultilingualVectors(spaces).most_similar("xx3", lang="yy", topn=5, retrieval="csls")
    monkeypatch.setattr(mlv, "EXACT_CSLS_ROWS", 0)
    approx = MultilingualVectors(spaces).most_similar("xx3", lang="yy", topn=5,
                                                      retrieval="csls")
    assert [w for w, _ in approx] == [w for w, _ in exact]
    np.testing.assert_allclose([s for _, s in approx], [s for _, s in exact], atol=1e-5)
    same = MultilingualVectors(spaces).most_similar("xx3", topn=5, retrieval="csls")
    monkeypatch.setattr(mlv, "EXACT_CSLS_ROWS", 10**9)
    again = MultilingualVectors(spaces).most_similar("xx3", topn=5, retrieval="csls")
    assert [w for w, _ in same] == [w for w, _ in again]
