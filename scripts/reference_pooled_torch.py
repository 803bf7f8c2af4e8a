"""PyTorch (CPU) twin of lib/models/pooled.ts's stride-pooled byte model, to compare throughput.

The companion of ../shared/bench/reference_torch.py (the plain byte model) for the
tokenizer-free model: `stlm bench --preset pooled-stride4` trains the same model in
tfjs, and the two print the same JSON fields, so they can be put side by side.

The model, as lib/models/pooled.ts builds it for the stride strategy (non-causal decoder,
no reconstruction loss): each row of ctx + 1 bytes is cut into chunks of `stride`
bytes; the chunk slots are padded to a multiple of 8.
  byte embedding (tied to the byte head) + learned in-chunk position
  -> encoder blocks inside each chunk (bidirectional, padding masked) -> RMSNorm
  -> mean over the chunk's bytes -> projection to the core's width
  -> causal core over chunks (a learned start vector first; rotary positions)
  -> linear to stride x byte width -> decoder blocks inside each chunk -> RMSNorm
  -> byte head: all bytes of the next chunk at once, plus an end mark after a short chunk.
Loss: mean cross-entropy over the scored slots. AdamW (decay on >= 2-D weights),
clipping at 1.0, as the plain reference. Parameter count: 870,656 at the defaults,
the same as `stlm bench --preset pooled-stride4` reports.

Run with Debian's interpreter:  /usr/bin/python3 scripts/reference_pooled_torch.py --threads 1 --json
"""
import argparse, json, math, os, statistics, time

ap = argparse.ArgumentParser()
ap.add_argument("--ctx", type=int, default=512, help="bytes of context per row")
ap.add_argument("--stride", type=int, default=4)
ap.add_argument("--byte-dim", type=int, default=128)
ap.add_argument("--byte-heads", type=int, default=4)
ap.add_argument("--byte-ffn", type=int, default=256)
ap.add_argument("--encoder-layers", type=int, default=1)
ap.add_argument("--decoder-layers", type=int, default=1)
ap.add_argument("--d-model", type=int, default=128)
ap.add_argument("--layers", type=int, default=2)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--ffn", type=int, default=384)
ap.add_argument("--batch", type=int, default=4)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--warmup", type=int, default=5)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--json", action="store_true")
a = ap.parse_args()
for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(a.threads)

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(a.threads)
torch.manual_seed(0)
V, PAD = 258, 256
B, W, S = a.batch, a.ctx, a.stride
E, EH, EF = a.byte_dim, a.byte_heads, a.byte_ffn
D, H, FF, NL = a.d_model, a.heads, a.ffn, a.layers
L = S                                   # chunk slots per chunk (maxChunk = stride)
NCHUNK = math.ceil((W + 1) / S)         # chunks in a row of W + 1 bytes
C = math.ceil(NCHUNK / 8) * 8           # chunk slots per row, as lib/models/pooled.ts rounds them


class RMSNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.w


