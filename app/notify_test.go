package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/notify"
)

const hookSecret = "app-test-secret-0123456789"

// hookReceiver is a real webhook receiver that checks signatures.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []hookEvent
	bad    int
}

type hookEvent struct {
	Key      string `json:"key"`
	Event    string `json:"event"`
	Test     bool   `json:"test"`
	Incident struct {
		ID       int64  `json:"id"`
		Severity string `json:"severity"`
		Vehicles []struct {
			ID  int64  `json:"id"`
			UID string `json:"uid"`
		} `json:"vehicles"`
	} `json:"incident"`
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := notify.VerifyWebhook(r.Header, body, time.Now(), 5*time.Minute, []byte(hookSecret)); err != nil {
			h.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev hookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.events = append(h.events, ev)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) wait(t *testing.T, what string, ok func(hookEvent) bool) hookEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, e := range h.events {
			if ok(e) {
				h.mu.Unlock()
				return e
			}
		}
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("webhook receiver got no %s", what)
	return hookEvent{}
}

func call(t *testing.T, c *http.Client, method, url, body string, wantStatus int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, raw, wantStatus)
	}
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return out
}

// An alarm raised by a real sample reaches a webhook configured over the
// API, its acknowledgement follows, and the incident's trail says so.
func TestNotificationEndToEnd(t *testing.T) {
	n := startNode(t)
	addUser(t, n, "ada", auth.RoleAdmin)
	admin := loginClient(t, n, "ada")
	hook := newHookReceiver(t)
	api := "http://" + n.Addr() + "/api/v1/notify"

	ep := call(t, admin, "POST", api+"/endpoints", fmt.Sprintf(`{"name":"sms gateway","spec":{"kind":"webhook","url":%q,"secret":%q}}`, hook.URL, hookSecret), 201)
	epID := int64(ep["endpoint"].(map[string]any)["id"].(float64))
	if s := ep["endpoint"].(map[string]any)["spec"].(map[string]any)["secret"]; s != "********" {
		t.Fatalf("endpoint answer shows secret %v", s)
	}
	bad := call(t, admin, "POST", api+"/policies", `{"name":"p","spec":{"steps":[{"delay_s":0,"endpoints":[999]}]}}`, 400)
	if bad["field"] != "spec.steps[0].endpoints[0]" {
		t.Fatalf("bad policy answer %v, want the field named", bad)
	}
	pol := call(t, admin, "POST", api+"/policies", fmt.Sprintf(`{"name":"page everyone","spec":{"steps":[{"delay_s":0,"endpoints":[%d]},{"delay_s":600,"endpoints":[%d]}]}}`, epID, epID), 201)
	polID := int64(pol["policy"].(map[string]any)["id"].(float64))
	call(t, admin, "POST", api+"/rules", fmt.Sprintf(`{"name":"everything","spec":{"policy":%d}}`, polID), 201)
	if r := call(t, admin, "DELETE", fmt.Sprintf("%s/endpoints/%d", api, epID), "", 409); !strings.Contains(r["error"].(string), "page everyone") {
		t.Fatalf("delete of a used endpoint: %v", r)
	}

	res := call(t, admin, "POST", fmt.Sprintf("%s/endpoints/%d/test", api, epID), "", 200)
	if ok := res["result"].(map[string]any)["ok"]; ok != true {
		t.Fatalf("test send: %v", res)
	}
	hook.wait(t, "test notification", func(e hookEvent) bool { return e.Test })

	// Users manage their own contacts; bad input names the field.
	addUser(t, n, "vera", auth.RoleViewer)
	vera := loginClient(t, n, "vera")
	for body, field := range map[string]string{
		`{"kind":"sms"}`:                      "kind",
		`{"kind":"email","address":"nobody"}`: "address",
		`{"kind":"push","subscription":{"endpoint":"http://push.example/x","keys":{"p256dh":"a","auth":"b"}}}`: "subscription.endpoint",
		`{"kind":"push","subscription":{"endpoint":"https://push.example/x","keys":{}}}`:                       "subscription.keys",
	} {
		if r := call(t, vera, "POST", api+"/me/contacts", body, 400); r["field"] != field {
			t.Errorf("%s: answer %v, want field %s", body, r, field)
		}
	}
	// A browser's PushSubscription.toJSON() as it is, expirationTime included.
	call(t, vera, "POST", api+"/me/contacts", `{"kind":"push","subscription":{"endpoint":"https://push.example/sub/1","expirationTime":null,"keys":{"p256dh":"BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM","auth":"tBHItJI5svbpez7KI4CCXg"}}}`, 201)
	mine := call(t, vera, "POST", api+"/me/contacts", `{"kind":"email","address":"Vera <vera@example.org>"}`, 201)
	contact := int64(mine["contact"].(map[string]any)["id"].(float64))
	me := call(t, vera, "GET", api+"/me", "", 200)
	if cs := me["contacts"].([]any); len(cs) != 2 || cs[1].(map[string]any)["value"] != "vera@example.org" {
		t.Fatalf("own contacts %v", me)
	}
	call(t, vera, "GET", api+"/endpoints", "", 403)
	call(t, admin, "DELETE", fmt.Sprintf("%s/me/contacts/%d", api, contact), "", 404) // not the admin's own
	call(t, vera, "DELETE", fmt.Sprintf("%s/me/contacts/%d", api, contact), "", 204)

	token := addDevice(t, n, "van-notify", false)
	t0 := time.Now().Add(-time.Minute)
	postJSON(t, n.Addr(), token, sampleLine(t0, 4.05, 51.95, 0.1)+sampleLine(t0.Add(time.Second), 4.051, 51.95, 2.5))
	raised := hook.wait(t, "raised alarm", func(e hookEvent) bool { return e.Event == "raised" && !e.Test })
	if len(raised.Incident.Vehicles) != 1 || raised.Incident.Vehicles[0].UID != "van-notify" {
		t.Fatalf("raised event %+v", raised)
	}
	call(t, admin, "POST", fmt.Sprintf("http://%s/api/v1/incidents/%d/acknowledge", n.Addr(), raised.Incident.ID), `{"comment":"on it"}`, 200)
	hook.wait(t, "acknowledgement", func(e hookEvent) bool { return e.Event == "acknowledged" && e.Incident.ID == raised.Incident.ID })

	// The outcome is recorded just after the receiver answered.
	var trail map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if trail = call(t, admin, "GET", fmt.Sprintf("%s/incidents/%d", api, raised.Incident.ID), "", 200); trail["summary"] == "webhook accepted (2xx) by 1 endpoint" {
			break
		}
	}
	if trail["summary"] != "webhook accepted (2xx) by 1 endpoint" {
		t.Fatalf("trail %v", trail["summary"])
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if hook.bad != 0 {
		t.Fatalf("%d requests with a bad signature", hook.bad)
	}
}

