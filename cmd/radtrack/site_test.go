package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/radtrack/radtrack/internal/pgtest"
)

// "radtrack site add|list|rename|device" build the tree and print it
// indented by depth.
func TestSiteCommands(t *testing.T) {
	db := pgtest.NewDatabase(t)
	ctx := context.Background()
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := runSite(ctx, append(args, "-database-url", db), &out, io.Discard); err != nil {
			t.Fatalf("site %v: %v", args, err)
		}
		return out.String()
	}
	run("add", "North")
	run("add", "Room 1", "-parent", "2")
	run("rename", "1", "Centre")
	if err := runDevice(ctx, []string{"add", "Van-1", "-uid", "van-1", "-database-url", db}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	run("device", "van-1", "3")
	got := run("list")
	want := "1\tCentre\n  2\tNorth\n    3\tRoom 1\n"
	if got != want {
		t.Fatalf("site list =\n%s\nwant\n%s", got, want)
	}
	var out bytes.Buffer
	if err := runSite(ctx, []string{"add", "X", "-parent", "99", "-database-url", db}, &out, io.Discard); err == nil {
		t.Fatal("a site under an unknown parent was created")
	}
	if err := runSite(ctx, []string{"device", "van-1", "nope", "-database-url", db}, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "site id") {
		t.Fatalf("bad site id: %v", err)
	}
}
