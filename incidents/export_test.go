package incidents

import "context"

// StartDeferring makes the service queue events and hold progress updates
// for Flush, as Run does, without Run's loop.
func (s *Service) StartDeferring() { s.flushing.Store(true) }

// FileUnfiled is Run's first step.
func (s *Service) FileUnfiled(ctx context.Context) { s.fileUnfiled(ctx) }
