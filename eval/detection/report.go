package detection

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/radtrack/radtrack/rules"
)

// FalseAlarmGoalPerHour is the goal for every rule: at most one
// false alarm per 10 vehicle-hours.
const FalseAlarmGoalPerHour = 0.1

// WriteFalseAlarms prints part (a): per log and rule, condition onsets (and
// how many the reference dose does not justify), then the totals per
// vehicle-hour against the goals.
func WriteFalseAlarms(w io.Writer, reps []Replay, skipped []Skipped) {
	if len(reps) == 0 {
		fmt.Fprintln(w, "no logs")
		return
	}
	fmt.Fprintln(w, "(a) False alarms on the real background: condition onsets per rule (false ones in brackets)")
	rs := reps[0].Rules
	fmt.Fprintf(w, "%-52s %7s", "log", "hours")
	for _, rc := range rs {
		fmt.Fprintf(w, " %12s", shortName(rc.Rule))
	}
	fmt.Fprintln(w)
	for _, r := range reps {
		fmt.Fprintf(w, "%-52s %7.2f", r.Track, r.Hours)
		for _, rc := range r.Rules {
			fmt.Fprintf(w, " %12s", fmt.Sprintf("%d (%d)", rc.Onsets, rc.False))
		}
		fmt.Fprintln(w)
	}
	hours, tot := Totals(reps)
	fmt.Fprintf(w, "%-52s %7.2f", "total", hours)
	for _, rc := range tot {
		fmt.Fprintf(w, " %12s", fmt.Sprintf("%d (%d)", rc.Onsets, rc.False))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-52s %7s", "false alarms per vehicle-hour", "")
	for _, rc := range tot {
		fmt.Fprintf(w, " %12.4f", float64(rc.False)/hours)
	}
	fmt.Fprintln(w)
	var doseFalse, allFalse int
	worst := 0.0
	for _, rc := range tot {
		allFalse += rc.False
		if rc.Rule.Kind == rules.KindLevel || rc.Rule.Kind == rules.KindZone {
			doseFalse += rc.False
		}
		worst = max(worst, float64(rc.False)/hours)
	}
	fmt.Fprintf(w, "goal: 0 false alarms from the dose rules: %d (%s); ≤ %.1f per vehicle-hour for every rule: worst %.4f (%s)\n",
		doseFalse, pass(doseFalse == 0), FalseAlarmGoalPerHour, worst, pass(worst <= FalseAlarmGoalPerHour))
	fmt.Fprintf(w, "all rules together: %d false alarms in %.2f vehicle-hours = %.4f per hour\n", allFalse, hours, float64(allFalse)/hours)
	fmt.Fprintln(w, "not exercised: fence and zone rules (no fences on these logs), silence (needs the server clock)")
	for _, s := range skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.Name, s.Reason)
	}
}

func pass(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func shortName(r rules.Rule) string {
	name := r.Name
	if i := strings.IndexAny(name, "(,"); i > 0 {
		name = strings.TrimSpace(name[:i])
	}
	if len(name) > 12 {
		name = name[:12]
	}
	return name
}

// Curve is one nuclide, distance and speed over the activities.
type Curve struct {
	Nuclide    string
	DistanceM  float64
	SpeedMS    float64
	Points     []Point
	A95Rules   float64
	A95Ideal   float64
	MedianTTA  float64 // at the first activity the rules detect with ≥ 95 %, seconds after closest approach
	TTAAtPoint float64 // that activity
}

// Curves groups grid points (as RunGrid orders them) into curves.
func Curves(points []Point) []Curve {
	var out []Curve
	for i := 0; i < len(points); {
		j := i
		for j < len(points) && points[j].Nuclide == points[i].Nuclide && points[j].DistanceM == points[i].DistanceM && points[j].SpeedMS == points[i].SpeedMS {
			j++
		}
		c := Curve{Nuclide: points[i].Nuclide, DistanceM: points[i].DistanceM, SpeedMS: points[i].SpeedMS, Points: points[i:j]}
		c.A95Rules = Activity95(c.Points, Point.PRules)
		c.A95Ideal = Activity95(c.Points, Point.PIdeal)
		c.MedianTTA, c.TTAAtPoint = math.NaN(), math.NaN()
		for _, p := range c.Points {
			if p.PRules() >= 0.95 {
				c.MedianTTA, c.TTAAtPoint = p.MedianTimeToAlarm(), p.ActivityMBq
				break
			}
		}
		out = append(out, c)
		i = j
	}
	return out
}

// WriteDetection prints parts (b) and (c): per curve the activity detected
// with 95 % probability by the rules and by the ideal detector, their
// ratio against the goals, and the full table when full is set.
func WriteDetection(w io.Writer, curves []Curve, cfg GridConfig, trials int, full bool) {
	fmt.Fprintf(w, "\n(b, c) Point source passes injected into the real counts: %d trials per point; ideal detector at %.4f false alarms per vehicle-hour\n",
		trials, cfg.IdealFAPerHour)
	fmt.Fprintf(w, "%-7s %6s %6s %14s %14s %7s %22s\n", "nuclide", "d (m)", "v (m/s)", "A95 rules MBq", "A95 ideal MBq", "ratio", "median alarm time (s)")
	worst := 0.0
	for _, c := range curves {
		ratio := c.A95Rules / c.A95Ideal
		worst = max(worst, ratio)
		tta := "—"
		if !math.IsNaN(c.MedianTTA) {
			tta = fmt.Sprintf("%+.1f at %g MBq", c.MedianTTA, c.TTAAtPoint)
		}
		fmt.Fprintf(w, "%-7s %6g %6g %14s %14s %7.2f %22s\n", c.Nuclide, c.DistanceM, c.SpeedMS, mbq(c.A95Rules), mbq(c.A95Ideal), ratio, tta)
	}
	verdict := "NOT met"
	switch {
	case worst <= 1.5:
		verdict = "met, and the 1.5× stretch too"
	case worst <= 2:
		verdict = "met (not the 1.5× stretch)"
	}
	fmt.Fprintf(w, "goal: A95 of the rules within 2× of the ideal detector's: worst ratio %.2f — %s\n", worst, verdict)
	if !full {
		return
	}
	fmt.Fprintf(w, "\n%-7s %6s %6s %10s %8s %8s %10s  %s\n", "nuclide", "d (m)", "v (m/s)", "A (MBq)", "P rules", "P ideal", "t alarm s", "P per rule")
	for _, c := range curves {
		for _, p := range c.Points {
			fmt.Fprintf(w, "%-7s %6g %6g %10g %8.3f %8.3f %10.1f ", p.Nuclide, p.DistanceM, p.SpeedMS, p.ActivityMBq, p.PRules(), p.PIdeal(), p.MedianTimeToAlarm())
			for _, r := range cfg.Rules {
				if n := p.ByRule[r.ID]; n > 0 {
					fmt.Fprintf(w, " %s %.3f", shortName(r), float64(n)/float64(p.Trials))
				}
			}
			fmt.Fprintln(w)
		}
	}
}

func mbq(a float64) string {
	if math.IsInf(a, 1) {
		return "> grid"
	}
	return fmt.Sprintf("%.3g", a)
}
