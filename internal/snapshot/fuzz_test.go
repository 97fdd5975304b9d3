package snapshot

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Load never panics on any file, and what it loads survives Write and
// Load again unchanged.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"format":1,"devices":[{"id":7,"uid":"van-7","token_hash":"aDc="}],"users":[{"id":1,"username":"ops","password_hash":"x"}]}`))
	f.Add([]byte(`{"format":1,"sessions":[{"hash":"cw==","user_id":1,"expires":"2030-01-01T00:00:00Z"}],"rules":[{"id":3}],"fences":[{"id":1,"feature":{}}]}`))
	f.Add([]byte(`{"format":2}`))
	f.Add([]byte(`{"format":1,"taken_at":"2030-01-01T00:00:00+02:00","tokens":[{"id":1,"user_id":1,"hash":"aA==","expires_at":"2031-01-01T00:00:00-05:30"}]}`))
	f.Add([]byte(`{"format":1,"devices":[`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "in.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Load(p)
		if err != nil {
			return
		}
		_ = newIndex(s) // look-ups are built from anything Load accepts
		out := filepath.Join(dir, "out.json")
		if err := Write(out, s); err != nil {
			t.Fatal(err)
		}
		again, err := Load(out)
		if err != nil {
			t.Fatalf("a written snapshot does not load: %v", err)
		}
		a, _ := json.Marshal(s)
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the snapshot:\n%s\n%s", a, b)
		}
	})
}
