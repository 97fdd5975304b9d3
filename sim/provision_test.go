package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAdminAPI mimics the device routes: sim-002 exists already (id 7).
type fakeAdminAPI struct {
	mu      sync.Mutex
	calls   []string
	created map[string]bool
}

func (f *fakeAdminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	authed := r.Header.Get("Authorization") == "Bearer rtu_admin"
	if c, err := r.Cookie("radtrack_session"); err == nil && c.Value == "s3cr3t" {
		authed = true
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"error":"must be JSON"}`, http.StatusUnsupportedMediaType)
			return
		}
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/login":
		var in struct{ Username, Password string }
		json.NewDecoder(r.Body).Decode(&in)
		if in.Username != "admin" || in.Password != "pw" {
			http.Error(w, `{"error":"invalid username or password"}`, http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "radtrack_session", Value: "s3cr3t", Path: "/"})
		w.Write([]byte(`{"user":{}}`))
	case !authed:
		http.Error(w, `{"error":"login required"}`, http.StatusUnauthorized)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/devices":
		var in struct {
			Name, UID  string
			CPMPerUSvH float64 `json:"cpm_per_usvh"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		if in.UID == "sim-002" || in.Name == "" || in.CPMPerUSvH != 334 {
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error":"a device with this uid exists","field":"uid"}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"device": map[string]any{"uid": in.UID}, "token": "new-" + in.UID})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/devices":
		w.Write([]byte(`{"devices":[{"id":3,"uid":"other","cpm_per_usvh":334},{"id":7,"uid":"sim-002","cpm_per_usvh":334}]}`))
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/devices/7/rotate-token":
		w.Write([]byte(`{"id":7,"token":"rotated-7"}`))
	default:
		http.NotFound(w, r)
	}
}

func TestProvision(t *testing.T) {
	specs := []DeviceSpec{{UID: "sim-001", Name: "Patrol 1"}, {UID: "sim-002", Name: "Patrol 2"}}
	for _, admin := range []*Admin{{Token: "rtu_admin"}, {User: "admin", Password: "pw"}} {
		api := &fakeAdminAPI{}
		srv := httptest.NewServer(api)
		admin.URL = srv.URL
		tokens, err := admin.Provision(context.Background(), specs)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if tokens["sim-001"] != "new-sim-001" || tokens["sim-002"] != "rotated-7" {
			t.Errorf("tokens %v", tokens)
		}
		want := "POST /api/v1/devices,POST /api/v1/devices,GET /api/v1/devices,POST /api/v1/devices/7/rotate-token"
		if admin.Token == "" {
			want = "POST /api/v1/login," + want
		}
		if got := strings.Join(api.calls, ","); got != want {
			t.Errorf("calls %s, want %s", got, want)
		}
	}
	srv := httptest.NewServer(&fakeAdminAPI{})
	defer srv.Close()
	if _, err := (&Admin{URL: srv.URL, User: "admin", Password: "wrong"}).Provision(context.Background(), specs); err == nil ||
		!strings.Contains(err.Error(), "invalid username or password") {
		t.Errorf("bad password: %v", err)
	}
}

func TestSpecsCarryCalibration(t *testing.T) {
	fleet, err := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 1, CPMPerUSvH: 1000})
	if err != nil {
		t.Fatal(err)
	}
	replay, err := NewLogReplay("r", LogFukushima, 1)
	if err != nil {
		t.Fatal(err)
	}
	specs := Specs(append(fleet.Vehicles(), replay))
	if specs[0] != (DeviceSpec{UID: "sim-001", Name: "Patrol 1 (Quay road)", CPMPerUSvH: 1000}) || specs[1].CPMPerUSvH != DefaultCPMPerUSvH {
		t.Errorf("specs %+v", specs)
	}
}
