package dispatch

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
)

// FieldError is bad configuration input: the JSON field at fault and why.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Endpoint kinds.
const (
	KindWebhook = "webhook"
	KindEmail   = "email"
	KindMQTT    = "mqtt"
)

// Channels a delivery goes through (store.OutboxItem.Channel).
const (
	ChannelPush    = "push"
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
	ChannelMQTT    = "mqtt"
)

// EndpointSpec is a notification endpoint an admin configures
// (store.NotifyDoc of kind "endpoint").
type EndpointSpec struct {
	Kind string `json:"kind"` // webhook, email or mqtt
	// Webhook: URL, Secret (≥ 16 bytes, signs every request), Format
	// (json or cap).
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"`
	Format string `json:"format,omitempty"`
	// E-mail: Address (a duty officer's mailbox, a mailing list).
	Address string `json:"address,omitempty"`
	// MQTT: Cluster is the topic segment radtrack/<cluster>/incidents/...
	// on the broker of RADTRACK_MQTT_URL.
	Cluster string `json:"cluster,omitempty"`
	// Disabled endpoints get nothing (their deliveries fail for good).
	Disabled bool `json:"disabled,omitempty"`
}

var clusterRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Check validates s, naming the field at fault.
func (s EndpointSpec) Check() error {
	switch s.Kind {
	case KindWebhook:
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("spec.url", "want an absolute http(s) URL")
		}
		if len(s.Secret) < 16 {
			return bad("spec.secret", "must be at least 16 bytes")
		}
		if s.Format != "" && s.Format != string(notify.WebhookJSON) && s.Format != string(notify.WebhookCAP) {
			return bad("spec.format", "want json or cap")
		}
	case KindEmail:
		if _, err := mail.ParseAddress(s.Address); err != nil || strings.ContainsAny(s.Address, "\r\n") {
			return bad("spec.address", "not an e-mail address")
		}
	case KindMQTT:
		if !clusterRe.MatchString(s.Cluster) {
			return bad("spec.cluster", "1-64 letters, digits, '-' or '_'")
		}
	default:
		return bad("spec.kind", "want webhook, email or mqtt")
	}
	return nil
}

// Redacted is s without its secret, for API answers.
func (s EndpointSpec) Redacted() EndpointSpec {
	if s.Secret != "" {
		s.Secret = "********"
	}
	return s
}

// RuleSpec routes incidents to an escalation policy. Every non-empty
// filter must match (an empty one matches everything); within a filter any
// value matches.
type RuleSpec struct {
	Disabled   bool             `json:"disabled,omitempty"`
	Severities []rules.Severity `json:"severities,omitempty"`
	// Rules are alarm rule names (notify.Incident.Rules).
	Rules []string `json:"rules,omitempty"`
	// Fences are fence ids (the incident's fence).
	Fences []int64 `json:"fences,omitempty"`
	// Groups are vehicle groups (any vehicle of the incident).
	Groups []string `json:"groups,omitempty"`
	Policy int64    `json:"policy"`
}

// Check validates s (the policy's existence is checked by the caller).
func (s RuleSpec) Check() error {
	for i, sev := range s.Severities {
		switch sev {
		case rules.SeverityInfo, rules.SeverityNotice, rules.SeverityWarning, rules.SeverityAlarm, rules.SeverityCritical:
		default:
			return bad(fmt.Sprintf("spec.severities[%d]", i), "unknown severity %q", sev)
		}
	}
	if s.Policy <= 0 {
		return bad("spec.policy", "an escalation policy id is required")
	}
	return nil
}

