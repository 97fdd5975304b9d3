package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/store/pgstore"
)

// "radtrack device add" leaves the same audit entry as POST
// /api/v1/devices, marked as done from the command line.
func TestDeviceAddIsAudited(t *testing.T) {
	db := pgtest.NewDatabase(t)
	var out bytes.Buffer
	if err := runDevice(context.Background(), []string{"add", "Van-9", "-uid", "van-9", "-legacy-id-only", "-database-url", db}, &out, io.Discard); err != nil {
		t.Fatalf("device add: %v\n%s", err, out.String())
	}
	st, err := pgstore.Open(context.Background(), pgstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.ListAudit(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range entries {
		if e.Action != "device.create" {
			continue
		}
		var details map[string]any
		if err := json.Unmarshal(e.Details, &details); err != nil {
			t.Fatalf("details %s: %v", e.Details, err)
		}
		if e.Target != "device/van-9" || details["via"] != "cli" || details["legacy_id_only"] != true {
			t.Fatalf("audit entry %+v details %v, want target device/van-9, via cli, legacy_id_only true", e, details)
		}
		found = true
	}
	if !found {
		t.Fatalf("no device.create entry in the audit log: %+v", entries)
	}
}
