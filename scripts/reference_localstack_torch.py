"""PyTorch (CPU) twin of lib/models/localstack.ts's local-stack byte model (stride boundaries), to compare throughput.

The companion of reference_pooled_torch.py for the local-stack model:
`stlm bench --preset local-stride4` trains the same model in tfjs, and the two
print the same JSON fields, so they can be put side by side.

The model, as lib/models/localstack.ts builds it for the stride strategy (SpaceByte / BLT /
MegaByte style): each row of ctx bytes (a multiple of the local window W) is cut into
chunks of `stride` bytes; the chunk slots are padded to a multiple of 8 (at least 8).
  byte embedding (258 x E, tied to the byte head)
  -> causal byte layers over the whole row with blockwise local attention: the row
     is cut into blocks of W bytes, and query i of a block sees keys i+1..i+W of
     [previous block, this block], i.e. the W bytes up to and including itself
     (rotary positions over the byte index)
  -> each chunk's last-byte hidden state (a one-hot [C, T] product, as the lab does)
     -> global.in (E x D) -> a causal core over chunks (rotary over the chunk index)
     -> core.norm -> global.out (D x E)
  -> added to every byte of the *next* chunk (a one-hot [T, C+1] product; a learned
     start vector global.start for the first chunk and for padding)
  -> causal byte layers (local attention) -> finalNorm -> byte head (tied).
Every block: RMSNorm pre-norm (eps 1e-5), attention without biases, SwiGLU.
Loss: mean next-byte cross-entropy over the bytes that are not PAD. AdamW (decay on
>= 2-D weights), clipping at 1.0, as the other references. Parameter count: 919,168
at the defaults, the same as `stlm bench --preset local-stride4` reports. The chunk
layout (spans, gather and spread matrices) is computed inside the timed step, as
lib/models/localstack.ts computes it in each forward pass.

--check FILE loads a safetensors file holding the lab's weights (under the lab's
parameter names, linear maps stored [in, out]) and a batch (`check.x`, `check.y`:
byte ids [B, T] as float32), and prints the loss and gradient norms on that batch as
JSON instead of timing (test/unit/bench-localstack.test.ts compares them with tfjs).
--data FILE trains on a file's bytes instead of random bytes; --log-loss prints each
step's loss to stderr (to see that it trains).

Run with Debian's interpreter:  /usr/bin/python3 scripts/reference_localstack_torch.py --threads 1 --json
"""
import argparse, functools, json, math, os, statistics, struct, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--ctx", type=int, default=128, help="bytes of context per row (a multiple of --window)")
ap.add_argument("--stride", type=int, default=4)
ap.add_argument("--window", type=int, default=64, help="the byte layers' local attention window")
ap.add_argument("--byte-dim", type=int, default=128)
ap.add_argument("--byte-heads", type=int, default=4)
ap.add_argument("--byte-ffn", type=int, default=384)
ap.add_argument("--encoder-layers", type=int, default=1)
ap.add_argument("--decoder-layers", type=int, default=1)
ap.add_argument("--d-model", type=int, default=128)
ap.add_argument("--layers", type=int, default=2)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--ffn", type=int, default=384)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--warmup", type=int, default=5)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--json", action="store_true")
ap.add_argument("--data", help="train on this file's bytes instead of random bytes")
ap.add_argument("--log-loss", action="store_true", help="print each step's loss to stderr")
ap.add_argument("--check", metavar="FILE", help="safetensors with the lab's weights and check.x / check.y: print loss and gradient norms")
a = ap.parse_args()
if a.ctx < 1 or a.ctx % a.window != 0:
    sys.exit(f"--ctx must be a multiple of --window={a.window} (the byte layers attend in blocks of the window); got {a.ctx}")
for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(a.threads)

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(a.threads)
torch.manual_seed(0)
V, PAD = 258, 256
B, CTX, S, W = a.batch, a.ctx, a.stride, a.window
E, EH, EF = a.byte_dim, a.byte_heads, a.byte_ffn
D, H, FF, NL = a.d_model, a.heads, a.ffn, a.layers
EPS = 1e-5
NLAYERS = a.encoder_layers + a.decoder_layers + NL   # for the residual projections' init scale


class RMSNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.w


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