// Matches reports whether the incident falls under the rule.
func (s RuleSpec) Matches(inc notify.Incident) bool {
	if s.Disabled {
		return false
	}
	if len(s.Severities) > 0 && !slices.Contains(s.Severities, inc.Severity) {
		return false
	}
	if len(s.Rules) > 0 && !slices.ContainsFunc(inc.Rules, func(r string) bool { return slices.Contains(s.Rules, r) }) {
		return false
	}
	if len(s.Fences) > 0 && (inc.Fence == nil || !slices.Contains(s.Fences, inc.Fence.ID)) {
		return false
	}
	if len(s.Groups) > 0 && !slices.ContainsFunc(inc.Vehicles, func(v notify.Vehicle) bool { return slices.Contains(s.Groups, v.Group) }) {
		return false
	}
	return true
}

// Step is one escalation step: DelayS seconds after the cycle started (the
// raise or re-alarm), unless acknowledged, notify these users through
// these channels and these endpoints.
type Step struct {
	DelayS int `json:"delay_s"`
	// Roles selects every active user with one of these roles.
	Roles []string `json:"roles,omitempty"`
	// Users adds users by id.
	Users []int64 `json:"users,omitempty"`
	// Channels reach the selected users: push (their subscriptions),
	// email (their addresses). Default: push.
	Channels []string `json:"channels,omitempty"`
	// Endpoints are endpoint ids (webhooks, mailboxes, MQTT).
	Endpoints []int64 `json:"endpoints,omitempty"`
}

// PolicySpec is an escalation policy: ordered steps, repeated Repeat more
// times every RepeatEveryS seconds until someone acknowledges.
type PolicySpec struct {
	Steps        []Step `json:"steps"`
	Repeat       int    `json:"repeat,omitempty"`
	RepeatEveryS int    `json:"repeat_every_s,omitempty"`
}

// maxDelayS bounds a step's delay: a day.
const maxDelayS = 86400

// Check validates s.
func (s PolicySpec) Check() error {
	if len(s.Steps) == 0 {
		return bad("spec.steps", "at least one step")
	}
	if len(s.Steps) > 20 {
		return bad("spec.steps", "at most 20 steps")
	}
	prev := -1
	for i, st := range s.Steps {
		f := fmt.Sprintf("spec.steps[%d]", i)
		if st.DelayS < 0 || st.DelayS > maxDelayS {
			return bad(f+".delay_s", "0..%d seconds", maxDelayS)
		}
		if st.DelayS < prev {
			return bad(f+".delay_s", "steps must be in delay order")
		}
		prev = st.DelayS
		for j, r := range st.Roles {
			if r != auth.RoleViewer && r != auth.RoleOperator && r != auth.RoleAdmin {
				return bad(fmt.Sprintf("%s.roles[%d]", f, j), "unknown role %q", r)
			}
		}
		for j, c := range st.Channels {
			if c != ChannelPush && c != ChannelEmail {
				return bad(fmt.Sprintf("%s.channels[%d]", f, j), "want push or email")
			}
		}
		if len(st.Roles) == 0 && len(st.Users) == 0 && len(st.Endpoints) == 0 {
			return bad(f, "names nobody: give roles, users or endpoints")
		}
	}
	if s.Repeat < 0 || s.Repeat > 100 {
		return bad("spec.repeat", "0..100")
	}
	if s.Repeat > 0 && s.RepeatEveryS != 0 && s.RepeatEveryS <= s.Steps[len(s.Steps)-1].DelayS {
		return bad("spec.repeat_every_s", "must be longer than the last step's delay")
	}
	return nil
}

// period is the length of one cycle: RepeatEveryS, or the last delay plus
// five minutes.
func (s PolicySpec) period() int {
	if s.RepeatEveryS > 0 {
		return s.RepeatEveryS
	}
	return s.Steps[len(s.Steps)-1].DelayS + 300
}

// DecodeSpec reads a JSON spec strictly (unknown fields are errors).
func DecodeSpec[T any](raw json.RawMessage) (T, error) {
	var v T
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, bad("spec", "%v", err)
	}
	if dec.More() {
		return v, bad("spec", "one JSON object expected, more follows")
	}
	return v, nil
}
