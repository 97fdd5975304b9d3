// Package storetest is the behaviour every store.Store implementation must
// show. Each backend's tests call Run with a constructor of fresh stores.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Run runs the shared suite. open must return an empty, migrated store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Devices", func(t *testing.T) { testDevices(t, open(t)) })
	t.Run("SamplesRoundTrip", func(t *testing.T) { testSamplesRoundTrip(t, open(t)) })
	t.Run("RewriteIsIdempotent", func(t *testing.T) { testRewriteIsIdempotent(t, open(t)) })
	t.Run("DoseMinutes", func(t *testing.T) { testDoseMinutes(t, open(t)) })
	t.Run("StreamedDose", func(t *testing.T) { testStreamedDose(t, open(t)) })
	t.Run("Shifts", func(t *testing.T) { testShifts(t, open(t)) })
	t.Run("StreamedAlarms", func(t *testing.T) { testStreamedAlarms(t, open(t)) })
	t.Run("UsersSessionsTokensAudit", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("APITokens", func(t *testing.T) { testAPITokens(t, open(t)) })
	t.Run("UserChangesEndCredentials", func(t *testing.T) { testUserChangesEndCredentials(t, open(t)) })
	t.Run("FencesAndRules", func(t *testing.T) { testFencesAndRules(t, open(t)) })
	t.Run("ConfigVersion", func(t *testing.T) { testConfigVersion(t, open(t)) })
	t.Run("Alarms", func(t *testing.T) { testAlarms(t, open(t)) })
	t.Run("AlarmUpdates", func(t *testing.T) { testAlarmUpdates(t, open(t)) })
	t.Run("AlarmProgressExact", func(t *testing.T) { testAlarmProgressExact(t, open(t)) })
	t.Run("AlarmProgressConcurrent", func(t *testing.T) { testAlarmProgressConcurrent(t, open(t)) })
	t.Run("Heatmap", func(t *testing.T) { testHeatmap(t, open(t)) })
	t.Run("Overlays", func(t *testing.T) { testOverlays(t, open(t)) })
	t.Run("Spectra", func(t *testing.T) { testSpectra(t, open(t)) })
	t.Run("Sites", func(t *testing.T) { testSites(t, open(t)) })
	t.Run("SpectraRetention", func(t *testing.T) { testSpectraRetention(t, open(t)) })
	t.Run("NotifyTrailAfterStop", func(t *testing.T) { testNotifyTrailAfterStop(t, open(t)) })
	t.Run("EscalationEventNewestWins", func(t *testing.T) { testEscalationEventNewestWins(t, open(t)) })
	t.Run("NotifyDigestCoversIncidents", func(t *testing.T) { testNotifyDigestCoversIncidents(t, open(t)) })
	t.Run("NotifyDigestEventsShared", func(t *testing.T) { testNotifyDigestEventsShared(t, open(t)) })
	t.Run("IncidentSources", func(t *testing.T) { testIncidentSources(t, open(t)) })
	t.Run("SamplesInArea", func(t *testing.T) { testSamplesInArea(t, open(t)) })
}

// Base is a fixed, recent, minute-aligned time so tests are reproducible.
var Base = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// NewDevice creates a device with a fresh token and returns both.
func NewDevice(t testing.TB, s store.Store, uid string) (store.Device, string) {
	t.Helper()
	token, hash, err := auth.NewDeviceToken()
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.CreateDevice(context.Background(), store.Device{UID: uid, Name: "Vehicle " + uid, Group: "patrol"}, hash)
	if err != nil {
		t.Fatalf("create device %s: %v", uid, err)
	}
	return d, token
}

// Samples returns n valid samples of one device, one second apart from start.
func Samples(deviceID int64, start time.Time, n int) []sample.Sample {
	out := make([]sample.Sample, n)
	for i := range out {
		s := sample.New()
		s.DeviceID = deviceID
		s.Time = start.Add(time.Duration(i) * time.Second)
		s.ReceivedAt = s.Time.Add(300 * time.Millisecond)
		s.Lon, s.Lat, s.GPSValid = 140.1+float64(i)*1e-5, 37.4+float64(i)*1e-5, true
		s.Speed, s.Heading, s.Satellites = 12.5, 90, 9
		s.DoseRate, s.Counts, s.CountInterval, s.RadValid = 0.1+float64(i%10)*0.01, 3, 5, true
		s.Source = sample.SourceHTTP
		out[i] = s
	}
	return out
}

func testDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, token := NewDevice(t, s, "veh-1")
	if d.ID == 0 || d.CPMPerUSvH != sample.DefaultCPMPerUSvH || !d.Active() {
		t.Fatalf("created device = %+v, want id set, default calibration 334, active", d)
	}
	byToken, err := s.DeviceByTokenHash(ctx, auth.HashToken(token))
	if err != nil || byToken.ID != d.ID {
		t.Fatalf("DeviceByTokenHash = %+v, %v; want device %d", byToken, err, d.ID)
	}
	if _, err := s.DeviceByTokenHash(ctx, auth.HashToken(token+"x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wrong token: err = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateDevice(ctx, store.Device{UID: "veh-1", Name: "dup"}, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate uid: err = %v, want ErrConflict", err)
	}
	byUID, err := s.DeviceByUID(ctx, "veh-1")
	if err != nil || byUID.Name != "Vehicle veh-1" || byUID.Group != "patrol" {
		t.Fatalf("DeviceByUID = %+v, %v", byUID, err)
	}

	newToken, newHash, _ := auth.NewDeviceToken()
	if err := s.SetDeviceToken(ctx, d.ID, newHash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeviceByTokenHash(ctx, auth.HashToken(token)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotated-out token still works: %v", err)
	}
	if got, err := s.DeviceByTokenHash(ctx, auth.HashToken(newToken)); err != nil || got.ID != d.ID {
		t.Fatalf("new token: %+v, %v", got, err)
	}
	if err := s.RevokeDevice(ctx, d.ID, Base); err != nil {
		t.Fatal(err)
	}
	revoked, err := s.DeviceByID(ctx, d.ID)
	if err != nil || revoked.Active() || !revoked.RevokedAt.Equal(Base) {
		t.Fatalf("after revoke: %+v, %v", revoked, err)
	}
	if err := s.RevokeDevice(ctx, 999999, Base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v, want ErrNotFound", err)
	}
	NewDevice(t, s, "veh-2")
	all, err := s.ListDevices(ctx)
	if err != nil || len(all) != 2 || all[0].UID != "veh-1" || all[1].UID != "veh-2" {
		t.Fatalf("ListDevices = %+v, %v", all, err)
	}
}

func testSamplesRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "veh-rt")
	in := Samples(d.ID, Base, 3)
	in[1].GPSValid, in[1].Lon, in[1].Lat = false, 0, 0
	in[1].DoseRate, in[1].Satellites = math.NaN(), -1
	in[2].Attributes = map[string]any{"ignition": true, "note": "x"}
	in[2].Imported = true
	if err := s.WriteSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, err := s.Track(ctx, store.TrackQuery{DeviceID: d.ID, From: Base, To: Base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("Track returned %d samples, want 3", len(out))
	}
	for i := range in {
		want, got := in[i], out[i]
		if !got.Time.Equal(want.Time) || !got.ReceivedAt.Equal(want.ReceivedAt) || got.DeviceID != want.DeviceID ||
			got.GPSValid != want.GPSValid || got.Lon != want.Lon || got.Lat != want.Lat ||
			!sameFloat(got.DoseRate, want.DoseRate) || !sameFloat(got.Speed, want.Speed) || !sameFloat(got.Altitude, want.Altitude) ||
			got.Satellites != want.Satellites || got.Counts != want.Counts || got.Source != want.Source || got.Imported != want.Imported {
			t.Errorf("sample %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if out[2].Attributes["ignition"] != true || out[2].Attributes["note"] != "x" {
		t.Errorf("attributes = %v", out[2].Attributes)
	}
	limited, err := s.Track(ctx, store.TrackQuery{DeviceID: d.ID, From: Base.Add(time.Second), To: Base.Add(time.Hour), Limit: 1})
	if err != nil || len(limited) != 1 || !limited[0].Time.Equal(Base.Add(time.Second)) {
		t.Fatalf("window+limit: %d samples, %v", len(limited), err)
	}
}

func testRewriteIsIdempotent(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "veh-dup")
	batch := Samples(d.ID, Base, 100)
	if err := s.WriteSamples(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// A retry of the same batch plus new samples, and a batch that repeats
	// one sample inside itself: all stored exactly once.
	retry := append(Samples(d.ID, Base, 100), Samples(d.ID, Base.Add(100*time.Second), 50)...)
	if err := s.WriteSamples(ctx, retry); err != nil {
		t.Fatalf("retried batch: %v", err)
	}
	inner := Samples(d.ID, Base.Add(200*time.Second), 5)
	inner = append(inner, inner[0])
	if err := s.WriteSamples(ctx, inner); err != nil {
		t.Fatalf("batch with an inner duplicate: %v", err)
	}
	out, err := s.Track(ctx, store.TrackQuery{DeviceID: d.ID, From: Base, To: Base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 155 {
		t.Fatalf("stored %d samples, want 155 (each exactly once)", len(out))
	}
	for i := 1; i < len(out); i++ {
		if !out[i].Time.After(out[i-1].Time) {
			t.Fatalf("sample %d at %s repeats or precedes %s", i, out[i].Time, out[i-1].Time)
		}
	}
}

func testDoseMinutes(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "veh-min")
	// 150 samples, 1 s apart: minutes 0 and 1 full (60 each), minute 2 has 30.
	in := Samples(d.ID, Base, 150)
	in[75].DoseRate = 2.5 // peak in minute 1
	if err := s.WriteSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	mins, err := s.DoseMinutes(ctx, d.ID, Base, Base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(mins) != 3 {
		t.Fatalf("got %d minutes, want 3: %+v", len(mins), mins)
	}
	wantSamples := []int64{60, 60, 30}
	for i, m := range mins {
		if !m.Bucket.Equal(Base.Add(time.Duration(i)*time.Minute)) || m.Samples != wantSamples[i] {
			t.Errorf("minute %d = bucket %s samples %d, want %s %d", i, m.Bucket, m.Samples, Base.Add(time.Duration(i)*time.Minute), wantSamples[i])
		}
		if m.Min == nil || m.Max == nil || m.Avg == nil || *m.Min != 0.1 {
			t.Errorf("minute %d dose stats = %v %v %v, want min 0.1", i, m.Min, m.Avg, m.Max)
		}
	}
	if *mins[1].Max != 2.5 || math.Abs(*mins[0].Max-0.19) > 1e-9 {
		t.Errorf("max dose = %v, %v; want 0.19, 2.5", *mins[0].Max, *mins[1].Max)
	}
	last := in[149]
	if mins[2].Lon == nil || *mins[2].Lon != last.Lon || *mins[2].Lat != last.Lat {
		t.Errorf("last position of minute 2 = %v,%v want %v,%v", mins[2].Lon, mins[2].Lat, last.Lon, last.Lat)
	}
	// A window starting mid-minute leaves that minute out.
	later, err := s.DoseMinutes(ctx, d.ID, Base.Add(30*time.Second), Base.Add(time.Hour))
	if err != nil || len(later) != 2 {
		t.Fatalf("window from 00:30: %d minutes, %v; want 2", len(later), err)
	}
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on empty store = %d, %v", n, err)
	}
	u, err := s.CreateUser(ctx, store.User{Username: "ana", Role: "operator", PasswordHash: "h1"})
	if err != nil || u.ID == 0 || !u.Active() {
		t.Fatalf("CreateUser = %+v, %v", u, err)
	}
	if _, err := s.CreateUser(ctx, store.User{Username: "ana", Role: "viewer", PasswordHash: "x"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate username: %v, want ErrConflict", err)
	}
	if got, err := s.UserByUsername(ctx, "ana"); err != nil || got.ID != u.ID || got.PasswordHash != "h1" {
		t.Fatalf("UserByUsername = %+v, %v", got, err)
	}
	if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}

	now := time.Now()
	_, sess, _ := auth.NewSessionToken()
	if err := s.CreateSession(ctx, sess, u.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SessionUser(ctx, sess, now); err != nil || got.ID != u.ID {
		t.Fatalf("SessionUser = %+v, %v", got, err)
	}
	if _, err := s.SessionUser(ctx, sess, now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: %v, want ErrNotFound", err)
	}
	_, apiHash, _ := auth.NewAPIToken()
	if _, err := s.CreateAPIToken(ctx, u.ID, "gateway", apiHash); err != nil {
		t.Fatal(err)
	}
	if got, err := s.APITokenUser(ctx, apiHash); err != nil || got.ID != u.ID {
		t.Fatalf("APITokenUser = %+v, %v", got, err)
	}

	role, disabled := "admin", true
	up, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Role: &role, Disabled: &disabled})
	if err != nil || up.Role != "admin" || up.Active() {
		t.Fatalf("UpdateUser = %+v, %v", up, err)
	}
	if _, err := s.SessionUser(ctx, sess, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session survived disabling the user: %v", err)
	}
	enabled := false
	if up, err = s.UpdateUser(ctx, u.ID, store.UserUpdate{Disabled: &enabled}); err != nil || !up.Active() || up.PasswordHash != "h1" {
		t.Fatalf("re-enable = %+v, %v", up, err)
	}
	if _, err := s.UpdateUser(ctx, 424242, store.UserUpdate{Role: &role}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown user: %v", err)
	}

	uid := u.ID
	for i, action := range []string{"login", "alarm.acknowledge"} {
		if err := s.AppendAudit(ctx, store.AuditEntry{UserID: &uid, Username: "ana", Action: action, Target: "alarm/" + string(rune('1'+i)), Details: []byte(`{"comment":"checked"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	audit, err := s.ListAudit(ctx, 10)
	if err != nil || len(audit) != 2 || audit[0].Action != "alarm.acknowledge" || audit[1].Action != "login" || *audit[0].UserID != u.ID {
		t.Fatalf("ListAudit = %+v, %v", audit, err)
	}
	var details map[string]string
	if err := json.Unmarshal(audit[0].Details, &details); err != nil || details["comment"] != "checked" {
		t.Fatalf("audit details = %s", audit[0].Details)
	}
}
