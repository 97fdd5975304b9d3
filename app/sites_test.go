package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/store"
)

// httpDo sends a JSON request with a logged-in client.
func httpDo(t *testing.T, c *http.Client, method, url, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// frameDevices lists every device a frame names: its positions, its alarm
// or incident, and the alarms of a snapshot.
func frameDevices(t *testing.T, f frame) []int64 {
	t.Helper()
	ids := append([]int64(nil), f.Positions.ID...)
	if f.Type == "alarm" {
		ids = append(ids, f.DeviceID)
	}
	for _, raw := range f.Alarms {
		var a struct {
			DeviceID int64 `json:"device_id"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("snapshot alarm %s: %v", raw, err)
		}
		ids = append(ids, a.DeviceID)
	}
	return ids
}

// watch records what a viewer receives and fails the test when a frame
// names a device it must never see.
type watch struct {
	v         *viewer
	forbidden int64
	seen      map[int64]bool
	alarms    map[int64]int64 // alarm id → device
}

func newWatch(v *viewer, forbidden int64) *watch {
	return &watch{v: v, forbidden: forbidden, seen: map[int64]bool{}, alarms: map[int64]int64{}}
}

// until reads frames until ok holds for what was seen, checking each.
func (w *watch) until(what string, within time.Duration, ok func() bool) {
	w.v.t.Helper()
	if ok() {
		return
	}
	w.v.next(what, within, func(f frame) bool {
		for _, id := range frameDevices(w.v.t, f) {
			if id == w.forbidden {
				w.v.t.Fatalf("%s: frame %s names device %d of another site", what, f.Type, id)
			}
			w.seen[id] = true
		}
		if f.Type == "alarm" {
			w.alarms[f.AlarmID] = f.DeviceID
		}
		return ok()
	})
}

// drain checks every frame that arrives within d.
func (w *watch) drain(d time.Duration) {
	w.v.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, open := <-w.v.frames:
			if !open {
				return
			}
			for _, id := range frameDevices(w.v.t, f) {
				if id == w.forbidden {
					w.v.t.Fatalf("frame %s names device %d of another site", f.Type, id)
				}
			}
			if f.Type == "alarm" || f.Type == "snapshot" {
				w.v.mu.Lock()
				w.v.last = f.Offset
				w.v.mu.Unlock()
			}
		case <-deadline:
			return
		}
	}
}

func deviceID(t *testing.T, n *app.Node, uid string) int64 {
	t.Helper()
	d, err := n.Store.DeviceByUID(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// Two sub-centres on two nodes: each viewer receives its own vehicles,
// alarms and cells and never the other's, by any route or frame, after a
// resume too; a root viewer sees both; an operator cannot act outside.
func TestSubCentresSeeOnlyTheirOwnFleet(t *testing.T) {
	rurl := redisURL(t)
	prefix := randomPrefix()
	db := ""
	a := startNodeWith(t, func(c *app.Config) { c.RedisURL, c.RedisPrefix = rurl, prefix; db = c.DB.URL })
	b := startNodeWith(t, func(c *app.Config) { c.RedisURL, c.RedisPrefix, c.DB.URL = rurl, prefix, db })
	ctx := context.Background()
	root := store.RootSiteID
	north, err := a.Store.CreateSite(ctx, store.Site{ParentID: &root, Name: "north"})
	if err != nil {
		t.Fatal(err)
	}
	south, err := a.Store.CreateSite(ctx, store.Site{ParentID: &root, Name: "south"})
	if err != nil {
		t.Fatal(err)
	}
	room, err := a.Store.CreateSite(ctx, store.Site{ParentID: &north.ID, Name: "north room 1"})
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, a, "ada", auth.RoleAdmin)   // global admin
	addUser(t, a, "vera", auth.RoleViewer) // centre viewer
	addUser(t, a, "nora", auth.RoleViewer) // north viewer
	addUser(t, a, "sam", auth.RoleOperator)
	addUser(t, a, "nils", auth.RoleOperator) // north operator
	for name, site := range map[string]int64{"nora": north.ID, "sam": south.ID, "nils": north.ID} {
		u, err := a.Store.UserByUsername(ctx, name)
		if err == nil {
			err = a.Store.SetUserSite(ctx, u.ID, site)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	tokN := addDevice(t, a, "van-north", false)
	tokS := addDevice(t, a, "van-south", false)
	vanN, vanS := deviceID(t, a, "van-north"), deviceID(t, a, "van-south")
	// The global admin places them (node A tells node B).
	adaA := loginClient(t, a, "ada")
	for id, site := range map[int64]int64{vanN: room.ID, vanS: south.ID} {
		if status, body := httpDo(t, adaA, "POST", fmt.Sprintf("http://%s/api/v1/devices/%d/site", a.Addr(), id), fmt.Sprintf(`{"site_id":%d}`, site)); status != http.StatusOK {
			t.Fatalf("move device %d: %d %s", id, status, body)
		}
	}

	nora := newWatch(connect(t, b, "nora", ""), vanS)
	sam := newWatch(connect(t, a, "sam", ""), vanN)
	vera := newWatch(connect(t, b, "vera", ""), -1)
	for _, w := range []*watch{nora, sam, vera} {
		w.until("snapshot", 5*time.Second, func() bool { return w.v.last != "" })
	}

	// Both vehicles report to both nodes, hot enough for alarms.
	t0 := time.Now().Add(-time.Minute)
	for i := range 4 {
		node := a
		if i%2 == 1 {
			node = b
		}
		at := t0.Add(time.Duration(i) * time.Second)
		postJSON(t, node.Addr(), tokN, sampleLine(at, 4.05, 51.95, 3))
		postJSON(t, node.Addr(), tokS, sampleLine(at, 10.05, 45.95, 3))
	}
	vera.until("both vehicles and an alarm of each", 10*time.Second, func() bool {
		var an, as bool
		for _, dev := range vera.alarms {
			an, as = an || dev == vanN, as || dev == vanS
		}
		return vera.seen[vanN] && vera.seen[vanS] && an && as
	})
	nora.until("the north vehicle and its alarm", 10*time.Second, func() bool { return nora.seen[vanN] && len(nora.alarms) > 0 })
	sam.until("the south vehicle and its alarm", 10*time.Second, func() bool { return sam.seen[vanS] && len(sam.alarms) > 0 })
	nora.drain(500 * time.Millisecond)
	sam.drain(100 * time.Millisecond)

	var alarmN, alarmS int64
	for id, dev := range vera.alarms {
		if dev == vanN && id > 0 {
			alarmN = id
		}
		if dev == vanS && id > 0 {
			alarmS = id
		}
	}
	if alarmN == 0 || alarmS == 0 {
		t.Fatalf("stored alarms of both vehicles: %v", vera.alarms)
	}

	// REST, on either node.
	noraB := loginClient(t, b, "nora")
	samA := loginClient(t, a, "sam")
	get := func(c *http.Client, n *app.Node, path string) (int, string) {
		status, body := httpDo(t, c, "GET", "http://"+n.Addr()+path, "")
		return status, string(body)
	}
	sID := fmt.Sprint(vanS)
	for _, path := range []string{
		"/api/v1/devices", "/api/v1/positions", "/api/v1/alarms", "/api/v1/incidents?state=open",
		"/api/v1/alarms?format=csv", "/api/v1/cap.atom",
	} {
		status, body := get(noraB, b, path)
		if status != http.StatusOK {
			t.Fatalf("nora GET %s: %d %s", path, status, body)
		}
		if strings.Contains(body, "van-south") || strings.Contains(body, `"device_id":`+sID+",") || strings.Contains(body, `"peak_device_id":`+sID) ||
			strings.Contains(body, "10.05") {
			t.Fatalf("nora GET %s shows the south vehicle: %s", path, body)
		}
	}
	if _, body := get(noraB, b, "/api/v1/devices"); !strings.Contains(body, "van-north") {
		t.Fatalf("nora's devices lack her own: %s", body)
	}
	if _, body := get(noraB, b, fmt.Sprintf("/api/v1/alarms?device=%d", vanN)); !strings.Contains(body, fmt.Sprintf(`"id":%d`, alarmN)) {
		t.Fatalf("nora's alarms lack her own: %s", body)
	}
	for _, path := range []string{
		fmt.Sprintf("/api/v1/devices/%d/track", vanS), fmt.Sprintf("/api/v1/devices/%d/dose", vanS),
		fmt.Sprintf("/api/v1/devices/%d/daily", vanS), fmt.Sprintf("/api/v1/alarms/%d", alarmS),
		fmt.Sprintf("/api/v1/alarms/%d/n42", alarmS),
	} {
		if status, body := get(noraB, b, path); status != http.StatusNotFound {
			t.Fatalf("nora GET %s: %d %s, want 404", path, status, body)
		}
	}
	// The south's incident, with its spectrum, source fit and notification
	// trail (filed beside ingest: wait for it).
	var incS int64
	for deadline := time.Now().Add(10 * time.Second); incS == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		incS, _ = a.Store.AlarmIncident(ctx, alarmS)
	}
	if incS == 0 {
		t.Fatalf("the south alarm %d is in no incident", alarmS)
	}
	for _, path := range []string{
		fmt.Sprintf("/api/v1/incidents/%d", incS), fmt.Sprintf("/api/v1/incidents/%d/spectrum", incS),
		fmt.Sprintf("/api/v1/incidents/%d/source", incS), fmt.Sprintf("/api/v1/notify/incidents/%d", incS),
	} {
		if status, body := get(noraB, b, path); status != http.StatusNotFound || !strings.Contains(body, "no such incident") {
			t.Fatalf("nora GET %s: %d %s, want 404 no such incident", path, status, body)
		}
	}
	if status, body := get(noraB, b, fmt.Sprintf("/api/v1/devices/%d/track", vanN)); status != http.StatusOK || !strings.Contains(body, "4.05") {
		t.Fatalf("nora's own track: %d %s", status, body)
	}
	// The heatmap has her cells only.
	_, heat := get(noraB, b, "/api/v1/heatmap?from="+t0.Add(-time.Hour).UTC().Format(time.RFC3339))
	if !strings.Contains(heat, `"lon":4.0`) || strings.Contains(heat, `"lon":10.`) {
		t.Fatalf("nora's heatmap: %s", heat)
	}
	_, veraHeat := get(loginClient(t, b, "vera"), b, "/api/v1/heatmap?from="+t0.Add(-time.Hour).UTC().Format(time.RFC3339))
	if !strings.Contains(veraHeat, `"lon":10.`) {
		t.Fatalf("the centre's heatmap lacks the south cell: %s", veraHeat)
	}
	// Acting outside: 404, inside: allowed.
	if status, body := httpDo(t, samA, "POST", fmt.Sprintf("http://%s/api/v1/alarms/%d/acknowledge", a.Addr(), alarmN), `{"comment":"x"}`); status != http.StatusNotFound {
		t.Fatalf("sam acknowledges a north alarm: %d %s, want 404", status, body)
	}
	if status, body := httpDo(t, samA, "POST", fmt.Sprintf("http://%s/api/v1/alarms/%d/acknowledge", a.Addr(), alarmS), `{"comment":"mine"}`); status != http.StatusOK {
		t.Fatalf("sam acknowledges a south alarm: %d %s", status, body)
	}
	if err := sam.v.ws.WriteJSON(map[string]any{"type": "ack", "alarm_id": alarmN, "comment": "x", "id": 9}); err != nil {
		t.Fatal(err)
	}
	sam.v.next("refused socket ack", 5*time.Second, func(f frame) bool { return f.Type == "error" })
	if got, _ := a.Store.Alarm(ctx, alarmN); got.State != "raised" {
		t.Fatalf("north alarm after sam's attempts: %s", got.State)
	}

	// Fences: the south's own is invisible to the north; the centre's is
	// inherited (seen, not editable); the north's own is editable there.
	fence := func(name string, lon float64) string {
		return fmt.Sprintf(`{"type":"Feature","properties":{"name":%q,"kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[%g,1],[%g,1],[%g,1.01],[%g,1]]]}}`,
			name, lon, lon+0.01, lon+0.01, lon)
	}
	createFence := func(c *http.Client, name string, lon float64) int64 {
		t.Helper()
		status, body := httpDo(t, c, "POST", "http://"+a.Addr()+"/api/v1/fences", fence(name, lon))
		var f struct {
			Properties struct {
				ID int64 `json:"id"`
			} `json:"properties"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &f) != nil || f.Properties.ID == 0 {
			t.Fatalf("create fence %s: %d %s", name, status, body)
		}
		return f.Properties.ID
	}
	southFence := createFence(samA, "south-only-zone", 20)
	centreFence := createFence(adaA, "centre-wide-zone", 30)
	nilsA := loginClient(t, a, "nils")
	northFence := createFence(nilsA, "north-own-zone", 40)
	_, fences := get(noraB, b, "/api/v1/fences")
	if strings.Contains(fences, "south-only-zone") || !strings.Contains(fences, "centre-wide-zone") || !strings.Contains(fences, "north-own-zone") {
		t.Fatalf("nora's fences: %s", fences)
	}
	for id, want := range map[int64]int{southFence: http.StatusNotFound, centreFence: http.StatusForbidden, northFence: http.StatusOK} {
		if status, body := httpDo(t, nilsA, "PUT", fmt.Sprintf("http://%s/api/v1/fences/%d", a.Addr(), id), fence("renamed", 40)); status != want {
			t.Fatalf("nils edits fence %d: %d %s, want %d", id, status, body, want)
		}
	}

	// Shifts follow their vehicle.
	shift := func(dev int64) string {
		return fmt.Sprintf(`{"device_id":%d,"crew":"Crew %d","start":%q,"end":%q}`, dev, dev,
			t0.Add(-time.Hour).UTC().Format(time.RFC3339), t0.Add(time.Hour).UTC().Format(time.RFC3339))
	}
	if status, body := httpDo(t, samA, "POST", "http://"+a.Addr()+"/api/v1/shifts", shift(vanS)); status != http.StatusCreated {
		t.Fatalf("sam's shift: %d %s", status, body)
	}
	if status, body := httpDo(t, nilsA, "POST", "http://"+a.Addr()+"/api/v1/shifts", shift(vanS)); status != http.StatusBadRequest {
		t.Fatalf("nils books a south vehicle: %d %s, want 400", status, body)
	}
	if _, body := get(noraB, b, "/api/v1/shifts"); strings.Contains(body, fmt.Sprintf("Crew %d", vanS)) {
		t.Fatalf("nora sees a south shift: %s", body)
	}

	// A site admin manages only their subtree's users and devices.
	addUser(t, a, "nadia", auth.RoleAdmin)
	if u, err := a.Store.UserByUsername(ctx, "nadia"); err != nil || a.Store.SetUserSite(ctx, u.ID, north.ID) != nil {
		t.Fatalf("place nadia: %v", err)
	}
	nadia := loginClient(t, a, "nadia")
	_, users := get(nadia, a, "/api/v1/users")
	if !strings.Contains(users, `"nora"`) || strings.Contains(users, `"sam"`) || strings.Contains(users, `"ada"`) {
		t.Fatalf("nadia's users: %s", users)
	}
	_, audit := get(nadia, a, "/api/v1/audit")
	if strings.Contains(audit, `"sam"`) || strings.Contains(audit, `"ada"`) || !strings.Contains(audit, `"nils"`) {
		t.Fatalf("nadia's audit log: %s", audit)
	}
	samUser, _ := a.Store.UserByUsername(ctx, "sam")
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"PATCH", fmt.Sprintf("/api/v1/users/%d", samUser.ID), `{"disabled":true}`, http.StatusNotFound},
		{"POST", "/api/v1/users", fmt.Sprintf(`{"username":"x1","password":"long-enough-pw-1","role":"viewer","site_id":%d}`, south.ID), http.StatusBadRequest},
		{"POST", "/api/v1/users", fmt.Sprintf(`{"username":"x2","password":"long-enough-pw-2","role":"viewer","site_id":%d}`, room.ID), http.StatusCreated},
		{"POST", fmt.Sprintf("/api/v1/devices/%d/site", vanS), fmt.Sprintf(`{"site_id":%d}`, north.ID), http.StatusNotFound},
		{"POST", fmt.Sprintf("/api/v1/devices/%d/revoke", vanS), "{}", http.StatusNotFound},
		{"POST", "/api/v1/sites", `{"parent_id":1,"name":"rogue"}`, http.StatusForbidden},
	} {
		if status, body := httpDo(t, nadia, c.method, "http://"+a.Addr()+c.path, c.body); status != c.want {
			t.Fatalf("nadia %s %s: %d %s, want %d", c.method, c.path, status, body, c.want)
		}
	}

	// A resume after more of both: nothing of the south is replayed.
	nora.drain(300 * time.Millisecond)
	offset := nora.v.lastOffset()
	nora.v.ws.Close()
	for i := range 4 {
		at := t0.Add(time.Duration(10+i) * time.Second)
		postJSON(t, a.Addr(), tokS, sampleLine(at, 10.06, 45.95, 6))
		postJSON(t, b.Addr(), tokN, sampleLine(at, 4.06, 51.95, 0.1))
	}
	back := newWatch(connect(t, b, "nora", offset), vanS)
	back.until("north position after resume", 10*time.Second, func() bool { return back.seen[vanN] })
	back.drain(time.Second)
	// A fresh snapshot (no offset) on the other node neither.
	fresh := newWatch(connect(t, a, "nora", ""), vanS)
	fresh.until("snapshot with the north vehicle", 10*time.Second, func() bool { return fresh.seen[vanN] })
	fresh.drain(500 * time.Millisecond)
}
