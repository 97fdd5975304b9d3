package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
)

func testShifts(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "shift-1")
	e, _ := NewDevice(t, s, "shift-2")
	mk := func(dev int64, crew string, startH, endH int) store.Shift {
		sh, err := s.CreateShift(ctx, store.Shift{DeviceID: dev, Crew: crew, Start: Base.Add(time.Duration(startH) * time.Hour),
			End: Base.Add(time.Duration(endH) * time.Hour), Note: "n", CreatedBy: "op"})
		if err != nil {
			t.Fatal(err)
		}
		return sh
	}
	night := mk(d.ID, "red", -8, 0)
	day := mk(d.ID, "blue", 0, 8)
	other := mk(e.ID, "red", 2, 10)
	if day.ID == 0 || !day.Start.Equal(Base) || !day.End.Equal(Base.Add(8*time.Hour)) || day.CreatedBy != "op" || day.CreatedAt.IsZero() {
		t.Fatalf("created %+v", day)
	}
	ids := func(f store.ShiftFilter) []int64 {
		list, err := s.ListShifts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, sh := range list {
			out = append(out, sh.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.ShiftFilter
		want []int64
	}{
		{"all by start", store.ShiftFilter{}, []int64{night.ID, day.ID, other.ID}},
		{"device", store.ShiftFilter{DeviceID: d.ID}, []int64{night.ID, day.ID}},
		{"crew", store.ShiftFilter{Crew: "red"}, []int64{night.ID, other.ID}},
		// [From, To) overlap: a shift ending exactly at From is out.
		{"overlap", store.ShiftFilter{From: Base, To: Base.Add(time.Hour)}, []int64{day.ID}},
		{"limit", store.ShiftFilter{Limit: 1}, []int64{night.ID}},
	} {
		if got := ids(tc.f); len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1])) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	day.Crew, day.End, day.DeviceID = "green", Base.Add(9*time.Hour), e.ID
	up, err := s.UpdateShift(ctx, day)
	if err != nil || up.Crew != "green" || !up.End.Equal(Base.Add(9*time.Hour)) || up.DeviceID != e.ID || up.CreatedBy != "op" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if got, err := s.Shift(ctx, day.ID); err != nil || got.Crew != "green" {
		t.Fatalf("get after update: %+v %v", got, err)
	}
	if _, err := s.UpdateShift(ctx, store.Shift{ID: 999_999, DeviceID: d.ID, Crew: "x", Start: Base, End: Base.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing shift: %v", err)
	}
	if _, err := s.CreateShift(ctx, store.Shift{DeviceID: d.ID, Crew: "x", Start: Base, End: Base}); err == nil {
		t.Errorf("an empty shift was stored")
	}
	if err := s.DeleteShift(ctx, night.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteShift(ctx, night.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.Shift(ctx, night.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
}
