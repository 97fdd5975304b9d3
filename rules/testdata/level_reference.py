# Independent reference for rules/fukushima_test.go: the level decision of
# README "Detection statistics" written again from its description (not from
# the Go code) over the raw log. Usage, from the repository root:
#   python3 rules/testdata/level_reference.py ../shared/data/radiation/safecast_bgeigie_BGRDD_fukushima_2012-07-01.log 1.0
# Needs mpmath (Poisson tails as regularised incomplete gamma functions).
import sys, math
from datetime import datetime
import mpmath
path = sys.argv[1]; level = float(sys.argv[2])
rows = []
for line in open(path, encoding='latin-1'):
    f = line.strip().split(',')
    if len(f) < 13 or f[0] != '$BGRDD': continue
    t = datetime.strptime(f[2], '%Y-%m-%dT%H:%M:%SZ')
    cpm, counts = float(f[3]), float(f[4])
    def deg(v, neg):
        x = float(v); d = math.floor(x/100); r = d + (x-d*100)/60
        return -r if neg else r
    lat, lon = deg(f[7], f[8]=='S'), deg(f[9], f[10]=='W')
    rows.append((t, cpm, counts, lat, lon))
def binom_two_sided(k, n, q):
    n, k = int(round(n)), int(round(k))
    pmf = lambda i: math.comb(n, i) * q**i * (1-q)**(n-i)
    lo = sum(pmf(i) for i in range(0, k+1)); hi = sum(pmf(i) for i in range(k, n+1))
    return 2*min(lo, hi)
def dose(cpm, counts):
    if counts <= cpm and binom_two_sided(counts, cpm, 5/60) >= 1e-3: return cpm/334
    return counts*12/334
gaps = set((rows[i][0]-rows[i-1][0]).total_seconds() for i in range(1, len(rows)))
print('gaps', sorted(gaps), file=sys.stderr)
alpha = 1e-3/4
rate = level*334/60
active = False; ev = {'raised':0, 'updated':0, 'condition_ended':0}
peak = None; first = None; ended_at = None
for i, (t, cpm, c, lat, lon) in enumerate(rows):
    wins = []
    for n in (1, 3, 6, 12):
        if i+1 >= n: wins.append((sum(r[2] for r in rows[i+1-n:i+1]), 5*n))
        else: wins.append((sum(r[2] for r in rows[:i+1]), 5*(i+1)))
    up = any(K > rate*T and mpmath.gammainc(K, 0, rate*T, regularized=True) < alpha for K, T in wins)
    d = dose(cpm, c)
    if up:
        if first is None:
            ev['raised'] += 1; first = t
        else: ev['updated'] += 1
        active = True
        if peak is None or d > peak[0]: peak = (d, t, lat, lon)
    elif active:
        down = any(K < rate*T and mpmath.gammainc(K+1, rate*T, mpmath.inf, regularized=True) < alpha for K, T in wins[:2])  # 5 and 15 s only
        if down:
            active = False; ev['condition_ended'] += 1; ended_at = t
print(ev, 'first', first, 'samples', ev['raised']+ev['updated'], 'peak', peak, 'ended', ended_at, 'active', active)
