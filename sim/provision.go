package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Admin registers the simulated vehicles as devices through the REST API,
// as an admin: with an API token (rtu_…) or a username and password (a
// session cookie from POST /api/v1/login).
type Admin struct {
	URL      string // server base URL
	Token    string // admin API token; takes precedence over User/Password
	User     string
	Password string
	Client   *http.Client // default: NewHTTPClient() with a cookie jar
	Retry    Retry
	Log      *slog.Logger

	retries atomic.Int64
}

// DeviceSpec names a device to provision.
type DeviceSpec struct {
	UID, Name  string
	CPMPerUSvH float64 // detector calibration; 0 means DefaultCPMPerUSvH
}

// Specs lists the vehicles as devices, with their detectors' calibration:
// the server converts bGeigie counts with the device's.
func Specs(vehicles []Vehicle) []DeviceSpec {
	out := make([]DeviceSpec, len(vehicles))
	for i, v := range vehicles {
		out[i] = DeviceSpec{UID: v.UID(), Name: v.Name()}
		if d, ok := v.(interface{ CPMPerUSvH() float64 }); ok {
			out[i].CPMPerUSvH = d.CPMPerUSvH()
		}
	}
	return out
}

// apiDevice is the part of the server's device JSON the simulator needs.
type apiDevice struct {
	ID         int64      `json:"id"`
	UID        string     `json:"uid"`
	CPMPerUSvH float64    `json:"cpm_per_usvh"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Provision creates each device (POST /api/v1/devices) or, when its uid is
// taken (409), reuses it and rotates its token, since a token is shown only
// once. It returns the device token per uid.
func (a *Admin) Provision(ctx context.Context, specs []DeviceSpec) (map[string]string, error) {
	log := a.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := a.login(ctx)
	if err != nil {
		return nil, err
	}
	tokens := make(map[string]string, len(specs))
	var existing map[string]apiDevice // fetched on the first 409
	for _, spec := range specs {
		cal := spec.CPMPerUSvH
		if cal == 0 {
			cal = DefaultCPMPerUSvH
		}
		var created struct {
			Token string `json:"token"`
		}
		err := a.call(ctx, client, http.MethodPost, "/api/v1/devices",
			map[string]any{"name": spec.Name, "uid": spec.UID, "cpm_per_usvh": cal}, &created)
		var se *statusError
		switch {
		case err == nil:
			tokens[spec.UID] = created.Token
			log.Info("sim: device created", "uid", spec.UID)
			continue
		case !errors.As(err, &se) || se.Code != http.StatusConflict:
			return nil, fmt.Errorf("provision %s: %w", spec.UID, err)
		}
		if _, ok := existing[spec.UID]; !ok {
			if existing, err = a.devices(ctx, client); err != nil {
				return nil, fmt.Errorf("provision %s: %w", spec.UID, err)
			}
		}
		dev, ok := existing[spec.UID]
		switch {
		case !ok:
			return nil, fmt.Errorf("provision %s: the server says the uid exists but does not list it", spec.UID)
		case dev.RevokedAt != nil:
			return nil, fmt.Errorf("provision %s: device %d is revoked; use another -seed/uid prefix or a fresh database", spec.UID, dev.ID)
		case dev.CPMPerUSvH != cal:
			log.Warn("sim: device has another calibration; the server will convert bGeigie counts with it",
				"uid", spec.UID, "cpm_per_usvh", dev.CPMPerUSvH, "sim_uses", cal)
		}
		var rotated struct {
			Token string `json:"token"`
		}
		if err := a.call(ctx, client, http.MethodPost, "/api/v1/devices/"+strconv.FormatInt(dev.ID, 10)+"/rotate-token", map[string]any{}, &rotated); err != nil {
			return nil, fmt.Errorf("provision %s: rotate token: %w", spec.UID, err)
		}
		tokens[spec.UID] = rotated.Token
		log.Info("sim: device reused, token rotated", "uid", spec.UID, "id", dev.ID)
	}
	return tokens, nil
}

// login returns the client to call the API with: as is for a token, with
// a session cookie for a password.
func (a *Admin) login(ctx context.Context) (*http.Client, error) {
	base := a.Client
	if base == nil {
		base = NewHTTPClient()
	}
	if a.Token != "" {
		return base, nil
	}
	if a.User == "" || a.Password == "" {
		return nil, errors.New("provision: give an admin API token, or an admin username and password")
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("provision: cookie jar: %w", err)
	}
	client := *base
	client.Jar = jar
	if err := a.call(ctx, &client, http.MethodPost, "/api/v1/login", map[string]string{"username": a.User, "password": a.Password}, nil); err != nil {
		return nil, fmt.Errorf("provision: log in as %q: %w", a.User, err)
	}
	return &client, nil
}

func (a *Admin) devices(ctx context.Context, client *http.Client) (map[string]apiDevice, error) {
	var list struct {
		Devices []apiDevice `json:"devices"`
	}
	if err := a.call(ctx, client, http.MethodGet, "/api/v1/devices", nil, &list); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	byUID := make(map[string]apiDevice, len(list.Devices))
	for _, d := range list.Devices {
		byUID[d.UID] = d
	}
	return byUID, nil
}

// call sends one JSON request (retrying 429/503 and connection errors) and
// decodes a 2xx answer into out. State-changing requests are JSON, as the
// server requires of cookie sessions.
func (a *Admin) call(ctx context.Context, client *http.Client, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	endpoint := strings.TrimRight(a.URL, "/") + path
	return a.Retry.do(ctx, &a.retries, func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(actx, method, endpoint, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("build request: %w", err)
		}
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if a.Token != "" {
			req.Header.Set("Authorization", "Bearer "+a.Token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return connError(ctx, err)
		}
		b := readBody(resp)
		switch {
		case resp.StatusCode/100 == 2:
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
			}
			return nil
		case retryableStatus(resp.StatusCode):
			return &retryable{err: newStatusError(resp, b), after: retryAfter(resp.Header, time.Now())}
		}
		return newStatusError(resp, b)
	})
}
