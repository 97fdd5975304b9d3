package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// ErrInUse refuses deleting a policy a rule names or an endpoint a policy
// names.
var ErrInUse = errors.New("in use")

// secretMask stands for a stored webhook secret in API answers; sending it
// back (or no secret) on update keeps the stored one.
const secretMask = "********"

// Store is the dispatcher's store, for the configuration API.
func (d *Dispatcher) Store() Store { return d.st }

// CheckDoc validates an admin's document of kind (id 0 for a new one):
// the spec strictly (unknown fields refused), names, and the ids it
// refers to. It returns the spec to store. Errors are *FieldError.
func (d *Dispatcher) CheckDoc(ctx context.Context, kind string, id int64, name string, raw json.RawMessage) (json.RawMessage, error) {
	d.configChanging()
	if name = strings.TrimSpace(name); name == "" || len(name) > 200 {
		return nil, bad("name", "required, at most 200 bytes")
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, bad("spec", "required")
	}
	var spec any
	switch kind {
	case store.NotifyEndpoint:
		s, err := DecodeSpec[EndpointSpec](raw)
		if err != nil {
			return nil, err
		}
		if s.Kind == KindWebhook && (s.Secret == "" || s.Secret == secretMask) && id != 0 {
			old, err := d.doc(ctx, kind, id)
			if err != nil {
				return nil, err
			}
			if prev, err := DecodeSpec[EndpointSpec](old.Spec); err == nil {
				s.Secret = prev.Secret
			}
		}
		if err := s.Check(); err != nil {
			return nil, err
		}
		spec = s
	case store.NotifyRule:
		s, err := DecodeSpec[RuleSpec](raw)
		if err != nil {
			return nil, err
		}
		if err := s.Check(); err != nil {
			return nil, err
		}
		if _, err := d.doc(ctx, store.NotifyPolicy, s.Policy); errors.Is(err, store.ErrNotFound) {
			return nil, bad("spec.policy", "no escalation policy %d", s.Policy)
		} else if err != nil {
			return nil, err
		}
		spec = s
	case store.NotifyPolicy:
		s, err := DecodeSpec[PolicySpec](raw)
		if err != nil {
			return nil, err
		}
		if err := s.Check(); err != nil {
			return nil, err
		}
		eps, err := d.st.ListNotifyDocs(ctx, store.NotifyEndpoint)
		if err != nil {
			return nil, err
		}
		users, err := d.st.ListUsers(ctx)
		if err != nil {
			return nil, err
		}
		for i, st := range s.Steps {
			for j, e := range st.Endpoints {
				if !slices.ContainsFunc(eps, func(d store.NotifyDoc) bool { return d.ID == e }) {
					return nil, bad(fmt.Sprintf("spec.steps[%d].endpoints[%d]", i, j), "no endpoint %d", e)
				}
			}
			for j, u := range st.Users {
				if !slices.ContainsFunc(users, func(x store.User) bool { return x.ID == u }) {
					return nil, bad(fmt.Sprintf("spec.steps[%d].users[%d]", i, j), "no user %d", u)
				}
			}
		}
		spec = s
	default:
		return nil, fmt.Errorf("dispatch: unknown document kind %q", kind)
	}
	return json.Marshal(spec)
}

// CheckDelete refuses deleting what another document refers to.
func (d *Dispatcher) CheckDelete(ctx context.Context, kind string, id int64) error {
	d.configChanging()
	switch kind {
	case store.NotifyPolicy:
		docs, err := d.st.ListNotifyDocs(ctx, store.NotifyRule)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			if r, err := DecodeSpec[RuleSpec](doc.Spec); err == nil && r.Policy == id {
				return fmt.Errorf("rule %q uses this policy: %w", doc.Name, ErrInUse)
			}
		}
	case store.NotifyEndpoint:
		docs, err := d.st.ListNotifyDocs(ctx, store.NotifyPolicy)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			p, err := DecodeSpec[PolicySpec](doc.Spec)
			if err != nil {
				continue
			}
			for _, st := range p.Steps {
				if slices.Contains(st.Endpoints, id) {
					return fmt.Errorf("policy %q uses this endpoint: %w", doc.Name, ErrInUse)
				}
			}
		}
	}
	return nil
}

// Redact hides an endpoint's secret for API answers.
func Redact(doc store.NotifyDoc) store.NotifyDoc {
	if doc.Kind != store.NotifyEndpoint {
		return doc
	}
	s, err := DecodeSpec[EndpointSpec](doc.Spec)
	if err != nil {
		doc.Spec = json.RawMessage(`{}`)
		return doc
	}
	doc.Spec, _ = json.Marshal(s.Redacted())
	return doc
}

func (d *Dispatcher) doc(ctx context.Context, kind string, id int64) (store.NotifyDoc, error) {
	docs, err := d.st.ListNotifyDocs(ctx, kind)
	if err != nil {
		return store.NotifyDoc{}, err
	}
	for _, doc := range docs {
		if doc.ID == id {
			return doc, nil
		}
	}
	return store.NotifyDoc{}, fmt.Errorf("notify %s %d: %w", kind, id, store.ErrNotFound)
}

// VAPIDPublicKey is the key browsers subscribe with ("" without Web Push).
func (d *Dispatcher) VAPIDPublicKey() string { return d.cfg.VAPIDPublicKey }
