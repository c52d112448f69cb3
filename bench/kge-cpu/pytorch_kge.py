"""Eager PyTorch peer of bench/kge-cpu: TransE and TransR, softplus loss, sparse Adagrad for entities,
Adam for relations and projections, both sampling schemes, on the same triples and batches as adkg.

  independent: 64 fresh negatives per positive, nn.Embedding(sparse=True) the straightforward way.
  shared:      chunks of 256 positives of one relation share 64 negatives, as PyTorch-BigGraph does it:
               negatives gathered and projected once per chunk, scores by torch.cdist over the chunk.

Usage: python pytorch_kge.py PLAN.json MODEL SAMPLING  -> prints one JSON line {MODEL:{SAMPLING:P}} (positives/s)
"""
import json
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

# Sparse Adagrad's note about disabled invariant checks, once per step.
warnings.filterwarnings("ignore", message="Sparse invariant checks")


def build(model, n_ent, n_rel, d, k):
    ent = torch.nn.Embedding(n_ent, d, sparse=True)
    rel = torch.nn.Embedding(n_rel, k)
    scale = 8.0 / d
    with torch.no_grad():
        ent.weight.uniform_(-scale, scale)
        rel.weight.uniform_(-scale, scale)
    dense = list(rel.parameters())
    proj = None
    if model == "transr":
        proj = torch.nn.Embedding(n_rel, k * d)
        with torch.no_grad():
            proj.weight.copy_(torch.eye(k, d).reshape(1, -1).repeat(n_rel, 1))
        dense += list(proj.parameters())
    return ent, rel, proj, dense


def step_independent(model, ent, rel, proj, h, r, t, n, n_ent, gamma, d, k):
    B = h.shape[0]
    neg = torch.randint(0, n_ent, (B, n))
    head_side = torch.rand(B, n) < 0.5
    he, te, re, ne = ent(h), ent(t), rel(r), ent(neg)  # (B,d) (B,d) (B,k) (B,n,d)
    if model == "transr":
        M = proj(r).view(B, k, d)
        he = torch.bmm(M, he[:, :, None])[:, :, 0]
        te = torch.bmm(M, te[:, :, None])[:, :, 0]
        ne = torch.bmm(ne, M.transpose(1, 2))  # (B,n,k)
    pos = torch.linalg.vector_norm(he + re - te, dim=-1)
    # head replaced: ‖e + r − t‖ = ‖e − (t − r)‖; tail replaced: ‖h + r − e‖ = ‖e − (h + r)‖
    query = torch.where(head_side[..., None], (te - re)[:, None, :], (he + re)[:, None, :])  # (B,n,k)
    negd = torch.linalg.vector_norm(ne - query, dim=-1)
    return 0.5 * (F.softplus(pos - gamma) + F.softplus(gamma - negd).mean(dim=1)).mean()


def step_shared(model, ent, rel, proj, h, r, t, n, n_ent, gamma, chunk, d, k):
    B = h.shape[0]
    nc = B // chunk
    h, r, t = h.view(nc, chunk), r.view(nc, chunk), t.view(nc, chunk)
    neg = torch.randint(0, n_ent, (nc, n))
    head_side = torch.rand(nc) < 0.5
    he, te, ne = ent(h), ent(t), ent(neg)  # (nc,C,d) (nc,C,d) (nc,n,d)
    re = rel(r[:, 0])  # one relation per chunk: (nc,k)
    if model == "transr":
        M = proj(r[:, 0]).view(nc, k, d)
        Mt = M.transpose(1, 2)
        he, te, ne = torch.bmm(he, Mt), torch.bmm(te, Mt), torch.bmm(ne, Mt)  # negatives projected once per chunk
    pos = torch.linalg.vector_norm(he + re[:, None, :] - te, dim=-1)  # (nc,C)
    # tail side: ‖(h + r) − e‖; head side: ‖e + r − t‖ = ‖(t − r) − e‖
    query = torch.where(head_side[:, None, None], te - re[:, None, :], he + re[:, None, :])
    negd = torch.cdist(query, ne)  # (nc,C,n)
    return 0.5 * (F.softplus(pos - gamma) + F.softplus(gamma - negd).mean(dim=2)).mean()


def main():
    plan = json.load(open(sys.argv[1]))
    model, sampling = sys.argv[2], sys.argv[3]
    torch.set_num_threads(plan["threads"])
    torch.manual_seed(0)
    tri = np.fromfile(plan["triples"], dtype=np.int32).reshape(3, -1)
    batches = np.fromfile(plan["batches"], dtype=np.int32).reshape(-1, plan["batch"])
    heads, rels, tails = (torch.from_numpy(tri[i].astype(np.int64)) for i in range(3))
    n_ent, n_rel, d, k, n = plan["entities"], plan["relations"], plan["dim"], plan["relDim"], plan["negatives"]
    gamma, warmup = plan["margin"], plan["warmup"]
    ent, rel, proj, dense = build(model, n_ent, n_rel, d, k)
    sparse_opt = torch.optim.Adagrad(list(ent.parameters()), lr=plan["lr"])
    dense_opt = torch.optim.Adam(dense, lr=plan["relationLr"])
    t0 = None
    for i, b in enumerate(batches):
        if i == warmup:
            t0 = time.perf_counter()
        idx = torch.from_numpy(b.astype(np.int64))
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
    per_second = (len(batches) - warmup) * plan["batch"] / (time.perf_counter() - t0)
    print(f"pytorch {model} {sampling}: {per_second:.0f} positives/s (loss {loss.item():.4f})", end=" ", file=sys.stderr)
    print(json.dumps({model: {sampling: per_second}}))


if __name__ == "__main__":
    main()
