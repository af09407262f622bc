#!/usr/bin/env python3
"""Golden rows for ``tokenizeAndConcatenate``: TransformerLens's ``utils.tokenize_and_concatenate`` semantics
re-implemented in plain Python over the from-scratch GPT-2 BPE of ``gpt2_bpe.py`` (no ``tokenizers``,
``transformers``, ``datasets`` or JavaScript involved), so the table checks the TypeScript port independently.

The semantics, from transformer_lens/utilities/tokenize_utils.py (TransformerLens 3.x, the per-document version that
fixed TL issue #1133), applied to each ``datasets.map(batched=True)`` batch (1000 rows by default):
  * every document is tokenized on its own without special tokens; one EOS id goes between consecutive documents;
  * seq_len = max_length - 1 with add_bos_token, else max_length;
  * fewer tokens than seq_len: one row, padded with the pad id (EOS when the tokenizer has no pad token, as GPT-2);
  * otherwise floor(n / seq_len) rows, the remainder of the batch dropped;
  * with add_bos_token every row gets the BOS id in front.

Usage (Debian's python with python3-regex):

    /usr/bin/python3 scripts/reference/tokenize_and_concatenate.py \
        --tokenizer data/tokenizers/gpt2/tokenizer.json --out test/fixtures/tokenize-and-concatenate.json
"""
import argparse
import hashlib
import json
import os
import sys

from gpt2_bpe import Gpt2Bpe

DOCS = [
    "The quick brown fox jumps over the lazy dog.",
    "When Mary and John went to the store, John gave a drink to Mary.",
    "",
    " leading space and trailing space ",
    "line one\nline two\n\nline four",
    "café naïve résumé — and 日本語 too",
    "numbers 1234567890, 3.14159 and 1,000,000",
    "I'm sure you don't know they're here",
    "def f(x):\n    return x ** 2",
    "before<|endoftext|>after",
    "A much longer document that runs over several rows of the packed output, so that rows cut a document "
    "in the middle and the next row carries on where the previous one stopped, as packing does.",
    "Short.",
    "emoji 😀 end",
]

# (name, max_length, add_bos_token, batch_size, documents): each case exercises one rule.
CASES = [
    ("bos, one batch", 16, True, 1000, DOCS),
    ("no bos, one batch", 16, False, 1000, DOCS),
    ("bos, batches of 3 (remainders dropped per batch)", 9, True, 3, DOCS),
    ("no bos, batches of 5", 11, False, 5, DOCS),
    ("fewer tokens than a row: one padded row", 64, True, 1000, DOCS[:3]),
    ("a batch of empty documents", 8, True, 1000, ["", "", ""]),
]


def tokenize_and_concatenate(docs, bpe, eos, bos, pad, max_length, add_bos, batch_size):
    seq_len = max_length - 1 if add_bos else max_length
    rows = []
    for b in range(0, len(docs), batch_size):
        batch = docs[b : b + batch_size]
        tokens = []
        for i, text in enumerate(batch):
            tokens.extend(bpe.encode(text)[0])
            if i < len(batch) - 1:
                tokens.append(eos)
        if len(tokens) < seq_len:
            out = [tokens + [pad] * (seq_len - len(tokens))]
        else:
            out = [tokens[s : s + seq_len] for s in range(0, (len(tokens) // seq_len) * seq_len, seq_len)]
        rows.extend([[bos] + r for r in out] if add_bos else out)
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "..", ".."))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", default=os.path.join(repo, "data", "tokenizers", "gpt2", "tokenizer.json"))
    parser.add_argument("--out", default=os.path.join(repo, "test", "fixtures", "tokenize-and-concatenate.json"))
    args = parser.parse_args()
    with open(args.tokenizer, "rb") as f:
        raw = f.read()
    bpe = Gpt2Bpe(json.loads(raw.decode("utf-8")))
    eot = bpe.specials["<|endoftext|>"]
    eos = bos = pad = eot  # GPT-2's tokenizer_config.json: bos_token = eos_token = <|endoftext|>, no pad_token
    cases = []
    for name, max_length, add_bos, batch_size, docs in CASES:
        rows = tokenize_and_concatenate(docs, bpe, eos, bos, pad, max_length, add_bos, batch_size)
        assert all(len(r) == max_length for r in rows), name
        cases.append({"name": name, "maxLength": max_length, "addBosToken": add_bos, "batchSize": batch_size, "docs": docs, "rows": rows})
    table = {
        "description": "tokenize_and_concatenate golden rows (TransformerLens semantics) from a from-scratch GPT-2 BPE in "
        "Python (scripts/reference/tokenize_and_concatenate.py over scripts/reference/gpt2_bpe.py), not by the library under test",
        "generator": "/usr/bin/python3 scripts/reference/tokenize_and_concatenate.py "
        "--tokenizer data/tokenizers/gpt2/tokenizer.json --out test/fixtures/tokenize-and-concatenate.json",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "python": sys.version.split()[0],
        "eos": eos,
        "bos": bos,
        "pad": pad,
        "cases": cases,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(table, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
