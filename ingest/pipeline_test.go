package ingest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Samples the database refuses come back as rejections at their request
// index, among the validation rejections, and are counted; the request is
// answered, not failed.
func TestPipelineReportsRefusedSamplesByRequestIndex(t *testing.T) {
	sink := &poisonSink{}
	m := metrics.New()
	w := newTestWriter(sink, WriterConfig{FlushInterval: 0, Flushers: 1, Classify: classifyTest})
	defer w.Close(context.Background())
	p := NewPipeline(w, m)
	now := time.Now().UTC().Truncate(time.Second)
	in := make([]sample.Sample, 6)
	for i := range in {
		in[i] = sample.New()
		in[i].Time = now.Add(time.Duration(i-10) * time.Second)
	}
	in[0].Lat = math.Inf(1)                            // invalid
	in[2].Attributes = map[string]any{"poison": "yes"} // valid, refused by the store
	in[3].Battery = 150                                // invalid
	in[5].Attributes = map[string]any{"poison": "yes"} // valid, refused by the store
	res, err := p.Ingest(context.Background(), store.Device{ID: 9}, sample.SourceHTTP, in)
	if err != nil {
		t.Fatalf("Ingest = %v, want the request answered with rejections", err)
	}
	var got []string
	for _, r := range res.Rejected {
		got = append(got, r.Field+"@"+itoa(r.Index))
	}
	if res.Accepted != 2 || len(got) != 4 || got[0] != "lat@0" || got[1] != "attributes@2" || got[2] != "battery@3" || got[3] != "attributes@5" {
		t.Fatalf("accepted %d, rejected %v; want 2 accepted, lat@0 attributes@2 battery@3 attributes@5", res.Accepted, got)
	}
	if !sink.has(9, in[1].Time) || !sink.has(9, in[4].Time) || sink.has(9, in[2].Time) {
		t.Fatal("the valid, storable samples must be stored, the refused ones not")
	}
	if v := counterValue(m.SamplesRejected.WithLabelValues(sample.SourceHTTP, string(ReasonNotStorable))); v != 2 {
		t.Fatalf(`radtrack_samples_rejected_total{reason="not_storable"} = %v, want 2`, v)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
