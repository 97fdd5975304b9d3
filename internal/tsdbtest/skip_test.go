package tsdbtest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/radtrack/radtrack/internal/tsdbtest"
)

// recorder is a testing.TB whose Skip and Fatal end the goroutine and record.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skip(args ...any)          { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)         { r.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.fatal = fmt.Sprintf(f, a...); runtime.Goexit() }

func startWithout(t *testing.T, ci string) *recorder {
	t.Setenv("PATH", t.TempDir()) // no node, no npm
	t.Setenv("CI", ci)
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tsdbtest.Start(r)
	}()
	<-done
	return r
}

func TestStartWithoutNode(t *testing.T) {
	if r := startWithout(t, ""); r.skipped == "" || r.fatal != "" || !strings.Contains(r.skipped, "node") {
		t.Errorf("without CI: skipped=%q fatal=%q, want a skip naming node", r.skipped, r.fatal)
	}
	if r := startWithout(t, "true"); r.fatal == "" || r.skipped != "" {
		t.Errorf("with CI=true: skipped=%q fatal=%q, want a failure", r.skipped, r.fatal)
	}
}
