package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/deadletter"
	"github.com/radtrack/radtrack/internal/framelog"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/spool"
	"github.com/radtrack/radtrack/store"
)

// list shows what replay set aside, from both logs; redrive hands it back
// to the spool and the journal (exactly as it was) and empties the logs.
func TestDeadletterListAndRedrive(t *testing.T) {
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	sp, err := spool.Open(spoolDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	batch := make([]sample.Sample, 3)
	for i := range batch {
		batch[i] = sample.New()
		batch[i].DeviceID, batch[i].Time, batch[i].Source = 7, at.Add(time.Duration(i)*time.Second), sample.SourceHTTP
	}
	batch[1].Attributes = map[string]any{"note": "a\x00b"}
	if err := sp.Append(batch); err != nil {
		t.Fatal(err)
	}
	refuse := func(context.Context, []sample.Sample) error {
		return &store.RefusedError{Refusals: []store.Refusal{{Index: 1, Field: "attributes", Err: errors.New("unsupported Unicode escape sequence (SQLSTATE 22P05)")}}}
	}
	if st, err := sp.Replay(context.Background(), refuse); err != nil || len(st.DeadLettered) != 1 || st.Replayed != 2 {
		t.Fatalf("replay: %+v %v", st, err)
	}
	sp.Close()
	event := []byte(`{"event":{"type":"raised","key":{"device_id":9,"rule_id":2,"fence_id":0,"imported":false},"alarm_id":-77,"time":"2026-05-01T08:00:05Z"}}`)
	jl, err := deadletter.Open(filepath.Join(spoolDir, "alarms", deadletter.DirName), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := jl.Append([]deadletter.Record{{Kind: deadletter.KindAlarmEvent, SetAside: at, DeviceID: 9, AlarmID: -77, Event: "raised",
		Time: at.Add(5 * time.Second), Reason: "ERROR: invalid byte sequence\nfor encoding (SQLSTATE 22021)", Payload: event}}); err != nil {
		t.Fatal(err)
	}
	jl.Close()

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"deadletter", "list", "-data", dir}, &out, &errb); err != nil {
		t.Fatalf("list: %v %s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "sample") || !strings.Contains(lines[1], " 7 ") ||
		!strings.Contains(lines[1], "2026-05-01T08:00:01Z") || !strings.Contains(lines[1], "attributes") || !strings.Contains(lines[1], "22P05") ||
		!strings.Contains(lines[2], "alarm_event") || !strings.Contains(lines[2], "-77") || !strings.Contains(lines[2], "invalid byte sequence for encoding") ||
		lines[3] != "2 record(s) set aside under "+spoolDir {
		t.Fatalf("list output:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"deadletter", "list", "-json", "-spool-dir", spoolDir}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var first struct {
		Log string `json:"log"`
		deadletter.Record
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &first); err != nil || first.Log != "spool" || first.DeviceID != 7 || len(first.Payload) == 0 {
		t.Fatalf("-json: %+v %v\n%s", first, err, out.String())
	}

	out.Reset()
	if err := run(context.Background(), []string{"deadletter", "redrive", "-data", dir}, &out, &errb); err != nil {
		t.Fatalf("redrive: %v %s", err, errb.String())
	}
	if !strings.Contains(out.String(), "handed back 1 sample(s) to the spool and 1 alarm event(s) to the journal; 0 record(s) kept") {
		t.Fatalf("redrive output: %s", out.String())
	}
	sp, err = spool.Open(spoolDir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var back []sample.Sample
	if _, err := sp.Replay(context.Background(), func(_ context.Context, s []sample.Sample) error { back = append(back, s...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 || back[0].DeviceID != 7 || !back[0].Time.Equal(batch[1].Time) || back[0].Attributes["note"] != "a\x00b" {
		t.Fatalf("spool after redrive holds %+v, want the set-aside sample as it was", back)
	}
	var journal [][]byte
	_ = framelog.Scan(filepath.Join(spoolDir, "alarms"), func(p []byte) error { journal = append(journal, p); return nil })
	if len(journal) != 1 || !bytes.Equal(journal[0], event) {
		t.Fatalf("journal after redrive: %q, want the set-aside event", journal)
	}
	out.Reset()
	_ = run(context.Background(), []string{"deadletter", "list", "-data", dir}, &out, &errb)
	if !strings.Contains(out.String(), "0 record(s) set aside") {
		t.Fatalf("after redrive:\n%s", out.String())
	}
}