def rotary(n, head):
    inv = 1.0 / (10000 ** (torch.arange(0, head // 2).float() / (head // 2)))
    ang = torch.arange(n).float()[:, None] * inv[None]
    return ang.cos(), ang.sin()


@functools.lru_cache(maxsize=None)                                      # made once per block count, as the lab caches it
def local_mask(n):
    """[n, W, 2W] additive mask: query i of block b sees keys i+1..i+W of [block b-1, block b]."""
    i = torch.arange(W)[:, None]
    j = torch.arange(2 * W)[None, :]
    ok = (j > i) & (j <= i + W)
    m = torch.zeros(W, 2 * W).masked_fill(~ok, -1e9).expand(n, W, 2 * W).clone()
    m[0, :, :W] = -1e9                                                  # the first block has no previous one
    return m


def local_attention(q, k, v, mask):
    """Blockwise local causal attention, as lib/models/localstack.ts's byteLayers: q, k, v [N, heads, T, hd]."""
    n_, h, t, hd = q.shape
    n = t // W

    def pairs(x):                                                      # [N, h, n, 2W, hd]: previous block's keys, then its own
        blocks = x.reshape(n_, h, n, W, hd)
        prev = torch.cat([blocks.new_zeros(n_, h, 1, W, hd), blocks[:, :, :-1]], 2)
        return torch.cat([prev, blocks], 3)

    att = (q.reshape(n_, h, n, W, hd) @ pairs(k).transpose(-1, -2)) / math.sqrt(hd) + mask
    return (att.softmax(-1) @ pairs(v)).reshape(n_, h, t, hd)


def full_attention(q, k, v, mask):
    return (((q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + mask).softmax(-1)) @ v


class Block(nn.Module):
    """Pre-norm attention + SwiGLU, no biases, rotary; `attend` is local (byte layers) or full causal (core)."""

    def __init__(self, width, heads, ffn):
        super().__init__()
        self.h, self.hd = heads, width // heads
        self.n1, self.n2 = RMSNorm(width), RMSNorm(width)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(width, width, bias=False) for _ in range(4))
        self.w1, self.w3 = nn.Linear(width, ffn, bias=False), nn.Linear(width, ffn, bias=False)
        self.w2 = nn.Linear(ffn, width, bias=False)

    def forward(self, x, attend, mask, cos, sin):  # x [N, T, width]
        n, t, w = x.shape
        h = self.n1(x)
        q, k, v = (f(h).view(n, t, self.h, self.hd).transpose(1, 2) for f in (self.wq, self.wk, self.wv))
        y = attend(rope(q, cos, sin), rope(k, cos, sin), v, mask).transpose(1, 2).reshape(n, t, w)
        x = x + self.wo(y)
        h = self.n2(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))

    def named(self, prefix):
        """(lab name, parameter, stored transposed in the lab) in lib/models/localstack.ts's order."""
        return [(f"{prefix}.attnNorm", self.n1.w, False), (f"{prefix}.attn.wq", self.wq.weight, True), (f"{prefix}.attn.wk", self.wk.weight, True),
                (f"{prefix}.attn.wv", self.wv.weight, True), (f"{prefix}.attn.wo", self.wo.weight, True), (f"{prefix}.mlpNorm", self.n2.w, False),
                (f"{prefix}.mlp.w1", self.w1.weight, True), (f"{prefix}.mlp.w3", self.w3.weight, True), (f"{prefix}.mlp.w2", self.w2.weight, True)]


class LocalStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Parameter(torch.randn(V, E) * 0.02)             # tied with the head
        self.enc = nn.ModuleList(Block(E, EH, EF) for _ in range(a.encoder_layers))
        self.glob_in = nn.Linear(E, D, bias=False)
        self.glob_out = nn.Linear(D, E, bias=False)
        self.start = nn.Parameter(torch.zeros(E))
        self.core = nn.ModuleList(Block(D, H, FF) for _ in range(NL))
        self.core_norm = RMSNorm(D)
        self.dec = nn.ModuleList(Block(E, EH, EF) for _ in range(a.decoder_layers))
        self.final_norm = RMSNorm(E)
        # The lab's init: N(0, 0.02), residual projections (wo, w2, global.out) scaled by 1 / sqrt(2 L).
        for name, p, _ in self.named():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * NLAYERS) if name.endswith((".wo", ".w2")) or name == "global.out" else 0.02
                with torch.no_grad():
                    p.normal_(0, std)
        cos, sin = rotary(CTX, E // EH)
        self.register_buffer("lcos", cos)
        self.register_buffer("lsin", sin)
        cos, sin = rotary(CTX, D // H)                                   # core.blockSize = ctx: a row has at most ctx chunks
        self.register_buffer("ccos", cos)
        self.register_buffer("csin", sin)
        self.register_buffer("cmask", torch.full((CTX, CTX), -1e9).triu(1))

    def named(self):
        out = [("byteEmbed", self.emb, False)]
        for l, blk in enumerate(self.enc):
            out += blk.named(f"encoder.{l}")
        out += [("global.in", self.glob_in.weight, True), ("global.out", self.glob_out.weight, True), ("global.start", self.start, False)]
        for l, blk in enumerate(self.core):
            out += blk.named(f"core.{l}")
        out.append(("core.norm", self.core_norm.w, False))
        for l, blk in enumerate(self.dec):
            out += blk.named(f"decoder.{l}")
        out.append(("finalNorm", self.final_norm.w, False))
        return out

    def forward(self, ids, gather, spread):  # ids [B, T]; gather [B, C, T]; spread [B, T, C+1]
        b, t = ids.shape
        c = gather.shape[1]
        lmask, lcos, lsin = local_mask(t // W), self.lcos[:t], self.lsin[:t]
        h = self.emb[ids]
        for blk in self.enc:
            h = blk(h, local_attention, lmask, lcos, lsin)
        x = self.glob_in(gather @ h)                                     # [B, C, D]: each chunk's last byte
        for blk in self.core:
            x = blk(x, full_attention, self.cmask[:c, :c], self.ccos[:c], self.csin[:c])
        back = self.glob_out(self.core_norm(x))                          # [B, C, E]
        h = h + spread @ torch.cat([self.start.expand(b, 1, E), back], 1)  # byte t <- the chunk before its own
        for blk in self.dec:
            h = blk(h, local_attention, lmask, lcos, lsin)
        return self.final_norm(h) @ self.emb.t()                         # [B, T, V]


def layout(x):
    """Byte ids [B, T0] (PAD after a row's end) -> ids padded to a multiple of W, gather [B, C, T], spread [B, T, C+1]."""
    b, t0 = x.shape
    t = math.ceil(t0 / W) * W
    ids = torch.full((b, t), PAD, dtype=torch.long)
    ids[:, :t0] = x
    real = (x < 256).long()
    lengths = torch.where(real.all(1), t0, (1 - real).argmax(1)).tolist()  # bytes up to the first PAD
    spans = [[(s, min(n, s + S)) for s in range(0, n, S)] for n in lengths]
    c = min(CTX, max(8, math.ceil(max(1, *(len(r) for r in spans)) / 8) * 8))
    gather = torch.zeros(b, c, t)
    spread = torch.zeros(b, t, c + 1)
    for r, row in enumerate(spans):
        for j, (s, e) in enumerate(row):
            gather[r, j, e - 1] = 1
            spread[r, s:e, j] = 1
        spread[r, lengths[r]:, 0] = 1                                    # padding reads the start vector
    return ids, gather, spread, c


def loss_of(model, x, y):
    ids, gather, spread, c = layout(x)
    logits = model(ids, gather, spread)[:, : x.shape[1]]
    nll = -logits.log_softmax(-1).gather(2, y.unsqueeze(-1)).squeeze(-1)
    mask = (y < 256).float()
    return (nll * mask).sum() / mask.sum().clamp(min=1), c


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {info['dtype']}, not F32")
        begin, end = info["data_offsets"]
        chunk = bytearray(raw[8 + n + begin : 8 + n + end])
        out[name] = (torch.frombuffer(chunk, dtype=torch.float32) if chunk else torch.zeros(0)).reshape(info["shape"])
    return out


model = LocalStack()
params = sum(p.numel() for p in model.parameters())
assert params == sum(p.numel() for _, p, _ in model.named()), "every parameter has a lab name"

if a.check:
    t = read_safetensors(a.check)
    with torch.no_grad():
        for name, p, transposed in model.named():
            if name not in t:
                sys.exit(f"{a.check} lacks tensor {name}")
            w = t[name].t() if transposed else t[name]
            if list(w.shape) != list(p.shape):
                sys.exit(f"{name}: the file's shape {list(t[name].shape)} does not fit the twin's {list(p.shape)}")
            p.copy_(w)
    x, y = t["check.x"].long(), t["check.y"].long()
    loss, c = loss_of(model, x, y)
    loss.backward()
    norms = {name: p.grad.norm().item() for name, p, _ in model.named()}
    print(json.dumps({"system": "pytorch-cpu", "params": params, "chunkSlots": c, "loss": loss.item(),
                      "gradNorm": math.sqrt(sum(v * v for v in norms.values())), "gradNorms": norms}))
    sys.exit(0)

groups = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": 0.1},
          {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]
opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.95))
if a.data:
    with open(a.data, "rb") as f:
        data = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).long()
    if len(data) < CTX + 2:
        sys.exit(f"--data {a.data} holds {len(data)} bytes; a row needs {CTX + 1}")
else:
    data = torch.randint(0, 256, (1 << 20,))
times = []
for s in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    off = torch.randint(0, len(data) - CTX - 1, (B,))
    rows = torch.stack([data[o : o + CTX + 1] for o in off])
    loss, C = loss_of(model, rows[:, :-1], rows[:, 1:])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if s >= a.warmup:
        times.append(time.perf_counter() - t0)
    if a.log_loss:
        print(f"step {s + 1} loss {loss.item():.4f}", file=sys.stderr)
med = statistics.median(times) if times else float("nan")
out = {"system": "pytorch-cpu", "torch": torch.__version__, "threads": a.threads, "preset": "local-stride4",
       "model": {"ctx": CTX, "stride": S, "window": W, "byteDim": E, "byteHeads": EH, "byteFfn": EF, "encoderLayers": a.encoder_layers,
                 "decoderLayers": a.decoder_layers, "dModel": D, "layers": NL, "heads": H, "ffn": FF, "batch": B, "chunkSlots": C},
       "params": params, "steps": a.steps, "medianStepSeconds": round(med, 4), "tokensPerSecond": round(B * CTX / med)}
print(json.dumps(out) if a.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
