"""
CVR probe: a logistic regression on clicks with time-respecting offsite features computed straight from a
simulated world's events.jsonl / truth.jsonl (an impression sees the offsite events of the UTC days before its
own; evaluation clicks see all days before evaluation), to ask which graph signals carry CVR before building
them into the ranking model. Compares feature sets: offsite events all together (as the ranking model had
them until session 4), organic (no pinId) and attributed (pinId: after an ad click) apart, per-day rates, the
user x advertiser click count, the user's category shares, and each with an advertiser one-hot.
    python3 -m venv /tmp/v && /tmp/v/bin/pip install numpy && /tmp/v/bin/python bench/rank-lr-probe.py WORLD_DIR [EVAL_START_MS]
WORLD_DIR is `adkg simulate --out`'s directory; EVAL_START_MS defaults to 2026-01-13T00:00Z (14 default days, 2
evaluation days). Prints the oracle AUC and, per feature set, the evaluation CVR AUC (without / with the
advertiser one-hot).
"""
import collections, datetime, json, sys
import numpy as np
W = sys.argv[1]; DAY = 86400000; EVAL = int(sys.argv[2]) if len(sys.argv) > 2 else 1768262400000  # 2026-01-13
def day(ts): return ts // DAY
ev = collections.defaultdict(list)  # day -> list of offsite events (u, a, action, organic)
for line in open(W + '/events.jsonl'):
    if '"offsite"' not in line: continue
    e = json.loads(line)
    if not e.get('consent'): continue
    ts = int(datetime.datetime.fromisoformat(e['ts'].replace('Z', '+00:00')).timestamp() * 1000)
    if ts >= EVAL: continue
    ev[day(ts)].append((int(e['userId'][1:]), int(e['advertiserId'][1:]), e['action'], 'pinId' not in e))
rows = []  # impressions in time order
for line in open(W + '/truth.jsonl'):
    r = json.loads(line); rows.append((r['ts'], int(r['userId'][1:]), int(r['advertiserId'][1:]), r['category'], r['click'], r['conversion'], r['pConvert']))
rows.sort()
ACT = {'page_visit': 0, 'add_to_cart': 1, 'checkout': 2, 'signup': 2, 'lead': 2}
user = collections.defaultdict(lambda: np.zeros(6))  # visit/cart/conv attributed, visit/cart/conv organic
pair = collections.defaultdict(lambda: np.zeros(6))
pclk = collections.defaultdict(float); uclk = collections.defaultdict(float); ucat = collections.defaultdict(float); uimp = collections.defaultdict(float); ucatimp = collections.defaultdict(float)
X, y, isev, orc, advs = [], [], [], [], []
cur = -1; d0 = day(rows[0][0])
def advance(d):
    for dd in sorted(k for k in ev if k < d and k >= advance.done):
        for (u, a, act, org) in ev[dd]:
            j = ACT[act] + (3 if org else 0); user[u][j] += 1; pair[(u, a)][j] += 1
    advance.done = max(advance.done, d)
advance.done = -10**9
pend = []
for (ts, u, a, c, clk, conv, pc) in rows:
    d = day(ts)
    if d != cur:
        for (u2, a2, c2, k2) in pend:  # onsite counts of earlier days only
            uimp[u2] += 1; ucatimp[(u2, c2)] += 1
            if k2: pclk[(u2, a2)] += 1; uclk[u2] += 1; ucat[(u2, c2)] += 1
        pend = []; cur = d; advance(min(d, day(EVAL)))
    ev_row = ts >= EVAL
    if not ev_row: pend.append((u, a, c, clk))
    if not clk: continue
    U = user[u]; P = pair[(u, a)]; days = max(1, min(d, day(EVAL)) - d0)
    f = dict(opt=float(U.sum() > 0), uA=np.log1p(U[:3]), uO=np.log1p(U[3:]), uAll=np.log1p(U[:3] + U[3:]),
             rate=np.log1p((U[:3] + U[3:]) / days), rateO=np.log1p(U[3:] / days),
             pA=np.log1p(P[:3]), pO=np.log1p(P[3:]), pAll=np.log1p(P[:3] + P[3:]), pclk=np.log1p(pclk[(u, a)]),
             catshare=np.array([ucat[(u, c)] / max(1, uclk[u]), ucatimp[(u, c)] / max(1, uimp[u])]))
    X.append(f); y.append(conv); isev.append(ev_row); orc.append(pc); advs.append(a)
y = np.array(y, float); isev = np.array(isev); orc = np.array(orc); advs = np.array(advs)
def auc(s, t):
    o = np.argsort(s, kind='mergesort'); r = np.empty(len(s)); r[o] = np.arange(1, len(s) + 1)
    # average ties
    ss = s[o]; i = 0
    while i < len(ss):
        j = i
        while j < len(ss) and ss[j] == ss[i]: j += 1
        r[o[i:j]] = (i + j + 1) / 2; i = j
    p = t.sum(); return (r[t == 1].sum() - p * (p + 1) / 2) / (p * (len(t) - p))
def fit(M, l2=1.0, it=300):
    tr = ~isev; A = M[tr]; mu = A.mean(0); sd = A.std(0) + 1e-6; Z = (M - mu) / sd; Z = np.hstack([Z, np.ones((len(Z), 1))]); A = Z[tr]; t = y[tr]
    w = np.zeros(Z.shape[1])
    for _ in range(it):  # Newton
        p = 1 / (1 + np.exp(-A @ w)); g = A.T @ (p - t) + l2 * np.r_[w[:-1], 0]; H = (A * (p * (1 - p))[:, None]).T @ A + l2 * np.eye(len(w)); w -= np.linalg.solve(H, g)
    return auc(Z[isev] @ w, y[isev])
def mat(keys, adv=False):
    cols = [np.array([np.atleast_1d(f[k]) for f in X]) for k in keys]
    M = np.hstack(cols)
    if adv: M = np.hstack([M, (advs[:, None] == np.arange(advs.max() + 1)[None, :]).astype(float)])
    return M
print(W, 'train clicks', int((~isev).sum()), 'conv', int(y[~isev].sum()), 'eval clicks', int(isev.sum()), 'conv', int(y[isev].sum()), 'oracle', round(auc(orc[isev], y[isev]), 4))
for name, keys in [('current(user A+O, pair all)', ['opt', 'uAll', 'pAll']), ('+rate', ['opt', 'uAll', 'rate', 'pAll']), ('split A/O user', ['opt', 'uA', 'uO', 'pAll']), ('split A/O pair', ['opt', 'uAll', 'pA', 'pO']), ('split both', ['opt', 'uA', 'uO', 'pA', 'pO']), ('split both+rate', ['opt', 'uA', 'uO', 'rate', 'rateO', 'pA', 'pO']), ('pair all + pclk', ['opt', 'uAll', 'pAll', 'pclk']), ('+catshare', ['opt', 'uAll', 'pAll', 'pclk', 'catshare']), ('split both + pclk + cat', ['opt', 'uA', 'uO', 'rate', 'rateO', 'pA', 'pO', 'pclk', 'catshare'])]:
    print('%-28s %.4f  +adv %.4f' % (name, fit(mat(keys)), fit(mat(keys, True), l2=5.0)))
