package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/radtrack/radtrack/internal/deadletter"
	"github.com/radtrack/radtrack/internal/framelog"
	"github.com/radtrack/radtrack/spool"
)

const deadletterUsage = `usage: radtrack deadletter list|redrive [-data DATA] [-spool-dir DIR]

  list      print what the spool and alarm-journal replays set aside because
            the database refuses it for good: kind, when, device, time,
            field, reason (-json: one JSON record per line, with the record
            as spooled or journaled)
  redrive   after fixing the cause, hand everything set aside back to the
            spool and the alarm journal, which the next start replays (what
            the database still refuses is set aside again). Stop the node
            that owns DIR first.
`

// runDeadletter is "radtrack deadletter": the dead-letter logs beside the
// spool (DIR/deadletter) and the alarm journal (DIR/alarms/deadletter).
func runDeadletter(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "redrive") {
		fmt.Fprint(stderr, deadletterUsage)
		return flag.ErrHelp
	}
	var (
		dataDir, spoolDir string
		asJSON            bool
		spoolMB           int
	)
	f := newFlagSet("deadletter "+args[0], stderr)
	f.String(&dataDir, "data", "RADTRACK_DATA", "./data", "data directory of the node")
	f.String(&spoolDir, "spool-dir", "RADTRACK_SPOOL_DIR", "", "the node's spool directory (default DATA/spool)")
	f.Int(&spoolMB, "spool-max-mb", "RADTRACK_SPOOL_MAX_MB", 1024, "largest spool and journal (redrive appends to them)")
	f.fs.BoolVar(&asJSON, "json", false, "list: one JSON record per line")
	if err := f.Parse(args[1:]); err != nil {
		return err
	}
	if spoolDir == "" || spoolDir == "off" {
		spoolDir = filepath.Join(dataDir, "spool")
	}
	logs := []struct{ name, dir string }{
		{"spool", filepath.Join(spoolDir, deadletter.DirName)},
		{"alarm journal", filepath.Join(spoolDir, "alarms", deadletter.DirName)},
	}
	if args[0] == "redrive" {
		return redrive(spoolDir, int64(spoolMB)<<20, stdout)
	}
	var tw *tabwriter.Writer
	if !asJSON {
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOG\tKIND\tSET ASIDE\tDEVICE\tTIME\tALARM\tFIELD\tREASON")
	}
	enc := json.NewEncoder(stdout)
	total := 0
	for _, l := range logs {
		err := deadletter.List(l.dir, func(r deadletter.Record) error {
			total++
			if asJSON {
				return enc.Encode(struct {
					Log string `json:"log"`
					deadletter.Record
				}{l.name, r})
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.name, r.Kind, stamp(r.SetAside), orDash(r.DeviceID), stamp(r.Time),
				orDash(r.AlarmID), dash(r.Field), oneLine(r.Reason))
			return nil
		})
		if err != nil {
			return fmt.Errorf("list %s dead letters in %s: %w", l.name, l.dir, err)
		}
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d record(s) set aside under %s\n", total, spoolDir)
	}
	return nil
}

// redrive moves dead-lettered samples back into the spool and alarm
// events back into the journal, then empties the dead-letter logs. A
// record it cannot hand back (an unreadable frame) stays set aside.
func redrive(spoolDir string, maxBytes int64, stdout io.Writer) error {
	samplesDir := filepath.Join(spoolDir, deadletter.DirName)
	journalDir := filepath.Join(spoolDir, "alarms")
	eventsDir := filepath.Join(journalDir, deadletter.DirName)

	var (
		keptSamples, keptEvents []deadletter.Record
		samples                 int
		events                  [][]byte
	)
	sp, err := spool.Open(spoolDir, maxBytes)
	if err != nil {
		return err
	}
	defer sp.Close()
	err = deadletter.List(samplesDir, func(r deadletter.Record) error {
		s, err := spool.SamplesOf(r)
		if r.Kind != deadletter.KindSample || err != nil {
			keptSamples = append(keptSamples, r)
			return nil
		}
		if err := sp.Append(s); err != nil {
			return fmt.Errorf("hand sample back to the spool: %w", err)
		}
		samples++
		return nil
	})
	if err != nil {
		return err
	}
	err = deadletter.List(eventsDir, func(r deadletter.Record) error {
		if r.Kind != deadletter.KindAlarmEvent || len(r.Payload) == 0 {
			keptEvents = append(keptEvents, r)
			return nil
		}
		events = append(events, r.Payload)
		return nil
	})
	if err != nil {
		return err
	}
	if len(events) > 0 {
		journal, err := framelog.Open(journalDir, maxBytes)
		if err != nil {
			return err
		}
		for _, payload := range events {
			if err := journal.Append(payload); err != nil {
				journal.Close()
				return fmt.Errorf("hand alarm event back to the journal: %w", err)
			}
		}
		if err := journal.Close(); err != nil {
			return err
		}
	}
	// Everything handed back is durable in the spool or the journal now;
	// only then are the dead-letter logs emptied (the spool's own
	// dead-letter log is open through sp: close it first).
	if err := sp.Close(); err != nil {
		return err
	}
	if err := errors.Join(deadletter.Remove(samplesDir), deadletter.Remove(eventsDir)); err != nil {
		return err
	}
	for _, k := range []struct {
		dir  string
		recs []deadletter.Record
	}{{samplesDir, keptSamples}, {eventsDir, keptEvents}} {
		if len(k.recs) == 0 {
			continue
		}
		l, err := deadletter.Open(k.dir, maxBytes)
		if err != nil {
			return err
		}
		if err := errors.Join(l.Append(k.recs), l.Close()); err != nil {
			return fmt.Errorf("keep %d record(s) that cannot be handed back: %w", len(k.recs), err)
		}
	}
	fmt.Fprintf(stdout, "handed back %d sample(s) to the spool and %d alarm event(s) to the journal; %d record(s) kept set aside; the next start replays them\n",
		samples, len(events), len(keptSamples)+len(keptEvents))
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func orDash(v int64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatInt(v, 10)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
