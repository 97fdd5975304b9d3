package app

import (
	"context"
	"errors"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/rules"
)

// publishers hands each stored alarm event to several publishers in order
// (the live push first, then incidents, whose own frames follow).
type publishers []alarms.Publisher

func (ps publishers) PublishAlarm(ctx context.Context, ev rules.Event) error {
	var errs []error
	for _, p := range ps {
		if p != nil {
			errs = append(errs, p.PublishAlarm(ctx, ev))
		}
	}
	return errors.Join(errs...)
}
