"""Eager PyTorch peer of bench/kge-gpu on the GPU: TransE and TransR, softplus loss, SparseAdam for the
entity table (nn.Embedding(sparse=True)), Adam for relations and projections, both sampling schemes, on the
same triples and batches as adkg (files written by run.js).

  independent: 64 fresh negatives per positive, the straightforward way (gather, bmm, vector_norm).
  shared:      chunks of 256 positives of one relation share 64 negatives, as PyTorch-BigGraph does it:
               negatives gathered and projected once per chunk, scores by torch.cdist over the chunk.

Usage: python3 pytorch_kge_gpu.py PLAN.json  -> last line {"transe":{CONFIG:P,...},"transr":{...}} (positives/s per
plan config: {name, sampling, batch})
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def build(model, n_ent, n_rel, d, k, dev):
    ent = torch.nn.Embedding(n_ent, d, sparse=True).to(dev)
    rel = torch.nn.Embedding(n_rel, k).to(dev)
    scale = 8.0 / d
    with torch.no_grad():
        ent.weight.uniform_(-scale, scale)
        rel.weight.uniform_(-scale, scale)
    dense = list(rel.parameters())
    proj = None
    if model == "transr":
        proj = torch.nn.Embedding(n_rel, k * d).to(dev)
        with torch.no_grad():
            proj.weight.copy_(torch.eye(k, d, device=dev).reshape(1, -1).repeat(n_rel, 1))
        dense += list(proj.parameters())
    return ent, rel, proj, dense


def step_independent(model, ent, rel, proj, h, r, t, n, n_ent, gamma, d, k):
    B = h.shape[0]
    dev = h.device
    neg = torch.randint(0, n_ent, (B, n), device=dev)
    head_side = torch.rand(B, n, device=dev) < 0.5
    he, te, re, ne = ent(h), ent(t), rel(r), ent(neg)
    if model == "transr":
        M = proj(r).view(B, k, d)
        he = torch.bmm(M, he[:, :, None])[:, :, 0]
        te = torch.bmm(M, te[:, :, None])[:, :, 0]
        ne = torch.bmm(ne, M.transpose(1, 2))
    pos = torch.linalg.vector_norm(he + re - te, dim=-1)
    nh = torch.where(head_side[..., None], ne, he[:, None, :])
    nt = torch.where(head_side[..., None], te[:, None, :], ne)
    negd = torch.linalg.vector_norm(nh + re[:, None, :] - nt, dim=-1)
    return 0.5 * (F.softplus(pos - gamma) + F.softplus(gamma - negd).mean(dim=1)).mean()


def step_shared(model, ent, rel, proj, h, r, t, n, n_ent, gamma, chunk, d, k):
    B = h.shape[0]
    dev = h.device
    nc = B // chunk
    h, r, t = h.view(nc, chunk), r.view(nc, chunk), t.view(nc, chunk)
    neg = torch.randint(0, n_ent, (nc, n), device=dev)
    head_side = torch.rand(nc, device=dev) < 0.5
    he, te, ne = ent(h), ent(t), ent(neg)
    re = rel(r[:, 0])
    if model == "transr":
        Mt = proj(r[:, 0]).view(nc, k, d).transpose(1, 2)
        he, te, ne = torch.bmm(he, Mt), torch.bmm(te, Mt), torch.bmm(ne, Mt)
    pos = torch.linalg.vector_norm(he + re[:, None, :] - te, dim=-1)
    query = torch.where(head_side[:, None, None], te - re[:, None, :], he + re[:, None, :])
    negd = torch.cdist(query, ne)
    return 0.5 * (F.softplus(pos - gamma) + F.softplus(gamma - negd).mean(dim=2)).mean()


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def main():
    plan = json.load(open(sys.argv[1]))
    # ADKG_TORCH_DEVICE=cpu: a local dry run of this script (the bench itself is on the GPU).
    dev = torch.device(os.environ.get("ADKG_TORCH_DEVICE", "cuda"))
    # allowTf32: TF32 tensor-core matmuls (bmm, and cdist's matmul form), the peer of adkg's ADKG_CUDA_GEMM=tf32.
    tf32 = bool(plan.get("allowTf32", False))
    torch.backends.cuda.matmul.allow_tf32 = tf32
    tag = " tf32" if tf32 else ""
    torch.manual_seed(0)
    T = None
    tri = np.fromfile(plan["triples"], dtype=np.int32)
    T = tri.shape[0] // 3
    heads = torch.from_numpy(tri[:T].astype(np.int64)).to(dev)
    rels = torch.from_numpy(tri[T:2 * T].astype(np.int64)).to(dev)
    tails = torch.from_numpy(tri[2 * T:].astype(np.int64)).to(dev)
    n_ent, n_rel, d, n = plan["entities"], plan["relations"], plan["dim"], plan["negatives"]
    k = d
    gamma, warmup, steps_wanted = plan["margin"], plan["warmup"], plan["steps"]
    out = {}
    print(f"pytorch {torch.__version__} on {torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu'}", file=sys.stderr)
    for model in plan["models"]:
        out[model] = {}
        for tc in plan["configs"]:
            sampling, B = tc["sampling"], tc["batch"]
            nb = (len(tri) // 3) // B
            steps = min(steps_wanted, nb - warmup)
            order = torch.from_numpy(np.fromfile(plan["batches"][sampling], dtype=np.int32).astype(np.int64)).to(dev)
            ent, rel, proj, dense = build(model, n_ent, n_rel, d, k, dev)
            sparse_opt = torch.optim.SparseAdam(list(ent.parameters()), lr=plan["lr"])
            dense_opt = torch.optim.Adam(dense, lr=plan["lr"])
            t0 = None
            for i in range(warmup + steps):
                if i == warmup:
                    sync(dev)
                    t0 = time.perf_counter()
                idx = order[i * B:(i + 1) * B]
                h, r, t = heads[idx], rels[idx], tails[idx]
                if sampling == "independent":
                    loss = step_independent(model, ent, rel, proj, h, r, t, n, n_ent, gamma, d, k)
                else:
                    loss = step_shared(model, ent, rel, proj, h, r, t, n, n_ent, gamma, plan["chunk"], d, k)
                sparse_opt.zero_grad()
                dense_opt.zero_grad()
                loss.backward()
                sparse_opt.step()
                dense_opt.step()
            sync(dev)
            seconds = time.perf_counter() - t0
            out[model][tc["name"]] = steps * B / seconds
            print(f"pytorch{tag} {model} {tc['name']}: {out[model][tc['name']]:.0f} positives/s (loss {loss.item():.4f})", file=sys.stderr)
            del ent, rel, proj, dense, sparse_opt, dense_opt
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
