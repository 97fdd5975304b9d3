// Package importer feeds recorded drives into the ingest pipeline: bGeigie
// SD-card logs, AtomFast CSV exports and ANSI N42.42 XML. Imported samples
// go through the same validation, rules and storage as live ones, flagged
// Imported so that their alarms are recorded but page nobody. Importing a
// file twice stores nothing new ((device, time) is the natural key).
package importer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/atomfast"
	"github.com/radtrack/radtrack/ingest/bgeigie"
	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Formats the importer recognises.
const (
	FormatBGeigie  = "bgeigie"
	FormatAtomFast = "atomfast"
	FormatN42      = "n42"
)

// batchSize is how many samples go to the pipeline at once.
const batchSize = 5000

// Report is the outcome of importing one file.
type Report struct {
	File     string
	Format   string
	Samples  int            // decoded and handed to the pipeline
	Accepted int            // passed validation (rows already stored are not stored twice)
	Rejected int            // refused by validation
	Skipped  map[string]int // not importable, by reason (checksum, malformed, no_time, …)
	Spectra  int            // N42 gamma spectra stored (rows already stored are kept)
	Nuclides int            // instruments' nuclide IDs stored with them
	Notes    []string       // what the format decoder ignored
}

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %d samples, %d accepted, %d rejected", r.File, r.Format, r.Samples, r.Accepted, r.Rejected)
	if r.Spectra > 0 || r.Nuclides > 0 {
		fmt.Fprintf(&b, ", %d spectra, %d nuclide IDs", r.Spectra, r.Nuclides)
	}
	reasons := make([]string, 0, len(r.Skipped))
	for k := range r.Skipped {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		fmt.Fprintf(&b, ", %d skipped (%s)", r.Skipped[k], k)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n  note: %s", n)
	}
	return b.String()
}

// Importer imports files for one device through a pipeline.
type Importer struct {
	Pipeline *ingest.Pipeline
	Device   store.Device
	// Spectra stores N42 spectra after the file's samples; nil: spectra
	// are not stored (counted in Report.Skipped as spectrum_not_stored).
	Spectra store.Spectra
}

// File imports one file, detecting its format from its content.
func (im *Importer) File(ctx context.Context, path string) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	format, err := Detect(rd, path)
	if err != nil {
		return Report{}, fmt.Errorf("import %s: %w", path, err)
	}
	rep := Report{File: filepath.Base(path), Format: format, Skipped: map[string]int{}}
	b := &batcher{im: im, rep: &rep}
	switch format {
	case FormatBGeigie:
		err = bgeigie.DecodeLog(rd, func(_ int, s sample.Sample, err error) error {
			return b.add(ctx, s, err)
		})
	case FormatAtomFast:
		err = atomfast.Decode(rd, func(_ int, s sample.Sample, err error) error {
			return b.add(ctx, s, err)
		})
	case FormatN42:
		var doc *n42.Document
		if doc, err = n42.Decode(rd); err == nil {
			rep.Notes = doc.Notes
			for _, me := range doc.Errors {
				_ = b.add(ctx, sample.Sample{}, me)
			}
			for _, s := range doc.Samples {
				if err = b.add(ctx, s, nil); err != nil {
					break
				}
			}
			if err == nil {
				err = b.flush(ctx) // the samples first: spectra sit beside them
			}
			if err == nil {
				err = im.spectra(ctx, doc, &rep)
			}
		}
	}
	if err == nil {
		err = b.flush(ctx)
	}
	if err != nil {
		return rep, fmt.Errorf("import %s: %w", path, err)
	}
	return rep, nil
}

// Detect names the format of a file from its first bytes (and, for ties,
// its extension) without consuming rd.
func Detect(rd *bufio.Reader, path string) (string, error) {
	head, err := rd.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("read: %w", err)
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	switch {
	case bytes.Contains(head, []byte("<RadInstrumentData")) || bytes.Contains(head, []byte("<N42InstrumentData")) || (bytes.HasPrefix(bytes.TrimSpace(head), []byte("<?xml")) && strings.EqualFold(filepath.Ext(path), ".n42")):
		return FormatN42, nil
	case bytes.Contains(head, []byte("$BNRDD")) || bytes.Contains(head, []byte("$BMRDD")) ||
		bytes.Contains(head, []byte("$BGRDD")) || bytes.Contains(head, []byte("$BNXRDD")):
		return FormatBGeigie, nil
	case bytes.HasPrefix(head, []byte("unix timestamp;")) || bytes.HasPrefix(head, []byte("timestamp;")):
		return FormatAtomFast, nil
	}
	return "", errors.New("unknown format: expected a bGeigie log, an AtomFast CSV or N42.42 XML")
}

// batcher collects decoded samples and hands them to the pipeline in
// batches, counting what could not be imported.
type batcher struct {
	im    *Importer
	rep   *Report
	batch []sample.Sample
}

func (b *batcher) add(ctx context.Context, s sample.Sample, err error) error {
	if err != nil {
		b.rep.Skipped[skipReason(err)]++
		return nil
	}
	if s.Time.IsZero() {
		// No device time (a bGeigie that lost GPS time): a recorded sample
		// cannot be placed on the time line, and the receive time would be
		// wrong by hours.
		b.rep.Skipped["no_time"]++
		return nil
	}
	s.Imported = true
	s.Source = sample.SourceImport
	b.batch = append(b.batch, s)
	if len(b.batch) >= batchSize {
		return b.flush(ctx)
	}
	return nil
}

func (b *batcher) flush(ctx context.Context) error {
	if len(b.batch) == 0 {
		return nil
	}
	res, err := b.im.Pipeline.Ingest(ctx, b.im.Device, sample.SourceImport, b.batch)
	if err != nil {
		return err
	}
	b.rep.Samples += len(b.batch)
	b.rep.Accepted += res.Accepted
	b.rep.Rejected += len(res.Rejected)
	b.batch = b.batch[:0]
	return nil
}

func skipReason(err error) string {
	var fe *sample.FieldError
	switch {
	case errors.Is(err, bgeigie.ErrChecksum):
		return "checksum"
	case errors.As(err, &fe):
		return "bad_" + fe.Field
	}
	return "malformed"
}

// spectra stores a document's spectra and nuclide IDs.
func (im *Importer) spectra(ctx context.Context, doc *n42.Document, rep *Report) error {
	sp := Spectra(doc, im.Device.ID, rep.Skipped)
	if len(sp) == 0 {
		return nil
	}
	if im.Spectra == nil {
		rep.Skipped["spectrum_not_stored"] += len(sp)
		return nil
	}
	if err := im.writeSpectra(ctx, sp); err != nil {
		return err
	}
	rep.Spectra = len(sp)
	for _, s := range sp {
		rep.Nuclides += len(s.Nuclides)
	}
	return nil
}
