package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/rules"
)

// AlarmFormats are the formats of an alarm list, JSON (the API) first.
var AlarmFormats = []Format{JSON, CSV, GeoJSON}

// AlarmCSVHeader is the first line of an alarm CSV.
const AlarmCSVHeader = "id,device_id,device_uid,rule_id,rule_name,kind,severity,state,first_seen,last_seen,samples,peak_dose_rate_usvh,peak_time,peak_lon,peak_lat,peak_gps_valid,acked_by,acked_at,ack_comment,resolved_by,resolved_at,code,resolve_comment,imported"

// AlarmWriter writes alarm episodes one by one.
type AlarmWriter interface {
	Alarm(ep *rules.Episode, deviceUID string) error
	Close() error
}

// NewAlarmWriter returns the CSV or GeoJSON writer on w.
func NewAlarmWriter(f Format, w io.Writer) (AlarmWriter, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	switch f {
	case CSV:
		_, _ = bw.WriteString(AlarmCSVHeader + "\r\n")
		return &alarmCSV{w: bw}, nil
	case GeoJSON:
		_, _ = bw.WriteString(`{"type":"FeatureCollection","features":[`)
		return &alarmGeoJSON{w: bw}, nil
	}
	return nil, fmt.Errorf("%w: %q for alarms", ErrUnknownFormat, f)
}

func appendOptTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return appendTime(b, t)
}

type alarmCSV struct {
	w   *bufio.Writer
	buf []byte
}

func (c *alarmCSV) Alarm(ep *rules.Episode, uid string) error {
	b := c.buf[:0]
	b = strconv.AppendInt(b, ep.ID, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, ep.DeviceID, 10)
	b = append(b, ',')
	b = csvText(b, uid)
	b = append(b, ',')
	b = strconv.AppendInt(b, ep.RuleID, 10)
	for _, s := range []string{ep.RuleName, string(ep.Kind), string(ep.Severity), string(ep.State)} {
		b = append(b, ',')
		b = csvText(b, s)
	}
	b = append(b, ',')
	b = appendTime(b, ep.FirstSeen)
	b = append(b, ',')
	b = appendTime(b, ep.LastSeen)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(ep.Samples), 10)
	b = append(b, ',')
	b = appendOpt(b, ep.PeakDose)
	b = append(b, ',')
	b = appendOptTime(b, ep.PeakTime)
	b = append(b, ',')
	b = appendFloat(b, ep.PeakLon)
	b = append(b, ',')
	b = appendFloat(b, ep.PeakLat)
	b = append(b, ',')
	b = strconv.AppendBool(b, ep.PeakGPSValid)
	b = append(b, ',')
	b = csvText(b, ep.AckedBy)
	b = append(b, ',')
	b = appendOptTime(b, ep.AckedAt)
	b = append(b, ',')
	b = csvText(b, ep.AckComment)
	b = append(b, ',')
	b = csvText(b, ep.ResolvedBy)
	b = append(b, ',')
	b = appendOptTime(b, ep.ResolvedAt)
	b = append(b, ',')
	b = csvText(b, string(ep.Code))
	b = append(b, ',')
	b = csvText(b, ep.ResolveComment)
	b = append(b, ',')
	b = strconv.AppendBool(b, ep.Imported)
	b = append(b, '\r', '\n')
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

func (c *alarmCSV) Close() error { return c.w.Flush() }

// alarmGeoJSON: one Point feature per alarm at its peak position (the last
// known fix when the peak sample had none: peak_gps_valid says which); a
// null geometry when the device never had a fix.
type alarmGeoJSON struct {
	w *bufio.Writer
	n int
}

func (g *alarmGeoJSON) Alarm(ep *rules.Episode, uid string) error {
	props, err := json.Marshal(ep) // the API's form of the episode
	if err != nil || len(props) < 2 || props[len(props)-1] != '}' {
		return fmt.Errorf("encode alarm %d: %w", ep.ID, err)
	}
	quid, _ := json.Marshal(uid)
	props = append(append(append(props[:len(props)-1], `,"device_uid":`...), quid...), '}')
	var b []byte
	if g.n > 0 {
		b = append(b, ',')
	}
	g.n++
	b = append(b, `{"type":"Feature","id":`...)
	b = strconv.AppendInt(b, ep.ID, 10)
	b = append(b, `,"geometry":`...)
	if ep.PeakGPSValid || ep.PeakLon != 0 || ep.PeakLat != 0 {
		b = append(b, `{"type":"Point","coordinates":[`...)
		b = appendFloat(b, ep.PeakLon)
		b = append(b, ',')
		b = appendFloat(b, ep.PeakLat)
		b = append(b, "]}"...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"properties":`...)
	b = append(b, props...)
	b = append(b, "}\n"...)
	_, err = g.w.Write(b)
	return err
}

func (g *alarmGeoJSON) Close() error {
	_, _ = g.w.WriteString("]}\n")
	return g.w.Flush()
}
