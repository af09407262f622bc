#!/usr/bin/env python3
"""From-scratch GPT-2 byte-level BPE encoder: the independent reference for the tokenizer golden table.

It reads only the vocabulary and the merge list from a Hugging Face ``tokenizer.json`` and re-implements the
algorithm itself (byte -> unicode table, GPT-2 pre-tokenisation regex, rank-ordered pair merges, special tokens
split out first). It does not import ``tokenizers``, ``transformers`` or any JS library, so the table it writes can
check ``@huggingface/tokenizers`` independently.

Usage (Debian's python, which has the ``regex`` module: ``apt-get install -y python3-regex``):

    /usr/bin/python3 scripts/reference/gpt2_bpe.py \
        --tokenizer data/tokenizers/gpt2/tokenizer.json \
        --out test/fixtures/gpt2-tokenizer-table.json
"""
import argparse
import hashlib
import json
import os
import sys

import regex

# GPT-2's pre-tokenisation pattern (from the GPT-2 paper's released encoder); \p{L} letters, \p{N} numbers.
PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """Maps every byte 0..255 to a printable unicode character (printable Latin-1 bytes map to themselves,
    the other 68 bytes to U+0100 upwards, in byte order)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class Gpt2Bpe:
    """GPT-2 byte-level BPE built from tokenizer.json's model.vocab, model.merges and added_tokens."""

    def __init__(self, tokenizer_json):
        model = tokenizer_json["model"]
        assert model["type"] == "BPE", model["type"]
        self.vocab = dict(model["vocab"])
        self.ranks = {}
        for rank, merge in enumerate(model["merges"]):
            pair = tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge)
            assert len(pair) == 2, merge
            self.ranks[pair] = rank
        self.specials = {}
        for tok in tokenizer_json.get("added_tokens", []):
            self.specials[tok["content"]] = tok["id"]
            self.vocab.setdefault(tok["content"], tok["id"])
        self.inverse = {i: s for s, i in self.vocab.items()}
        self.byte_map = bytes_to_unicode()
        self.cache = {}

    def bpe(self, word):
        """Applies merges to one pre-token (already mapped to byte-unicode characters), lowest rank first."""
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best = None
            best_rank = None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = (parts[i], parts[i + 1]), r
            if best is None:
                break
            merged = []
            i = 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.cache[word] = parts
        return parts

    def split_specials(self, text):
        """Splits text into (segment, is_special) pieces, the longest special token matching first."""
        if not self.specials:
            return [(text, False)]
        alternatives = "|".join(regex.escape(s) for s in sorted(self.specials, key=len, reverse=True))
        pieces = []
        pos = 0
        for m in regex.finditer(alternatives, text):
            if m.start() > pos:
                pieces.append((text[pos : m.start()], False))
            pieces.append((m.group(0), True))
            pos = m.end()
        if pos < len(text):
            pieces.append((text[pos:], False))
        return pieces

    def encode(self, text):
        """Returns (ids, tokens) for text, adding no BOS/EOS."""
        tokens = []
        for segment, special in self.split_specials(text):
            if special:
                tokens.append(segment)
                continue
            for pre in PAT.findall(segment):
                mapped = "".join(self.byte_map[b] for b in pre.encode("utf-8"))
                tokens.extend(self.bpe(mapped))
        ids = [self.vocab[t] for t in tokens]
        return ids, tokens

    def decode(self, ids):
        """Inverse of encode: token strings -> byte-unicode characters -> bytes -> UTF-8 text."""
        inv_bytes = {c: b for b, c in self.byte_map.items()}
        out = bytearray()
        for i in ids:
            tok = self.inverse[i]
            if tok in self.specials:
                out.extend(tok.encode("utf-8"))
            else:
                out.extend(inv_bytes[c] for c in tok)
        return out.decode("utf-8", errors="replace")


# The golden inputs: each row exercises one feature of the pre-tokeniser or of BPE.
TEXTS = [
    "Hello, I'm a",  # TransformerLens bridge-test input: [15496, 11, 314, 1101, 257]
    " SolidGoldMagikarp",  # TransformerLens test_tokenization_methods: a single token, 43453
    "Hello world",
    "hello",
    " leading space",
    "  two leading spaces",
    "multiple    spaces   inside",
    "trailing space ",
    "line one\nline two\n\nline four",
    "\n\n\n",
    "tabs\tand\r\nCRLF",
    "1234567890 and 3.14159 and 1,000,000",
    "Punctuation!?... (brackets) [square] {curly} \"quotes\" -- dashes; colons: @#$%^&*",
    "I'm sure you don't know they're here, we've seen it, she'll go, he'd say, it's John's",
    "I'M SHOUTING, DON'T",
    "no clean-up: a , b . c ! d ? e 's f n't",  # decode must keep these spaces (clean_up_tokenization_spaces off)
    "café naïve résumé Ångström",
    "日本語のテキスト 中文",
    "emoji 😀👍🏽 and ❤️",
    "before<|endoftext|>after",
    "<|endoftext|>",
    " <|endoftext|> spaced",
    "There were some biomolecules",
    "The quick brown fox jumps over the lazy dog.",
    "def f(x):\n    return x ** 2  # comment",
    "@ @ @ ",
    "",
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "..", ".."))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", default=os.path.join(repo, "..", "shared", "fixtures", "gpt2", "tokenizer.json"))
    parser.add_argument("--out", default=os.path.join(repo, "test", "fixtures", "gpt2-tokenizer-table.json"))
    args = parser.parse_args()

    with open(args.tokenizer, "rb") as f:
        raw = f.read()
    bpe = Gpt2Bpe(json.loads(raw.decode("utf-8")))
    rows = []
    for text in TEXTS:
        ids, tokens = bpe.encode(text)
        assert bpe.decode(ids) == text, f"reference round trip failed for {text!r}"
        rows.append({"text": text, "ids": ids, "tokens": tokens})
    # Self-checks against ids published by TransformerLens's tests (independent of this script).
    assert bpe.encode(" SolidGoldMagikarp")[0] == [43453]
    assert bpe.encode("Hello, I'm a")[0] == [15496, 11, 314, 1101, 257]

    table = {
        "description": "GPT-2 tokenisation golden table, produced by a from-scratch byte-level BPE in Python "
        "(scripts/reference/gpt2_bpe.py), not by the library under test. ids exclude BOS/EOS.",
        "generator": "/usr/bin/python3 scripts/reference/gpt2_bpe.py "
        "--tokenizer data/tokenizers/gpt2/tokenizer.json --out test/fixtures/gpt2-tokenizer-table.json",
        "source": "data/tokenizers/gpt2/tokenizer.json (vocab %d, merges %d)" % (len(bpe.vocab), len(bpe.ranks)),
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "python": sys.version.split()[0],
        "regex_module": regex.__version__,
        "rows": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        # One row per line keeps the table readable and its diffs small.
        head = {k: v for k, v in table.items() if k != "rows"}
        f.write(json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "rows": [\n')
        f.write(",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in rows))
        f.write("\n ]\n}\n")
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
