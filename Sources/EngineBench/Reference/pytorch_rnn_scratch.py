"""PyTorch reference for `rnnbook bench --compare-pytorch` (issue 3, "Speed and memory").

A from-scratch, eager char-RNN language model as d2l's Chinese edition builds it in section 8.5,
rewritten in our own words so that the benchmark compares like with like:

- The Time Machine, preprocessed per line (runs of non-letters -> one space, strip, lower-case,
  lines joined without separator): 170,580 characters; vocabulary of 28 (`<unk>` first, then
  characters by descending frequency, ties by first occurrence); the first 10,000 tokens.
- One-hot inputs, parameters W_xh, W_hh, b_h, W_hq, b_q (weights ~ N(0, 0.01^2), biases zero),
  a tanh cell run by a Python loop over the time steps, output logits concatenated over time.
- Mean cross-entropy, backward, clipping by global norm (theta = 1), plain SGD by hand (lr 1).
- Random sampling (state restarts at zero every minibatch) or sequential partitioning (state
  carried and detached), with the reference's iterators and Python's `random` module.

Prints one JSON line shaped like `rnnbook bench`'s. Timing covers the training loop and the greedy
sample only (not the import of torch nor reading the text), as the Swift bench times it.
"""

import argparse
import json
import math
import os
import random
import re
import resource
import sys
import time

try:
    import torch
except ImportError:  # the Swift side turns this exit code into an explanation
    sys.stderr.write(f"pytorch_rnn_scratch.py: torch is not importable by {sys.executable}\n")
    sys.exit(3)

CORPUS_CHARACTERS = 170_580
VOCABULARY_SIZE = 28


def read_text(path):
    """Lines of the text at `path`, else of $RNNBOOK_DATA/timemachine.txt."""
    if path is None:
        root = os.environ.get("RNNBOOK_DATA")
        if not root:
            sys.exit("pytorch_rnn_scratch.py: pass --text or set RNNBOOK_DATA to the folder holding timemachine.txt")
        path = os.path.join(root, "timemachine.txt")
    with open(path, encoding="utf-8") as f:
        return f.readlines()


def per_line_characters(lines):
    """The Chinese edition's preprocessing, joined into one character list."""
    chars = []
    for line in lines:
        chars.extend(re.sub("[^A-Za-z]+", " ", line).strip().lower())
    return chars


