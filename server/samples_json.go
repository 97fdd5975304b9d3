package server

import (
	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/sample"
)

func samplesJSON(in []sample.Sample) []export.SampleJSON {
	out := make([]export.SampleJSON, len(in))
	for i := range in {
		out[i] = export.ToSampleJSON(&in[i])
	}
	return out
}
