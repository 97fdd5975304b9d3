package dose

import (
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Day is the summary of one UTC day of one vehicle.
type Day struct {
	Date string `json:"date"` // YYYY-MM-DD, UTC
	Summary
	Alarms int `json:"alarms"`
}

// Daily splits a time-ordered stream into UTC days. An interval that
// crosses midnight is not bridged into the next day: each day is accounted
// on its own samples, so days add up to the range less those intervals.
type Daily struct {
	cfg  Config
	cur  *Accumulator
	date string
	days []Day
}

// NewDaily returns an empty daily accounting.
func NewDaily(cfg Config) *Daily { return &Daily{cfg: cfg} }

// Add takes the next sample.
func (d *Daily) Add(s *sample.Sample) {
	date := s.Time.UTC().Format(time.DateOnly)
	if d.cur == nil || date != d.date {
		d.flush()
		d.cur, d.date = New(d.cfg), date
	}
	d.cur.Add(s)
}

func (d *Daily) flush() {
	if d.cur != nil {
		d.days = append(d.days, Day{Date: d.date, Summary: d.cur.Summary()})
	}
}

// Days returns the days with at least one sample, oldest first.
func (d *Daily) Days() []Day {
	d.flush()
	d.cur = nil
	return d.days
}
