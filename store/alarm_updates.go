package store

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
)

// AlarmUpdate is the coalesced progress of one open episode: what changes
// no state (last seen, sample count, a higher peak, significance). Every
// field only grows, so updates of one episode commute: they may be stored
// in any order, by any node, in one batch. Never the state or the
// condition: those are immediate events.
type AlarmUpdate struct {
	ID  int64     // the stored alarm
	Key rules.Key // its episode's key
	// Batch names the group commit that carries the update (0: none). All
	// updates of one call share it; a store records it with them and skips
	// a batch it has recorded, so updates replayed from the alarm journal
	// after a commit of unknown outcome are applied once.
	Batch int64
	// Samples is the episode's total count in the snapshot; AddSamples is
	// what is added to the stored count.
	Samples, AddSamples int
	LastSeen            time.Time
	PeakDose            float64 // NaN: no sample carried a dose
	PeakTime            time.Time
	PeakLon, PeakLat    float64
	PeakGPSValid        bool
	Significance        float64
}

// UpdateOf returns the update that brings an episode's stored progress up
// to ep, adding add samples.
func UpdateOf(ep rules.Episode, add int) AlarmUpdate {
	sig := ep.Significance
	if math.IsNaN(sig) || math.IsInf(sig, 0) {
		sig = 0
	}
	return AlarmUpdate{ID: ep.ID, Key: ep.Key, Samples: ep.Samples, AddSamples: add, LastSeen: ep.LastSeen,
		PeakDose: ep.PeakDose, PeakTime: ep.PeakTime, PeakLon: ep.PeakLon, PeakLat: ep.PeakLat,
		PeakGPSValid: ep.PeakGPSValid, Significance: sig}
}

// HigherPeak reports whether u's peak is above v's (a dose beats none).
func (u AlarmUpdate) HigherPeak(v AlarmUpdate) bool {
	return !math.IsNaN(u.PeakDose) && (math.IsNaN(v.PeakDose) || u.PeakDose > v.PeakDose)
}

type alarmUpdateJSON struct {
	ID           int64     `json:"id"`
	Key          rules.Key `json:"key"`
	Batch        int64     `json:"batch,omitempty"`
	Samples      int       `json:"samples"`
	AddSamples   int       `json:"add_samples"`
	LastSeen     time.Time `json:"last_seen"`
	PeakDose     *float64  `json:"peak_dose"`
	PeakTime     time.Time `json:"peak_time"`
	PeakLon      float64   `json:"peak_lon"`
	PeakLat      float64   `json:"peak_lat"`
	PeakGPSValid bool      `json:"peak_gps_valid"`
	Significance float64   `json:"significance"`
}

// MarshalJSON writes a missing peak as null (JSON has no NaN).
func (u AlarmUpdate) MarshalJSON() ([]byte, error) {
	j := alarmUpdateJSON{ID: u.ID, Key: u.Key, Batch: u.Batch, Samples: u.Samples, AddSamples: u.AddSamples, LastSeen: u.LastSeen,
		PeakTime: u.PeakTime, PeakLon: u.PeakLon, PeakLat: u.PeakLat, PeakGPSValid: u.PeakGPSValid, Significance: u.Significance}
	if !math.IsNaN(u.PeakDose) {
		j.PeakDose = &u.PeakDose
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (u *AlarmUpdate) UnmarshalJSON(b []byte) error {
	var j alarmUpdateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*u = AlarmUpdate{ID: j.ID, Key: j.Key, Batch: j.Batch, Samples: j.Samples, AddSamples: j.AddSamples, LastSeen: j.LastSeen,
		PeakDose: math.NaN(), PeakTime: j.PeakTime, PeakLon: j.PeakLon, PeakLat: j.PeakLat, PeakGPSValid: j.PeakGPSValid,
		Significance: j.Significance}
	if j.PeakDose != nil {
		u.PeakDose = *j.PeakDose
	}
	return nil
}

// AlarmBatcher stores coalesced episode updates, alone or in the same
// transaction as a group commit of samples, so that acknowledging the
// samples means their episodes' progress is durable too.
type AlarmBatcher interface {
	// UpdateAlarms applies updates (one per episode) in one transaction;
	// resolved or missing episodes are skipped, and so is the whole call if
	// the updates' Batch is recorded already (see AlarmUpdate.Batch).
	UpdateAlarms(ctx context.Context, updates []AlarmUpdate) error
	// WriteSamplesAndAlarms is WriteSamples and UpdateAlarms in one
	// transaction: both are stored or neither, and the updates' Batch is
	// recorded with them.
	WriteSamplesAndAlarms(ctx context.Context, samples []sample.Sample, updates []AlarmUpdate) error
}

// BatchPruneAfter is how long a store keeps the batch ids of stored
// updates (AlarmUpdate.Batch): a journal replayed later than that applies
// its updates again.
const BatchPruneAfter = 7 * 24 * time.Hour