class Block(nn.Module):
    """Pre-norm attention + SwiGLU, no biases; rotary and causal for the core only."""

    def __init__(self, width, heads, ffn):
        super().__init__()
        self.h, self.hd = heads, width // heads
        self.n1, self.n2 = RMSNorm(width), RMSNorm(width)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(width, width, bias=False) for _ in range(4))
        self.w1, self.w3 = nn.Linear(width, ffn, bias=False), nn.Linear(width, ffn, bias=False)
        self.w2 = nn.Linear(ffn, width, bias=False)

    def forward(self, x, mask, rot=None):  # x [N, T, width]
        n, t, w = x.shape
        h = self.n1(x)
        q, k, v = (f(h).view(n, t, self.h, self.hd).transpose(1, 2) for f in (self.wq, self.wk, self.wv))
        if rot is not None:
            q, k = rope(q, *rot), rope(k, *rot)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        if mask is not None:
            att = att + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(n, t, w)
        x = x + self.wo(y)
        h = self.n2(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class Pooled(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Parameter(torch.randn(V, E) * 0.02)
        self.pos = nn.Parameter(torch.randn(L, E) * 0.02)
        self.enc = nn.ModuleList(Block(E, EH, EF) for _ in range(a.encoder_layers))
        self.enc_norm = RMSNorm(E)
        self.proj = nn.Linear(E, D, bias=False)
        self.start = nn.Parameter(torch.randn(D) * 0.02)
        self.core = nn.ModuleList(Block(D, H, FF) for _ in range(NL))
        self.core_norm = RMSNorm(D)
        self.expand = nn.Linear(D, L * E, bias=False)
        self.dec = nn.ModuleList(Block(E, EH, EF) for _ in range(a.decoder_layers))
        self.dec_norm = RMSNorm(E)
        hd = D // H
        inv = 1.0 / (10000 ** (torch.arange(0, hd // 2).float() / (hd // 2)))
        ang = torch.arange(C).float()[:, None] * inv[None]
        self.register_buffer("cos", ang.cos())
        self.register_buffer("sin", ang.sin())
        self.register_buffer("mask", torch.full((C, C), -1e9).triu(1))

    def forward(self, ids, byte_mask):  # ids [B*C, L], byte_mask [B*C, L]
        h = self.emb[ids] + self.pos
        key_mask = ((1 - byte_mask) * -1e9).view(B * C, 1, 1, L)
        for blk in self.enc:
            h = blk(h, key_mask)
        h = self.enc_norm(h)
        pooled = (h * byte_mask[..., None]).sum(1) / byte_mask.sum(1, keepdim=True).clamp(min=1)
        pooled = self.proj(pooled).view(B, C, D)
        x = torch.cat([self.start.expand(B, 1, D), pooled[:, :-1]], 1)   # chunk j sees chunks < j
        for blk in self.core:
            x = blk(x, self.mask, (self.cos, self.sin))
        x = self.core_norm(x).view(B * C, D)
        h = self.expand(x).view(B * C, L, E)
        for blk in self.dec:
            h = blk(h, None)
        return self.dec_norm(h) @ self.emb.t()                          # [B*C, L, V]


def layout(rows):
    """Rows of W + 1 bytes -> chunk slot ids (PAD after the end), byte mask, scored-slot mask."""
    ids = torch.full((B, C, L), PAD, dtype=torch.long)
    byte_mask = torch.zeros(B, C, L)
    target = torch.zeros(B, C, L)
    for b, row in enumerate(rows):
        for j in range(NCHUNK):
            chunk = row[j * S : (j + 1) * S]
            n = len(chunk)
            ids[b, j, :n] = chunk
            byte_mask[b, j, :n] = 1
            target[b, j, : min(n + 1, L)] = 1                           # the bytes and the end mark
    return ids.view(B * C, L), byte_mask.view(B * C, L), target.view(-1)


model = Pooled()
params = sum(p.numel() for p in model.parameters())
groups = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
          {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]
opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.95))
data = torch.randint(0, 256, (1 << 20,))
times = []
for s in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    off = torch.randint(0, len(data) - W - 1, (B,))
    ids, byte_mask, target = layout([data[o : o + W + 1] for o in off])
    logp = model(ids, byte_mask).log_softmax(-1).view(-1, V)
    nll = -logp.gather(1, ids.view(-1, 1)).view(-1)
    loss = (nll * target).sum() / target.sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if s >= a.warmup:
        times.append(time.perf_counter() - t0)
med = statistics.median(times)
out = {"system": "pytorch-cpu", "torch": torch.__version__, "threads": a.threads, "preset": "pooled-stride4",
       "model": {"ctx": W, "stride": S, "byteDim": E, "byteHeads": EH, "byteFfn": EF, "encoderLayers": a.encoder_layers,
                 "decoderLayers": a.decoder_layers, "dModel": D, "layers": NL, "heads": H, "ffn": FF, "batch": B, "chunkSlots": C},
       "params": params, "steps": a.steps, "medianStepSeconds": round(med, 4), "tokensPerSecond": round(B * W / med)}
print(json.dumps(out) if a.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
