// Package docker holds the container files. No Docker engine runs where the
// tests run, so this test checks what can be checked without one: that the
// compose file only sets variables RadTrack reads, that the image runs the
// server as a non-root user and health-checks it with a command that exists.
package docker

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// serveHelp is the text of "radtrack serve -h": every variable it names.
func serveHelp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "radtrack")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/radtrack/radtrack/cmd/radtrack").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	return string(out)
}

func TestComposeSetsOnlyKnownVariables(t *testing.T) {
	compose := read(t, "compose.yaml")
	help := serveHelp(t)
	env := regexp.MustCompile(`(?m)^\s{6}((?:RADTRACK_|DATABASE_URL|REDIS_URL)[A-Z_]*):`).FindAllStringSubmatch(compose, -1)
	if len(env) < 5 {
		t.Fatalf("found only %d RadTrack variables in compose.yaml", len(env))
	}
	for _, m := range env {
		if !strings.Contains(help, "(env "+m[1]+")") {
			t.Errorf("compose.yaml sets %s, which radtrack serve does not read", m[1])
		}
	}
	for _, svc := range []string{"timescaledb:", "redis:", "radtrack:"} {
		if !strings.Contains(compose, "\n  "+svc) {
			t.Errorf("service %s missing", svc)
		}
	}
	if strings.Count(compose, "healthcheck:") != 3 {
		t.Errorf("every service needs a health check")
	}
	if !strings.Contains(compose, "condition: service_healthy") {
		t.Errorf("radtrack must wait for healthy dependencies")
	}
}

// The TimescaleDB image is the version CI tests: the one scripts/services.sh
// builds, for Debian 12's PostgreSQL 15.
func TestComposePinsTheTimescaleDBThatCITests(t *testing.T) {
	m := regexp.MustCompile(`(?m)^TSDB_VERSION=(\S+)$`).FindStringSubmatch(read(t, "../scripts/services.sh"))
	if m == nil {
		t.Fatal("scripts/services.sh sets no TSDB_VERSION")
	}
	want := "image: timescale/timescaledb:" + m[1] + "-pg15\n"
	if compose := read(t, "compose.yaml"); !strings.Contains(compose, want) {
		t.Fatalf("compose.yaml does not pin %q", strings.TrimSpace(want))
	}
}

func TestDockerfileRunsNonRootAndHealthChecks(t *testing.T) {
	df := read(t, "Dockerfile")
	for _, want := range []string{
		"USER nonroot", "npm ci", "npm run build", "CGO_ENABLED=0", "./cmd/radtrack",
		"HEALTHCHECK", `"healthcheck"`, "EXPOSE 8080 5055 5057",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if strings.Count(df, "FROM ") != 3 {
		t.Errorf("want a three-stage build (frontend, server, runtime)")
	}
	// The files the build copies exist in the repository.
	for _, p := range []string{"../frontend/package.json", "../go.mod", "../go.sum", "../cmd/radtrack/main.go"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Dockerfile copies %s: %v", p, err)
		}
	}
}
