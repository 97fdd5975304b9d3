package server_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
)

type capFeed struct {
	ID      string `xml:"id"`
	Entries []struct {
		Link struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Content struct {
			Type  string `xml:"type,attr"`
			Inner []byte `xml:",innerxml"`
		} `xml:"content"`
	} `xml:"entry"`
}

// GET /api/v1/cap.atom: each incident as its latest CAP message (Alert
// while raised, Cancel once resolved), valid against the CAP 1.2 schema,
// with an absolute link to the incident; bad input names the field.
func TestCAPFeed(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	viewer := h.loginAs(t, "eve", auth.RoleViewer)
	t0 := time.Now().UTC().Add(-20 * time.Minute).Truncate(time.Second)
	h.postPass(t, h.token, t0, 51.95, 4.05)
	inc := op.incidents("?state=open")
	if len(inc) != 1 {
		t.Fatalf("%d incidents, want 1", len(inc))
	}

	feed := func(wantMsgType string) {
		t.Helper()
		status, body := viewer.do("GET", "/api/v1/cap.atom", nil)
		if status != http.StatusOK {
			t.Fatalf("feed: %d %s", status, body)
		}
		var f capFeed
		if err := xml.Unmarshal(body, &f); err != nil {
			t.Fatalf("feed is not Atom XML: %v\n%s", err, body)
		}
		if len(f.Entries) != 1 || !strings.HasSuffix(f.ID, "/api/v1/cap.atom") || !strings.HasPrefix(f.ID, "http://") {
			t.Fatalf("feed id %q with %d entries, want the absolute feed URL and 1 entry:\n%s", f.ID, len(f.Entries), body)
		}
		e := f.Entries[0]
		alert := e.Content.Inner
		if e.Content.Type != "application/cap+xml" || !strings.Contains(string(alert), "<msgType>"+wantMsgType+"</msgType>") ||
			!strings.Contains(string(alert), "<category>CBRNE</category>") || !strings.Contains(string(alert), "<circle>51.95") {
			t.Fatalf("entry content %s, want a CAP %s with category CBRNE and a circle at the peak", alert, wantMsgType)
		}
		if want := fmt.Sprintf("/#incident=%d", inc[0].ID); !strings.HasSuffix(e.Link.Href, want) {
			t.Fatalf("entry link %q, want …%s", e.Link.Href, want)
		}
		validateCAPAlert(t, alert)
	}
	feed("Alert")
	if status, body := op.do("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", inc[0].ID), map[string]string{}); status != http.StatusOK {
		t.Fatalf("acknowledge: %d %s", status, body)
	}
	if status, body := op.do("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", inc[0].ID), map[string]string{"code": "real"}); status != http.StatusOK {
		t.Fatalf("resolve: %d %s", status, body)
	}
	feed("Cancel")

	if status, body := viewer.do("GET", "/api/v1/cap.atom?days=0", nil); status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"days"`) {
		t.Fatalf("days=0: %d %s, want 400 naming days", status, body)
	}
	anon, err := http.Get(h.url + "/api/v1/cap.atom")
	if err != nil {
		t.Fatal(err)
	}
	anon.Body.Close()
	if anon.StatusCode != http.StatusUnauthorized {
		t.Fatalf("feed without credentials: %d, want 401", anon.StatusCode)
	}
}

// validateCAPAlert checks one CAP alert against the official schema
// (notify/testdata/CAP-v1.2.xsd) with xmllint.
func validateCAPAlert(t *testing.T, alert []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found (apt-get install libxml2-utils): the CAP XSD check cannot run")
		}
		t.Skip("xmllint not found (apt-get install libxml2-utils): the CAP XSD check cannot run")
	}
	f := filepath.Join(t.TempDir(), "alert.xml")
	if err := os.WriteFile(f, alert, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", filepath.Join("..", "notify", "testdata", "CAP-v1.2.xsd"), f).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "validates") {
		t.Fatalf("feed entry does not validate against CAP 1.2: %v\n%s\n%s", err, out, alert)
	}
}
