# Independent reference for rules/fukushima_test.go: the level decision of
# README "Detection statistics" written again from its description (not from
# the Go code) over the raw log. Usage, from the repository root:
#   python3 rules/testdata/level_reference.py ../shared/data/radiation/safecast_bgeigie_BGRDD_fukushima_2012-07-01.log 1.0
# Needs mpmath (Poisson tails as regularised incomplete gamma functions).
# With three more arguments LAT LON RADIUS_M it judges a zone rule instead:
# the level only while inside that circle (haversine), entered after two
# consecutive fixes at least 5 m inside and left after two at least 5 m
# outside (README "Fences"); leaving ends the condition.
import sys, math
from datetime import datetime
import mpmath
path = sys.argv[1]; level = float(sys.argv[2])
zone = tuple(float(x) for x in sys.argv[3:6]) if len(sys.argv) >= 6 else None
def haversine(lat1, lon1, lat2, lon2):
    R = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp/2)**2 + math.cos(p1)*math.cos(p2)*math.sin(dl/2)**2
    return 2*R*math.asin(math.sqrt(a))
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
inside, run = zone is None, 0
for i, (t, cpm, c, lat, lon) in enumerate(rows):
    if zone is not None:
        dist = haversine(lat, lon, zone[0], zone[1])
        if not inside:
            run = run + 1 if dist <= zone[2] - 5 else 0
            if run >= 2: inside, run = True, 0
        else:
            run = run + 1 if dist >= zone[2] + 5 else 0
            if run >= 2: inside, run = False, 0
    wins = []
    for n in (1, 3, 6, 12):
        if i+1 >= n: wins.append((sum(r[2] for r in rows[i+1-n:i+1]), 5*n))
        else: wins.append((sum(r[2] for r in rows[:i+1]), 5*(i+1)))
    up = inside and any(K > rate*T and mpmath.gammainc(K, 0, rate*T, regularized=True) < alpha for K, T in wins)
    d = dose(cpm, c)
    if up:
        if first is None:
            ev['raised'] += 1; first = t
        else: ev['updated'] += 1
        active = True
        if peak is None or d > peak[0]: peak = (d, t, lat, lon)
    elif active and not inside:
        active = False; ev['condition_ended'] += 1; ended_at = t
    elif active:
        down = any(K < rate*T and mpmath.gammainc(K+1, rate*T, mpmath.inf, regularized=True) < alpha for K, T in wins[:2])  # 5 and 15 s only
        if down:
            active = False; ev['condition_ended'] += 1; ended_at = t
print(ev, 'first', first, 'samples', ev['raised']+ev['updated'], 'peak', peak, 'ended', ended_at, 'active', active)