def build_vocabulary(chars):
    """`<unk>` then tokens by descending count; sorted() is stable, so ties keep first occurrence."""
    counts = {}
    for c in chars:
        counts[c] = counts.get(c, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
    tokens = ["<unk>"] + [t for t, _ in ordered]
    return tokens, {t: i for i, t in enumerate(tokens)}


def random_minibatches(corpus, batch_size, num_steps):
    """Random offset in [0, num_steps), non-overlapping windows in shuffled order."""
    corpus = corpus[random.randint(0, num_steps - 1):]
    windows = (len(corpus) - 1) // num_steps
    starts = list(range(0, windows * num_steps, num_steps))
    random.shuffle(starts)
    for b in range(windows // batch_size):
        chosen = starts[b * batch_size:(b + 1) * batch_size]
        x = [corpus[s:s + num_steps] for s in chosen]
        y = [corpus[s + 1:s + 1 + num_steps] for s in chosen]
        yield torch.tensor(x), torch.tensor(y)


def sequential_minibatches(corpus, batch_size, num_steps):
    """Random offset in [0, num_steps], the stream split into batch_size rows, consecutive windows."""
    offset = random.randint(0, num_steps)
    usable = ((len(corpus) - offset - 1) // batch_size) * batch_size
    xs = torch.tensor(corpus[offset:offset + usable]).reshape(batch_size, -1)
    ys = torch.tensor(corpus[offset + 1:offset + 1 + usable]).reshape(batch_size, -1)
    for b in range(xs.shape[1] // num_steps):
        yield xs[:, b * num_steps:(b + 1) * num_steps], ys[:, b * num_steps:(b + 1) * num_steps]


class ScratchRNN:
    """Parameters as plain leaf tensors; the recurrence is an explicit loop over time."""

    def __init__(self, vocab_size, hidden_size):
        def small(*shape):
            return torch.randn(size=shape) * 0.01

        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.params = [small(vocab_size, hidden_size), small(hidden_size, hidden_size),
                       torch.zeros(hidden_size), small(hidden_size, vocab_size), torch.zeros(vocab_size)]
        for p in self.params:
            p.requires_grad_(True)

    def zero_state(self, batch_size):
        return torch.zeros((batch_size, self.hidden_size))

    def __call__(self, x, h):
        w_xh, w_hh, b_h, w_hq, b_q = self.params
        steps = torch.nn.functional.one_hot(x.T, self.vocab_size).type(torch.float32)
        logits = []
        for x_t in steps:  # time-major: one [batch, vocab] slice per step
            h = torch.tanh(x_t @ w_xh + h @ w_hh + b_h)
            logits.append(h @ w_hq + b_q)
        return torch.cat(logits, dim=0), h


def clip_by_global_norm(params, theta):
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for p in params:
            p.grad[:] *= theta / norm


def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()


def greedy_continuation(model, prefix, count, index_of, tokens):
    outputs = [index_of[prefix[0]]]
    h = model.zero_state(1)
    with torch.no_grad():
        for c in prefix[1:]:  # warm-up: only the state matters
            _, h = model(torch.tensor([[outputs[-1]]]), h)
            outputs.append(index_of[c])
        for _ in range(count):
            y, h = model(torch.tensor([[outputs[-1]]]), h)
            outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join(tokens[i] for i in outputs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sampling", choices=["random", "sequential"], default="random")
    ap.add_argument("--config", default="zh-scratch", help="name echoed in the JSON line")
    ap.add_argument("--full-corpus", action="store_true", help="train on all 170,580 tokens")
    ap.add_argument("--text", help="path of timemachine.txt (default: $RNNBOOK_DATA/timemachine.txt)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--progress", action="store_true", help="per-epoch perplexity on stderr")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    chars = per_line_characters(read_text(args.text))
    tokens, index_of = build_vocabulary(chars)
    if len(chars) != CORPUS_CHARACTERS or len(tokens) != VOCABULARY_SIZE:
        sys.exit(f"pytorch_rnn_scratch.py: preprocessing gave {len(chars)} characters and a vocabulary "
                 f"of {len(tokens)}; expected {CORPUS_CHARACTERS} and {VOCABULARY_SIZE}")
    corpus = [index_of[c] for c in chars]
    if not args.full_corpus:
        corpus = corpus[:10_000]

    batch_size, num_steps, hidden, lr, theta = 32, 35, 512, 1.0, 1.0
    model = ScratchRNN(len(tokens), hidden)
    loss_fn = torch.nn.CrossEntropyLoss()  # mean over the T*B predictions
    iterate = random_minibatches if args.sampling == "random" else sequential_minibatches

    start = time.perf_counter()
    total_tokens, ppl = 0, float("nan")
    for epoch in range(1, args.epochs + 1):
        h, loss_sum, seen = None, 0.0, 0
        for x, y in iterate(corpus, batch_size, num_steps):
            if h is None or args.sampling == "random":
                h = model.zero_state(x.shape[0])
            else:
                h = h.detach()
            logits, h = model(x, h)
            targets = y.T.reshape(-1)
            loss = loss_fn(logits, targets)
            loss.backward()
            clip_by_global_norm(model.params, theta)
            sgd_step(model.params, lr)  # the loss is already a mean: no division by the batch
            loss_sum += loss.detach().item() * targets.numel()
            seen += targets.numel()
        ppl = math.exp(loss_sum / seen)
        total_tokens += seen
        if args.progress and (epoch == 1 or epoch % 10 == 0 or epoch == args.epochs):
            sys.stderr.write(f"pytorch {args.config} epoch {epoch}/{args.epochs}  ppl {ppl:.3f}\n")
    sample = greedy_continuation(model, "time traveller", 50, index_of, tokens)
    seconds = time.perf_counter() - start

    print(json.dumps({
        "config": args.config, "implementation": "pytorch", "sampling": args.sampling,
        "epochs": args.epochs, "corpus_tokens": len(corpus), "tokens": total_tokens,
        "seconds": round(seconds, 3), "tokens_per_s": round(total_tokens / seconds),
        "ppl": round(ppl, 4),
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "seed": args.seed, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "sample": sample,
    }))


if __name__ == "__main__":
    main()
