// Package localize estimates where a gamma point source is, and how
// strong, from the counts of moving detectors that passed it (issue #20
// item 3).
//
// Model. A reading i is the counts c_i of one detector over its counting
// interval of live time t_i, taken while the detector moved along the
// segment from its previous fix to its current one. With the source at
// (x, y) on the ground in a local east–north frame (metres) and the
// detector H metres above it, the expected counts are
//
//	λ_i = t_i · (b_v + b'_v·(T_i − T̄_v) + ε_i · A · ḡ_i(x, y)),   g(r) = e^(−μ·r) / r²,
//
// where ḡ_i is g averaged along the segment (a 50 km/h car covers 70 m of a
// bGeigie's 5-s interval: the reading is smeared along it), r the slant
// distance, b_v the background rate of vehicle v's pass at its middle
// T̄_v and b'_v its change per second along the pass (the road's natural
// background changes over hundreds of metres; Reading.T is the reading's
// time; only with Config.BackgroundTrend, else b' = 0), and A the source's strength in counts per
// second at 1 m without air (detector efficiency × emission rate / 4π) for
// a detector of relative efficiency ε = 1 (Reading.Eff: a fleet's
// detectors differ; the server takes ε from the device calibrations).
// Build-up in air and shielding by the vehicle are left out: both bias A,
// not much the position (they change the shape of the count profile
// little at tens of metres).
//
// Air attenuation: μ = 0.0093 /m at 662 keV (Cs-137): NIST XCOM / NIST
// Standard Reference Database 126 (Hubbell & Seltzer), dry air near sea
// level, μ/ρ = 0.08055 cm²/g at 0.6 MeV and 0.07074 at 0.8 MeV, log–log
// interpolated to 0.0770 cm²/g at 0.662 MeV, × ρ = 1.205·10⁻³ g/cm³.
//
// Fit. The Poisson log-likelihood Σ c_i ln λ_i − λ_i is maximised over
// (x, y, A) and every vehicle's background b_v, b'_v: a grid over (x, y) with A
// and the backgrounds profiled out (λ is linear in them, so the
// likelihood is concave there: Fisher scoring), then Levenberg–Marquardt
// (Newton with Marquardt damping on the exact Hessian) in (x, y, A) from
// the best few local maxima of the grid, alternated with the backgrounds
// until the likelihood stops rising. Held at their estimates, backgrounds
// would be known better than they are (and the source's tail, read as
// background, biases them): the region shrank below its level.
//
// The 95 % region of (x, y) is where the profile likelihood-ratio
// statistic 2·(ln L̂ − max_{A,b,b'} ln L(x, y, A, b, b')) stays within 5.991
// (χ² with 2 degrees of freedom) times the region's scale
// (Estimate.Scale): the dispersion (Pearson's χ² per degree of freedom,
// at least 1: the real background varies along the road more than
// Poisson) or the correlation's factor, the larger.
//
// Correlated background (corr.go, gls.go). The road's background rises
// and falls in humps several readings long (a 1-s NaI's race-track
// background: lag-1 autocorrelation 0.70, still 0.2 at lag 10), which
// one dispersion, scaling every variance alike, does not capture, and
// which pull a peak's centre. The counts are taken as Poisson plus an
// excess along each pass with an exponential (AR(1)) autocovariance,
// its variance and lag-1 correlation estimated from the fit's residuals
// where the source adds less than the background (Estimate.Autocov),
// their moments matched to what they are expected to be after the
// linearised fit (the fit takes the slow shapes the excess puts its
// variance in out of the residuals: a weak source the hump beside it).
// Where whitened, a pass of at least 60 readings may have its background
// step once (steps.go: two road sections), kept when the step is 4
// standard errors under Poisson plus the excess.
// Where every reading expects 20 counts or more (a Gaussian
// approximation holds) and some pass has an excess, the modes move to
// the whitened least-squares fit under that covariance (Poisson at the
// fit's λ plus the excess, held), the excess estimated once more from
// its residuals, and the region, TS and significance are read on its
// criterion Q (ln L is −Q/2 there; Estimate.Whitened), the level scaled
// by Q's own dispersion. Otherwise (a Geiger counter's few counts) the
// Poisson fit stands and the excess widens its region: the position's
// sandwich covariance under it against the Poisson one gives factors κ₁,
// κ₂, the statistic is ≈ κ₁Z₁² + κ₂Z₂², and Estimate.Correlation is that
// sum's 95 % quantile over 5.991. Either way the level is widened as
// F's quantile is over χ²'s for the excess being estimated
// (Satterthwaite's degrees of freedom). CorrelatedCRB is that model's
// bound; CRB and ModelCRB stay the Poisson model's.
//
// The region's boundary is traced along 48 rays from each reported mode; with one pass the likelihood is far from quadratic (the
// distance from the road is bounded by the road on one side, loosely known
// on the other), and no ellipse covers what the level says. The ellipse
// reported beside it is a summary: the observed information's axes (A
// marginalised; whitened, the Poisson fit's), their lengths where the profile crosses the level. The
// Cramér–Rao bound is the (x, y) block of the inverse of the expected
// Fisher information Σ ∇λ_i ∇λ_iᵀ / λ_i at the true parameters: with
// the backgrounds and their trends unknown, as the fit has them
// (ModelCRB), or known (CRB, smaller). Significance is TS / scale ≥ 25
// (Estimate.Significant), the scale the region's or, unwhitened, the
// correlation's factor on the strength at the best position if larger:
// a hump reads as a source some tens of metres off, and a significant
// fit always has a bounded region.
//
// Mirror ambiguity. One straight pass cannot tell on which side of the road
// the source is: the likelihood has two equal maxima mirrored across the
// track. Every local maximum within 3 log-likelihood units of the best
// (the 95 % χ²₂ level, 5.991/2) that lies outside the best one's region is
// reported as an alternative with its own part of the region
// (Estimate.Alternatives), and Estimate.Ambiguous is set; the best is then a coin toss between them.
package localize
