package dispatch

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
)

func TestSpecChecksNameTheField(t *testing.T) {
	for _, c := range []struct {
		kind, spec, field string
	}{
		{"endpoint", `{"kind":"pager"}`, "spec.kind"},
		{"endpoint", `{"kind":"webhook","url":"ftp://x","secret":"0123456789abcdef"}`, "spec.url"},
		{"endpoint", `{"kind":"webhook","url":"https://x","secret":"short"}`, "spec.secret"},
		{"endpoint", `{"kind":"webhook","url":"https://x","secret":"0123456789abcdef","format":"xml"}`, "spec.format"},
		{"endpoint", `{"kind":"email","address":"not an address"}`, "spec.address"},
		{"endpoint", `{"kind":"mqtt","cluster":"a/b"}`, "spec.cluster"},
		{"endpoint", `{"kind":"mqtt","cluster":"a","extra":1}`, "spec"},
		{"endpoint", `{"kind":"mqtt","cluster":"a"} {"kind":"webhook"}`, "spec"},
		{"rule", `{"policy":0}`, "spec.policy"},
		{"rule", `{"policy":1,"severities":["loud"]}`, "spec.severities[0]"},
		{"policy", `{"steps":[]}`, "spec.steps"},
		{"policy", `{"steps":[{"delay_s":-1,"roles":["operator"]}]}`, "spec.steps[0].delay_s"},
		{"policy", `{"steps":[{"delay_s":60,"roles":["operator"]},{"delay_s":30,"roles":["admin"]}]}`, "spec.steps[1].delay_s"},
		{"policy", `{"steps":[{"roles":["boss"]}]}`, "spec.steps[0].roles[0]"},
		{"policy", `{"steps":[{"roles":["operator"],"channels":["sms"]}]}`, "spec.steps[0].channels[0]"},
		{"policy", `{"steps":[{"delay_s":0}]}`, "spec.steps[0]"},
		{"policy", `{"steps":[{"delay_s":600,"roles":["operator"]}],"repeat":2,"repeat_every_s":300}`, "spec.repeat_every_s"},
	} {
		err := checkSpec(c.kind, json.RawMessage(c.spec))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s %s: %v, want an error naming %s", c.kind, c.spec, err, c.field)
		}
	}
	for _, c := range []struct{ kind, spec string }{
		{"endpoint", `{"kind":"webhook","url":"https://sms.example/hook","secret":"0123456789abcdef","format":"cap"}`},
		{"endpoint", `{"kind":"email","address":"Duty Officer <duty@example.org>"}`},
		{"rule", `{"policy":3,"severities":["alarm","critical"],"groups":["North"]}`},
		{"policy", `{"steps":[{"roles":["operator"]},{"delay_s":180,"users":[4],"channels":["push","email"]},{"delay_s":600,"endpoints":[2]}],"repeat":3}`},
	} {
		if err := checkSpec(c.kind, json.RawMessage(c.spec)); err != nil {
			t.Errorf("%s %s: %v", c.kind, c.spec, err)
		}
	}
}

// checkSpec decodes and checks a spec as the API does, without the
// references to other documents.
func checkSpec(kind string, raw json.RawMessage) error {
	switch kind {
	case "endpoint":
		s, err := DecodeSpec[EndpointSpec](raw)
		if err != nil {
			return err
		}
		return s.Check()
	case "rule":
		s, err := DecodeSpec[RuleSpec](raw)
		if err != nil {
			return err
		}
		return s.Check()
	default:
		s, err := DecodeSpec[PolicySpec](raw)
		if err != nil {
			return err
		}
		return s.Check()
	}
}

func TestRuleMatches(t *testing.T) {
	inc := event(notify.EventRaised, 1, 1, t0, rules.SeverityAlarm).Incident
	inc.Fence = &notify.Fence{ID: 4}
	for _, c := range []struct {
		spec RuleSpec
		want bool
	}{
		{RuleSpec{}, true},
		{RuleSpec{Disabled: true}, false},
		{RuleSpec{Severities: []rules.Severity{rules.SeverityAlarm}}, true},
		{RuleSpec{Severities: []rules.Severity{rules.SeverityCritical}}, false},
		{RuleSpec{Rules: []string{"IAEA OIL3"}}, true},
		{RuleSpec{Rules: []string{"IAEA OIL2"}}, false},
		{RuleSpec{Fences: []int64{3, 4}}, true},
		{RuleSpec{Fences: []int64{3}}, false},
		{RuleSpec{Groups: []string{"North"}}, true},
		{RuleSpec{Groups: []string{"South"}}, false},
		{RuleSpec{Groups: []string{"North"}, Severities: []rules.Severity{rules.SeverityNotice}}, false},
	} {
		if got := c.spec.Matches(inc); got != c.want {
			t.Errorf("%+v matches = %v, want %v", c.spec, got, c.want)
		}
	}
	inc.Fence = nil
	if (RuleSpec{Fences: []int64{4}}).Matches(inc) {
		t.Error("a fence rule matched an incident without a fence")
	}
}

// FuzzSpecs: any bytes an admin sends decode and check without panicking,
// and a spec that passes re-encodes to one that passes again.
func FuzzSpecs(f *testing.F) {
	f.Add("endpoint", `{"kind":"webhook","url":"https://x/y","secret":"0123456789abcdef"}`)
	f.Add("rule", `{"policy":1,"severities":["alarm"],"fences":[2]}`)
	f.Add("policy", `{"steps":[{"roles":["operator"]},{"delay_s":180,"users":[4]}],"repeat":1}`)
	f.Add("policy", `{"steps":[{"delay_s":1e99}]}`)
	f.Fuzz(func(t *testing.T, kind, spec string) {
		if kind != "endpoint" && kind != "rule" {
			kind = "policy"
		}
		if checkSpec(kind, json.RawMessage(spec)) != nil {
			return
		}
		var v any
		switch kind {
		case "endpoint":
			v, _ = DecodeSpec[EndpointSpec](json.RawMessage(spec))
		case "rule":
			v, _ = DecodeSpec[RuleSpec](json.RawMessage(spec))
		default:
			v, _ = DecodeSpec[PolicySpec](json.RawMessage(spec))
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSpec(kind, again); err != nil {
			t.Fatalf("%s passed, its re-encoding %s fails: %v", spec, again, err)
		}
	})
}
