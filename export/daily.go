package export

import (
	"bufio"
	"io"
	"strconv"

	"github.com/radtrack/radtrack/dose"
)

// DailyCSV writes per-vehicle daily summaries, one row per device and day.
type DailyCSV struct {
	w      *bufio.Writer
	levels []float64
	buf    []byte
}

// NewDailyCSV writes the header (one above_<level>_s column per level).
func NewDailyCSV(w io.Writer, levels []float64) *DailyCSV {
	d := &DailyCSV{w: bufio.NewWriterSize(w, 32<<10), levels: levels}
	b := []byte("device_id,device_uid,device_name,date,samples,reporting_s,distance_m,dose_usv,dose_s,gaps,max_dose_rate_usvh,alarms")
	for _, l := range levels {
		b = append(b, ",above_"...)
		b = appendFloat(b, l)
		b = append(b, "_usvh_s"...)
	}
	b = append(b, '\r', '\n')
	_, _ = d.w.Write(b)
	return d
}

// Row writes one day of one device.
func (d *DailyCSV) Row(dev Device, day dose.Day) error {
	b := d.buf[:0]
	b = strconv.AppendInt(b, dev.ID, 10)
	b = append(b, ',')
	b = csvText(b, dev.UID)
	b = append(b, ',')
	b = csvText(b, dev.Name)
	b = append(b, ',')
	b = append(b, day.Date...)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(day.Samples), 10)
	for _, v := range []float64{day.ReportingSeconds, day.DistanceM, day.DoseUSv, day.DoseSeconds} {
		b = append(b, ',')
		b = appendFloat(b, v)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(day.Gaps), 10)
	b = append(b, ',')
	if day.MaxDoseRate != nil {
		b = appendFloat(b, *day.MaxDoseRate)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(day.Alarms), 10)
	for i := range d.levels {
		b = append(b, ',')
		if i < len(day.Above) {
			b = appendFloat(b, day.Above[i].Seconds)
		}
	}
	b = append(b, '\r', '\n')
	d.buf = b
	_, err := d.w.Write(b)
	return err
}

// Close flushes.
func (d *DailyCSV) Close() error { return d.w.Flush() }
