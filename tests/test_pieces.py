"""Readable subword output: byte-level BPE pieces shown as text, ``--raw`` for the originals."""

from __future__ import annotations

from tokenizers import decoders

from tokvec.cli import main
from tokvec.pieces import BOUNDARY, readable_piece, readable_pieces
from tokvec.tokenization import Tokenizer


def test_every_byte_round_trips_through_the_byte_level_alphabet():
    # Encode each byte with the tokenizers library's own byte-level alphabet and decoder.
    from tokenizers import pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    assert len(alphabet) == 256
    for ch in alphabet:
        shown = readable_piece(ch)
        raw = decoders.ByteLevel().decode([ch])
        if raw == " ":
            assert shown == BOUNDARY
        elif len(raw) == 1 and raw.isprintable() and ord(raw) < 0x80:
            assert shown == raw
        else:
            assert shown.startswith("<0x") and shown.endswith(">")


def test_whole_characters_decode_and_specials_stay():
    assert readable_piece("ĠcafÃ©") == "▁café"
    assert readable_piece("æĪĳ") == "我"
    assert readable_pieces("bpe", ["[CLS]", "Ġhi"]) == ["[CLS]", "▁hi"]
    assert readable_pieces("unigram", ["▁hi"]) == ["▁hi"]


def test_cli_encode_prints_readable_pieces_and_raw_on_request(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the café opens early\nthe café closes late\n" * 50, encoding="utf-8")
    tok = Tokenizer.train([corpus], kind="bpe", vocab_size=300)
    tok.save(tmp_path / "tok")
    text = tmp_path / "in.txt"
    text.write_text("the café\n", encoding="utf-8")
    assert main(["tokenizer", "encode", str(tmp_path / "tok"), "-i", str(text)]) == 0
    shown = capsys.readouterr().out.split()
    assert main(["tokenizer", "encode", str(tmp_path / "tok"), "-i", str(text), "--raw"]) == 0
    raw = capsys.readouterr().out.split()
    assert raw == tok.tokens("the café")
    assert shown == readable_pieces("bpe", raw)
    assert "".join(shown).replace(BOUNDARY, " ").strip() == "the café"