// An alarm raised while the database is away is journaled (the control
// room sees it at once) and paged from memory with the routing
// configuration read before the outage, under a provisional incident id.
// When the database is back and the journal drain stores the alarm, its
// incident is raised; the endpoint already paged is not paged again, and
// the incident's trail counts that delivery.
func TestNotificationOfAlarmRaisedDuringDatabaseOutage(t *testing.T) {
	db := pgtest.NewDatabase(t)
	du, _ := url.Parse(db)
	proxy := faultproxy.Start(t, du.Host)
	via := *du
	via.Host = proxy.Addr()
	n := startNodeWith(t, func(c *app.Config) { c.DB.URL = via.String() })
	addUser(t, n, "ada", auth.RoleAdmin)
	admin := loginClient(t, n, "ada")
	hook := newHookReceiver(t)
	api := "http://" + n.Addr() + "/api/v1/notify"
	ep := call(t, admin, "POST", api+"/endpoints", fmt.Sprintf(`{"name":"sms","spec":{"kind":"webhook","url":%q,"secret":%q}}`, hook.URL, hookSecret), 201)
	pol := call(t, admin, "POST", api+"/policies", fmt.Sprintf(`{"name":"p","spec":{"steps":[{"endpoints":[%d]}]}}`,
		int64(ep["endpoint"].(map[string]any)["id"].(float64))), 201)
	call(t, admin, "POST", api+"/rules", fmt.Sprintf(`{"name":"all","spec":{"policy":%d}}`, int64(pol["policy"].(map[string]any)["id"].(float64))), 201)
	token := addDevice(t, n, "van-outage", false)
	t0 := time.Now().Add(-time.Minute)
	postJSON(t, n.Addr(), token, sampleLine(t0, 4.05, 51.95, 0.1))
	// The dispatcher rereads its configuration within about two seconds
	// of a change; the outage must find the rule in memory.
	time.Sleep(4 * time.Second)

	proxy.Down()
	postJSON(t, n.Addr(), token, sampleLine(t0.Add(time.Second), 4.051, 51.95, 2.5))
	early := hook.wait(t, "page during the outage", func(e hookEvent) bool { return e.Event == "raised" })
	// (The vehicle's name comes from the local snapshot if it has one;
	// a vehicle added just before may not be in it yet.)
	if early.Incident.ID < 1<<40 || len(early.Incident.Vehicles) != 1 || early.Incident.Vehicles[0].ID <= 0 {
		t.Fatalf("page during the outage %+v, want a provisional incident id and the vehicle", early)
	}
	proxy.Up()
	var incident int64
	deadline := time.Now().Add(30 * time.Second)
	for incident == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		list := call(t, admin, "GET", "http://"+n.Addr()+"/api/v1/incidents", "", 200)
		if incs, _ := list["incidents"].([]any); len(incs) == 1 {
			incident = int64(incs[0].(map[string]any)["id"].(float64))
		}
	}
	if incident == 0 {
		t.Fatal("no incident stored after the database came back")
	}
	var trail map[string]any
	for time.Now().Before(deadline) {
		trail = call(t, admin, "GET", fmt.Sprintf("%s/incidents/%d", api, incident), "", 200)
		if trail["summary"] == "webhook accepted (2xx) by 1 endpoint" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if trail["summary"] != "webhook accepted (2xx) by 1 endpoint" {
		t.Fatalf("trail of incident %d: %v", incident, trail["summary"])
	}
	time.Sleep(time.Second) // a second page would arrive now
	hook.mu.Lock()
	defer hook.mu.Unlock()
	raised := 0
	for _, e := range hook.events {
		if e.Event == "raised" {
			raised++
		}
	}
	if raised != 1 || hook.bad != 0 {
		t.Fatalf("webhook got %d raised pages (%d bad signatures): %+v; want the outage page only", raised, hook.bad, hook.events)
	}
}
