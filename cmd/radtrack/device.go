package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

func runDevice(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: radtrack device add NAME [flags] | radtrack device list")
	}
	var (
		db     dbConfig
		d      store.Device
		cpm    string
		legacy bool
	)
	f := newFlagSet("device "+args[0], stderr)
	db.register(f)
	sub := args[0]
	if sub == "add" {
		f.fs.StringVar(&d.UID, "uid", "", "identifier the device reports (OsmAnd id, bGeigie serial); default NAME")
		f.fs.StringVar(&d.Group, "group", "", "group, e.g. a port or a fleet")
		f.fs.StringVar(&cpm, "cpm-per-usvh", "334", "detector calibration: CPM per µSv/h (LND 7317: 334, SBM-20: 158)")
		f.fs.BoolVar(&legacy, "legacy-id-only", false, "allow this device to report by id alone, without its secret (unsafe)")
	}
	// Flags may follow the name: radtrack device add Van-1 -group port.
	rest := args[1:]
	if sub == "add" && len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		d.Name, rest = rest[0], rest[1:]
	}
	if err := f.Parse(rest); err != nil {
		return err
	}
	st, err := db.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "add":
		if d.Name == "" {
			return fmt.Errorf("usage: radtrack device add NAME [-uid ID] [-group G] [-cpm-per-usvh F]")
		}
		if d.UID == "" {
			d.UID = d.Name
		}
		if _, err := fmt.Sscan(cpm, &d.CPMPerUSvH); err != nil || d.CPMPerUSvH <= 0 {
			return fmt.Errorf("-cpm-per-usvh %q: must be a positive number (default %v)", cpm, sample.DefaultCPMPerUSvH)
		}
		d.LegacyIDOnly = legacy
		token, hash, err := auth.NewDeviceToken()
		if err != nil {
			return err
		}
		created, err := st.CreateDevice(ctx, d, hash)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "device %d %q (uid %s) created\ntoken: %s\nThe token is shown only now; store it in the device.\n", created.ID, created.Name, created.UID, token)
		// The same entry as POST /api/v1/devices, marked as done from the
		// command line (no user: whoever can run this owns the database).
		details, _ := json.Marshal(map[string]any{"legacy_id_only": created.LegacyIDOnly, "via": "cli"})
		if err := st.AppendAudit(ctx, store.AuditEntry{Action: "device.create", Target: "device/" + created.UID, Details: details}); err != nil {
			return fmt.Errorf("device %d created, but not written to the audit log: %w", created.ID, err)
		}
		return nil
	case "list":
		devices, err := st.ListDevices(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUID\tNAME\tGROUP\tCPM/µSv/h\tSTATE")
		for _, d := range devices {
			state := "active"
			if !d.Active() {
				state = "revoked"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%g\t%s\n", d.ID, d.UID, d.Name, d.Group, d.CPMPerUSvH, state)
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown device command %q (add, list)", sub)
}
