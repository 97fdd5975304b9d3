package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/sample"
)

// FuzzTextCells: whatever a device's uid and name hold, the CSV row reads
// back with the same cell count and the uid (formula-guarded), and the
// GPX document stays well-formed XML with the same name.
func FuzzTextCells(f *testing.F) {
	for _, s := range []string{"veh-1", `a,"b"`, "=HYPERLINK(\"x\")", "line\r\nbreak", "<&>", "-1", "\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) || strings.ContainsRune(text, 0) {
			return // not storable: the API refuses it before it is stored
		}
		for _, r := range text {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
				return // not XML characters
			}
		}
		s := sample.New()
		s.Lon, s.Lat, s.GPSValid, s.Source = 1, 2, true, "http"
		dev := export.Device{ID: 1, UID: text, Name: text}
		var buf bytes.Buffer
		w, _ := export.NewTrackWriter(export.CSV, &buf, false)
		_ = w.Begin(dev)
		_ = w.Sample(&s)
		_ = w.Close()
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != 2 || len(rows[1]) != len(rows[0]) {
			t.Fatalf("csv of %q: %v %q", text, err, rows)
		}
		want := text
		if text != "" && strings.ContainsRune("=+-@\t\r", rune(text[0])) {
			want = "'" + text
		}
		// encoding/csv folds \r\n inside quotes to \n.
		if got := rows[1][1]; got != strings.ReplaceAll(want, "\r\n", "\n") {
			t.Fatalf("uid %q read back as %q", text, got)
		}
		buf.Reset()
		w, _ = export.NewTrackWriter(export.GPX, &buf, false)
		_ = w.Begin(dev)
		_ = w.Sample(&s)
		_ = w.Close()
		var doc struct {
			Trk []struct {
				Name string `xml:"name"`
			} `xml:"trk"`
		}
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Trk) != 1 {
			t.Fatalf("gpx of %q: %v", text, err)
		}
		if name := doc.Trk[0].Name; text != "" && name != text {
			t.Fatalf("gpx name %q read back as %q", text, name)
		}
	})
}
